//! The realistic `Order` the benchmarks measure (~15 fields: strings, longs, an enum, options, a nested `Vec` of 5
//! line items, a decimal, a timestamp, a uuid, a map), in three forms:
//! - [`Order`]: derived with `#[derive(KafkaRecord)]`;
//! - [`serde_mirror::Order`]: the same record as apache-avro's serde paths need it (uuid as a string, timestamp as
//!   millis, decimal as its two's-complement bytes), converted once outside the timed loops;
//! - [`hand`]: a hand-written encoder and decoder for the same struct, the practical limit.

use std::time::Instant;

use typed_kafka::KafkaRecord;

/// The median over `rounds` of (time of `n` calls of `b`) / (time of `n` calls of `a`), the two alternating in
/// every round (and which goes first alternating too), so that slow drifts of a shared machine's load cancel out.
/// This is how the benchmarks report their ratios, beside criterion's sequential means.
pub fn interleaved(rounds: usize, n: u64, mut a: impl FnMut(), mut b: impl FnMut()) -> f64 {
    let mut ratios: Vec<f64> = (0..rounds.max(1))
        .map(|i| {
            let time = |f: &mut dyn FnMut()| {
                let t = Instant::now();
                for _ in 0..n {
                    f();
                }
                t.elapsed().as_secs_f64()
            };
            if i % 2 == 0 {
                let ta = time(&mut a);
                time(&mut b) / ta
            } else {
                let tb = time(&mut b);
                tb / time(&mut a)
            }
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    ratios[ratios.len() / 2]
}

/// Checks the premise of the benchmarks: each of the four codecs (derive, hand-written, apache-avro's serde and
/// `Value` paths) reads every other one's bytes back to the same order. Returns the derive's encoding.
///
/// # Panics
/// When any codec disagrees (this is the benchmarks' and their test's assertion).
#[allow(clippy::unwrap_used)]
pub fn check_codecs_agree() -> Vec<u8> {
    use apache_avro::reader::datum::GenericDatumReader;
    use apache_avro::writer::datum::GenericDatumWriter;

    let order = sample_order();
    let mirror = serde_mirror::Order::from(&order);
    let schema = apache_avro::Schema::parse_str(Order::schema().unwrap().json()).unwrap();
    let writer = GenericDatumWriter::builder(&schema).build().unwrap();
    let reader = GenericDatumReader::builder(&schema).build().unwrap();

    let mut ours = Vec::new();
    order.encode_body(&mut ours).unwrap();
    let mut by_hand = Vec::new();
    hand::encode(&order, &mut by_hand);
    let via_ser = writer.write_ser_to_vec(&mirror).unwrap();
    let via_value =
        writer.write_value_to_vec(apache_avro::to_value(&mirror).unwrap().resolve(&schema).unwrap()).unwrap();
    assert_eq!(ours.len(), by_hand.len());
    for bytes in [&ours, &by_hand, &via_ser, &via_value] {
        assert_eq!(Order::decode_body(bytes).unwrap(), order);
        assert_eq!(hand::decode(bytes).unwrap(), order);
        assert_eq!(reader.read_deser::<serde_mirror::Order>(&mut bytes.as_slice()).unwrap().normalized(), mirror);
    }
    ours
}

mod order;
pub use order::{LineItem, Order, OrderStatus, sample_order};
mod ruled;
pub use ruled::RuledOrder;

/// The same record in the shape apache-avro's serde paths accept.
pub mod serde_mirror {
    use std::collections::HashMap;

    use super::OrderStatus;

    /// One line of an order.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct LineItem {
        /// Stock keeping unit.
        pub sku: String,
        /// How many.
        pub quantity: i32,
        /// Price of one, in cents.
        pub unit_price_cents: i64,
        /// Discount on the line, in cents.
        pub discount_cents: Option<i64>,
    }

    /// An order.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Order {
        /// Unique id, as text.
        pub order_id: String,
        /// Customer number.
        pub customer_id: i64,
        /// State.
        pub status: OrderStatus,
        /// Epoch millis.
        pub created_at: i64,
        /// Currency.
        pub currency: String,
        /// Unscaled total, big-endian two's complement, 6 bytes.
        #[serde(with = "serde_bytes")]
        pub total: Vec<u8>,
        /// Lines.
        pub items: Vec<LineItem>,
        /// Coupon code.
        pub coupon: Option<String>,
        /// Note.
        pub note: Option<String>,
        /// Channel.
        pub channel: String,
        /// Priority.
        pub priority: i32,
        /// Gift wrapped.
        pub gift: bool,
        /// Weight.
        pub weight_kg: f64,
        /// Attributes.
        pub attributes: HashMap<String, String>,
        /// Warehouse.
        pub warehouse: String,
    }

    impl Order {
        /// The same order with `total` re-padded to 6 bytes: decoders return the bytes as written, and writers
        /// may write the same decimal in fewer bytes.
        pub fn normalized(mut self) -> Order {
            let fill = if self.total.first().is_some_and(|b| b & 0x80 != 0) { 0xff } else { 0 };
            let mut full = [fill; 16];
            let n = self.total.len().min(16);
            full[16 - n..].copy_from_slice(&self.total[self.total.len() - n..]);
            self.total = full[10..].to_vec();
            self
        }
    }

    impl From<&super::Order> for Order {
        fn from(o: &super::Order) -> Order {
            let mut total = o.total;
            total.rescale(2);
            // apache-avro's resolve wants as many bytes as precision 12 can need (6), sign-extended.
            let bytes = total.mantissa().to_be_bytes();
            let start = 10;
            Order {
                order_id: o.order_id.hyphenated().to_string(),
                customer_id: o.customer_id,
                status: o.status,
                created_at: o.created_at.timestamp_millis(),
                currency: o.currency.clone(),
                total: bytes[start..].to_vec(),
                items: o
                    .items
                    .iter()
                    .map(|i| LineItem {
                        sku: i.sku.clone(),
                        quantity: i.quantity,
                        unit_price_cents: i.unit_price_cents,
                        discount_cents: i.discount_cents,
                    })
                    .collect(),
                coupon: o.coupon.clone(),
                note: o.note.clone(),
                channel: o.channel.clone(),
                priority: o.priority,
                gift: o.gift,
                weight_kg: o.weight_kg,
                attributes: o.attributes.clone(),
                warehouse: o.warehouse.clone(),
            }
        }
    }

    /// The order as the `Value` of apache-avro 0.21 (what Confluent's Rust client serializes): serde gives the
    /// decimal as bytes, which apache-avro 0.21 takes only as `Value::Decimal`, so a user replaces it.
    #[cfg(any(feature = "registry-bench", feature = "rules-bench"))]
    pub fn apache_avro_021_value(m: &Order) -> Result<apache_avro_021::types::Value, apache_avro_021::Error> {
        let mut value = apache_avro_021::to_value(m)?;
        if let apache_avro_021::types::Value::Record(fields) = &mut value {
            for (name, v) in fields.iter_mut() {
                if name == "total"
                    && let apache_avro_021::types::Value::Bytes(b) = v
                {
                    *v = apache_avro_021::types::Value::Decimal(apache_avro_021::Decimal::from(std::mem::take(b)));
                }
            }
        }
        Ok(value)
    }
}

/// A hand-written encoder and decoder for [`Order`]: straight-line calls of the encoding functions, no traits,
/// no error paths beyond what the format forces. The practical limit for the derive.
pub mod hand {
    use chrono::DateTime;
    use rust_decimal::Decimal;
    use typed_kafka::avro::codec::DecodeError;
    use typed_kafka::avro::codec::encoding::*;
    use uuid::Uuid;

    use super::{LineItem, Order, OrderStatus};

    fn put_opt_long(buf: &mut Vec<u8>, v: Option<i64>) {
        match v {
            None => buf.push(0),
            Some(v) => {
                buf.push(2);
                put_long(buf, v);
            }
        }
    }

    fn put_opt_str(buf: &mut Vec<u8>, v: &Option<String>) {
        match v {
            None => buf.push(0),
            Some(v) => {
                buf.push(2);
                put_str(buf, v);
            }
        }
    }

    /// Encodes `o` (assumes the total fits decimal(12, 2), as the sample does).
    pub fn encode(o: &Order, buf: &mut Vec<u8>) {
        let mut uuid = [0u8; 36];
        put_str(buf, o.order_id.hyphenated().encode_lower(&mut uuid));
        put_long(buf, o.customer_id);
        put_int(buf, o.status as i32);
        put_long(buf, o.created_at.timestamp_millis());
        put_str(buf, &o.currency);
        let mut total = o.total;
        total.rescale(2);
        let bytes = total.mantissa().to_be_bytes();
        let mut start = 0;
        while start < 15
            && ((bytes[start] == 0 && bytes[start + 1] & 0x80 == 0)
                || (bytes[start] == 0xff && bytes[start + 1] & 0x80 != 0))
        {
            start += 1;
        }
        put_bytes(buf, &bytes[start..]);
        if !o.items.is_empty() {
            put_block_count(buf, o.items.len());
            for i in &o.items {
                put_str(buf, &i.sku);
                put_int(buf, i.quantity);
                put_long(buf, i.unit_price_cents);
                put_opt_long(buf, i.discount_cents);
            }
        }
        put_block_end(buf);
        put_opt_str(buf, &o.coupon);
        put_opt_str(buf, &o.note);
        put_str(buf, &o.channel);
        put_int(buf, o.priority);
        put_bool(buf, o.gift);
        put_double(buf, o.weight_kg);
        if !o.attributes.is_empty() {
            put_block_count(buf, o.attributes.len());
            for (k, v) in &o.attributes {
                put_str(buf, k);
                put_str(buf, v);
            }
        }
        put_block_end(buf);
        put_str(buf, &o.warehouse);
    }

    fn get_opt_long(input: &mut &[u8]) -> Result<Option<i64>, DecodeError> {
        Ok(if get_union_index(input, 2)? == 0 { None } else { Some(get_long(input)?) })
    }

    fn get_opt_string(input: &mut &[u8]) -> Result<Option<String>, DecodeError> {
        Ok(if get_union_index(input, 2)? == 0 { None } else { Some(get_str(input)?.to_owned()) })
    }

    fn bad(what: &'static str) -> DecodeError {
        DecodeError::Logical { logical_type: what, reason: "invalid".into() }
    }

    /// Decodes an `Order`.
    pub fn decode(mut input: &[u8]) -> Result<Order, DecodeError> {
        let input = &mut input;
        let order_id = Uuid::try_parse(get_str(input)?).map_err(|_| bad("uuid"))?;
        let customer_id = get_long(input)?;
        let status = match get_enum_index(input, 4)? {
            0 => OrderStatus::Placed,
            1 => OrderStatus::Paid,
            2 => OrderStatus::Shipped,
            _ => OrderStatus::Cancelled,
        };
        let created_at = DateTime::from_timestamp_millis(get_long(input)?).ok_or_else(|| bad("timestamp-millis"))?;
        let currency = get_str(input)?.to_owned();
        let raw = get_bytes(input)?;
        if raw.is_empty() || raw.len() > 16 {
            return Err(bad("decimal"));
        }
        let mut full = [if raw[0] & 0x80 != 0 { 0xff } else { 0 }; 16];
        full[16 - raw.len()..].copy_from_slice(raw);
        let total = Decimal::try_from_i128_with_scale(i128::from_be_bytes(full), 2).map_err(|_| bad("decimal"))?;
        let mut items = Vec::new();
        loop {
            let n = get_block_count(input, 4)?;
            if n == 0 {
                break;
            }
            items.reserve(n);
            for _ in 0..n {
                items.push(LineItem {
                    sku: get_str(input)?.to_owned(),
                    quantity: get_int(input)?,
                    unit_price_cents: get_long(input)?,
                    discount_cents: get_opt_long(input)?,
                });
            }
        }
        let coupon = get_opt_string(input)?;
        let note = get_opt_string(input)?;
        let channel = get_str(input)?.to_owned();
        let priority = get_int(input)?;
        let gift = get_bool(input)?;
        let weight_kg = get_double(input)?;
        let mut attributes = std::collections::HashMap::new();
        loop {
            let n = get_block_count(input, 2)?;
            if n == 0 {
                break;
            }
            attributes.reserve(n);
            for _ in 0..n {
                let k = get_str(input)?.to_owned();
                attributes.insert(k, get_str(input)?.to_owned());
            }
        }
        let warehouse = get_str(input)?.to_owned();
        if !input.is_empty() {
            return Err(DecodeError::TrailingBytes(input.len()));
        }
        Ok(Order {
            order_id,
            customer_id,
            status,
            created_at,
            currency,
            total,
            items,
            coupon,
            note,
            channel,
            priority,
            gift,
            weight_kg,
            attributes,
            warehouse,
        })
    }
}

/// A global allocator that counts allocations (and reallocations), for the allocation figures. A benchmark binary
/// installs it with `#[global_allocator] static GLOBAL: CountingAlloc = CountingAlloc;` and reads
/// [`allocations`].
pub struct CountingAlloc;

static ALLOCATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

thread_local! {
    /// Whether this thread's allocations go uncounted now (see [`uncounted`]).
    static UNCOUNTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Allocations so far in this process (through [`CountingAlloc`], when it is the global allocator).
pub fn allocations() -> u64 {
    ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

/// Runs `f` without counting its allocations on this thread: a benchmark building its input inside the clock.
pub fn uncounted<R>(f: impl FnOnce() -> R) -> R {
    UNCOUNTED.with(|u| u.set(true));
    let r = f();
    UNCOUNTED.with(|u| u.set(false));
    r
}

fn count() {
    if !UNCOUNTED.with(std::cell::Cell::get) {
        ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[allow(unsafe_code)] // forwards to the system allocator, counting
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        count();
        unsafe { std::alloc::System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        count();
        unsafe { std::alloc::System.realloc(ptr, layout, new_size) }
    }
}

/// With the environment variable `var` naming the control FIFO of `perf record -D -1 --control fifo:CTL`, tells perf
/// `command` (`"enable"` as a timed part starts, `"disable"` as it stops), so that it samples only the timed parts.
/// Profiling only: a perf that is not listening costs the bench nothing but this line's error.
pub fn perf_control(var: &str, command: &str) {
    if let Some(fifo) = std::env::var_os(var) {
        use std::io::Write as _;
        if let Err(e) = std::fs::OpenOptions::new().write(true).open(fifo).and_then(|mut f| writeln!(f, "{command}")) {
            eprintln!("{var}: {e}");
        }
    }
}

/// `builder` with the producer settings of the environment variable `var`, `key=value,...` (Kafka names; a key
/// `rdkafka.<name>` goes to librdkafka as `<name>`), if it is set.
pub fn settings_from_env(
    mut builder: typed_kafka::config::ProducerConfigBuilder,
    var: &str,
) -> Result<typed_kafka::config::ProducerConfigBuilder, String> {
    for kv in std::env::var(var).unwrap_or_default().split(',').filter(|s| !s.is_empty()) {
        let (k, v) = kv.split_once('=').ok_or_else(|| format!("{var}: key=value,..."))?;
        builder = match k.strip_prefix("rdkafka.") {
            Some(k) => builder.set_librdkafka(k, v),
            None => builder.set(k, v),
        };
    }
    Ok(builder)
}

/// The producer benchmarks' record: a page view, about 100 bytes framed with an empty note, about 1 KiB with a
/// 920-byte one. It derives serde's `Serialize` too, for apache-avro's serde path (the hand-wired one).
pub mod click {
    use typed_kafka::KafkaRecord;

    /// A page view.
    #[derive(KafkaRecord, serde::Serialize, Clone)]
    #[kafka(namespace = "bench.produce")]
    pub struct Click {
        pub user: String,
        pub page: String,
        pub referrer: Option<String>,
        pub millis: i64,
        pub x: i32,
        pub y: i32,
        pub session: String,
        pub note: String,
    }

    typed_kafka::topic! {
        /// Page views keyed by user.
        pub CLICKS: "bench-clicks", key: String, value: Click;
    }

    /// Page view `i`, with a note of `note` bytes.
    pub fn click(i: u64, note: usize) -> Click {
        Click {
            user: format!("user-{:06}", i % 100_000),
            page: "/products/garden/watering-can-10l".into(),
            referrer: Some("https://example.com/search?q=can".into()),
            millis: 1_700_000_000_000 + i as i64,
            x: (i % 1920) as i32,
            y: (i % 1080) as i32,
            session: "2f1c9a7e-51b2-4c1e".into(),
            note: "n".repeat(note),
        }
    }

    /// Page view `i`'s key and its value in the Confluent framing under schema `id`: what the raw rdkafka paths are
    /// handed serialized.
    pub fn framed(id: u32, i: u64, note: usize) -> Result<(Vec<u8>, Vec<u8>), typed_kafka::EncodeError> {
        let c = click(i, note);
        let mut value = Vec::new();
        typed_kafka::avro::wire::write_header(&mut value, typed_kafka::SchemaId(id));
        c.encode_body(&mut value)?;
        Ok((c.user.into_bytes(), value))
    }

    /// Sends `record` through rdkafka's `ThreadedProducer`, waiting 200 µs while librdkafka's queue is full (the
    /// producer's own thread serves the delivery reports that make room; `poll` here would spin on its deadline).
    #[cfg(feature = "produce-bench")]
    pub fn send_when_room<C: rdkafka::producer::ProducerContext>(
        producer: &rdkafka::producer::ThreadedProducer<C>,
        mut record: rdkafka::producer::BaseRecord<'_, [u8], [u8], C::DeliveryOpaque>,
    ) -> Result<(), rdkafka::error::KafkaError> {
        use rdkafka::error::{KafkaError, RDKafkaErrorCode};
        loop {
            match producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// Sends `record` through rdkafka's `FutureProducer`, sleeping 1 ms on the runtime while librdkafka's queue is
    /// full; its delivery future.
    #[cfg(feature = "produce-bench")]
    pub async fn send_result_when_room<K, P>(
        producer: &rdkafka::producer::FutureProducer,
        mut record: rdkafka::producer::FutureRecord<'_, K, P>,
    ) -> Result<rdkafka::producer::DeliveryFuture, rdkafka::error::KafkaError>
    where
        K: rdkafka::message::ToBytes + ?Sized,
        P: rdkafka::message::ToBytes + ?Sized,
    {
        use rdkafka::error::{KafkaError, RDKafkaErrorCode};
        loop {
            match producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                    record = r;
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                Err((e, _)) => return Err(e),
            }
        }
    }

    /// The rdkafka paths' client settings: `config`'s librdkafka properties, with librdkafka's own queue limit at
    /// `buffer.memory` (typed-kafka holds at most that much itself and lifts librdkafka's limit above it; here it is
    /// librdkafka's, as Java's is) and its default message cap of 100,000, as a plain rdkafka client has.
    #[cfg(feature = "produce-bench")]
    pub fn rdkafka_config(config: &typed_kafka::config::ProducerConfig) -> rdkafka::config::ClientConfig {
        let mut cc = rdkafka::config::ClientConfig::new();
        for (k, v) in config.librdkafka_properties() {
            cc.set(k, v);
        }
        cc.set("queue.buffering.max.kbytes", (config.buffer_memory / 1024).to_string());
        cc.set("queue.buffering.max.messages", "100000");
        cc
    }
}

/// For the local stack's broker (the one `admin` talks to): deletes a dropped topic's files at once (by default
/// 60 s later, in the middle of a later path, whose broker then spent up to four times its usual CPU per record).
#[cfg(feature = "produce-bench")]
pub async fn delete_files_at_once(
    admin: &rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    use rdkafka::admin::{AdminOptions, AlterConfig, ResourceSpecifier};
    let metadata = admin.inner().fetch_metadata(None, std::time::Duration::from_secs(10))?;
    for broker in metadata.brokers() {
        let config = AlterConfig::new(ResourceSpecifier::Broker(broker.id())).set("log.segment.delete.delay.ms", "0");
        for result in admin.alter_configs(&[config], &AdminOptions::new()).await? {
            result.map_err(|(resource, e)| format!("{resource:?}: {e}"))?;
        }
    }
    Ok(())
}

/// The median of `v` (NaN when it is empty).
pub fn median(v: Vec<f64>) -> f64 {
    quantile(v, 0.5)
}

/// The `q` quantile of `v`, interpolated between its nearest ranks (NaN when `v` is empty).
pub fn quantile(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let at = q * (v.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (at - lo as f64)
}
