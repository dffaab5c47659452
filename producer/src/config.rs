//! Producer configuration with the Java client's names, Kafka 4's defaults and Java's meaning, validated when it is
//! built, and its translation to the librdkafka properties the batching core runs with.
//!
//! ```
//! use std::time::Duration;
//! use typed_kafka::config::{Acks, Compression, ProducerConfig};
//!
//! let config = ProducerConfig::builder("broker-1:9092,broker-2:9092")
//!     .set("linger.ms", "20")
//!     .set("compression.type", "zstd")
//!     .set("sasl.password", "s3cret")
//!     .set_librdkafka("statistics.interval.ms", "5000") // librdkafka-only keys pass through explicitly
//!     .build()?;
//! assert_eq!(config.acks, Acks::All);
//! assert!(config.enable_idempotence);
//! assert_eq!(config.linger, Duration::from_millis(20));
//! assert_eq!(config.compression, Compression::Zstd);
//! assert!(!format!("{config:?}").contains("s3cret"));
//! # Ok::<(), typed_kafka::config::ProducerConfigError>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// How many replicas must acknowledge a write (`acks`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// `0`: do not wait.
    None,
    /// `1`: the leader wrote it.
    Leader,
    /// `all` (or `-1`): every in-sync replica has it.
    All,
}

/// Batch compression (`compression.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// `none`.
    None,
    /// `gzip`.
    Gzip,
    /// `snappy`.
    Snappy,
    /// `lz4`.
    Lz4,
    /// `zstd`.
    Zstd,
}

impl Compression {
    fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// A producer configured wrongly: the setting, and the rule it breaks or what to use instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("producer configuration: {setting}: {reason}")]
#[non_exhaustive]
pub struct ProducerConfigError {
    /// The setting (or settings) at fault.
    pub setting: String,
    /// The rule broken, or what to do instead. Never contains a secret value.
    pub reason: String,
}

fn error(setting: &str, reason: impl Into<String>) -> ProducerConfigError {
    ProducerConfigError { setting: setting.to_string(), reason: reason.into() }
}

/// Java client settings that cannot be honoured here, and what to use instead.
const REFUSED: &[(&str, &str)] = &[
    ("key.serializer", "keys are serialized by the topic's key type; declare it on the typed topic"),
    ("value.serializer", "values are serialized by the topic's value type; declare it on the typed topic"),
    ("partitioner.class", "give the typed producer a partitioner (it sees the typed key and value) instead"),
    (
        "partitioner.ignore.keys",
        "keys are always hashed like Java's default partitioner; use an explicit partition to override",
    ),
    (
        "partitioner.adaptive.partitioning.enable",
        "null keys stick to a partition for a while (sticky.partitioning.linger.ms)",
    ),
    ("partitioner.availability.timeout.ms", "not supported by the batching core (librdkafka)"),
    ("interceptor.classes", "add interceptors to the typed producer's builder"),
    ("metric.reporters", "read the producer's metrics instead"),
    ("ssl.truststore.location", "Java key stores are not read; give the CA as PEM with ssl.ca.location or ssl.ca.pem"),
    ("ssl.keystore.location", "Java key stores are not read; use ssl.certificate.location and ssl.key.location (PEM)"),
    ("sasl.jaas.config", "use sasl.username and sasl.password"),
];

/// Why librdkafka's own queue limits are not the user's to set.
const QUEUE_LIMITS: &str = "buffer.memory bounds what the producer holds; librdkafka's own queue limits stay above it \
     so that they never refuse a record the budget took: set buffer.memory";

/// librdkafka settings that `set_librdkafka` refuses: they would break what the producer promises (every record's
/// report, the byte budget's bound, Java's partitioning, the delivery thread), or they are a setting `set` takes by
/// its Kafka name, checked with the others.
const LIBRDKAFKA_REFUSED: &[(&str, &str)] = &[
    (
        "delivery.report.only.error",
        "every record's delivery report completes its future or callback and gives its bytes back to buffer.memory; \
         reporting only errors would leave every delivered record's future waiting and its bytes held forever",
    ),
    ("queue.buffering.max.messages", QUEUE_LIMITS),
    ("queue.buffering.max.kbytes", QUEUE_LIMITS),
    (
        "partitioner",
        "records are partitioned as Java's producer does (murmur2 of the serialized key), so that keys land where Java \
         producers put them; give the typed topic a partitioner instead",
    ),
    (
        "enabled_events",
        "the producer's delivery thread needs librdkafka's delivery report, error and statistics events",
    ),
    ("queue.buffering.max.ms", "it is linger.ms: set it with set(\"linger.ms\", ..)"),
    ("message.timeout.ms", "it is delivery.timeout.ms: set it with set(\"delivery.timeout.ms\", ..)"),
    ("request.required.acks", "it is acks: set it with set(\"acks\", ..)"),
    ("message.send.max.retries", "it is retries: set it with set(\"retries\", ..)"),
    ("compression.codec", "it is compression.type: set it with set(\"compression.type\", ..)"),
    ("message.max.bytes", "it is max.request.size: set it with set(\"max.request.size\", ..)"),
    ("metadata.broker.list", "it is bootstrap.servers: set it with set(\"bootstrap.servers\", ..)"),
    (
        "max.in.flight",
        "it is max.in.flight.requests.per.connection: set it with set(\"max.in.flight.requests.per.connection\", ..)",
    ),
    ("socket.send.buffer.bytes", "it is send.buffer.bytes: set it with set(\"send.buffer.bytes\", ..)"),
    ("socket.receive.buffer.bytes", "it is receive.buffer.bytes: set it with set(\"receive.buffer.bytes\", ..)"),
    ("topic.metadata.refresh.interval.ms", "it is metadata.max.age.ms: set it with set(\"metadata.max.age.ms\", ..)"),
    ("sasl.mechanisms", "it is sasl.mechanism: set it with set(\"sasl.mechanism\", ..)"),
];

/// The producer settings `set` takes by their Kafka names.
const KNOWN: &[&str] = &[
    "bootstrap.servers",
    "client.id",
    "acks",
    "enable.idempotence",
    "max.in.flight.requests.per.connection",
    "retries",
    "retry.backoff.ms",
    "delivery.timeout.ms",
    "request.timeout.ms",
    "linger.ms",
    "batch.size",
    "buffer.memory",
    "max.block.ms",
    "compression.type",
    "max.request.size",
    "send.buffer.bytes",
    "receive.buffer.bytes",
    "metadata.max.age.ms",
    "transactional.id",
    "transaction.timeout.ms",
];

/// Settings whose values are secrets: kept, passed to librdkafka, never shown.
const SECRETS: &[&str] =
    &["sasl.password", "ssl.key.password", "ssl.keystore.password", "ssl.key.pem", "sasl.oauthbearer.client.secret"];

/// Security settings accepted under their Kafka names and passed to librdkafka as they are.
const SECURITY: &[&str] = &[
    "security.protocol",
    "sasl.mechanism",
    "sasl.username",
    "sasl.password",
    "ssl.ca.location",
    "ssl.ca.pem",
    "ssl.certificate.location",
    "ssl.certificate.pem",
    "ssl.key.location",
    "ssl.key.pem",
    "ssl.key.password",
    "ssl.endpoint.identification.algorithm",
    "sasl.oauthbearer.client.secret",
];

/// What each record takes from `buffer.memory` besides its key, value and header bytes, in bytes: the memory it
/// holds in the batching core until its delivery report, librdkafka's message header (176 bytes in librdkafka 2.12)
/// and the allocator's share. Without it, a budget of small records held several times its size: 32 MiB of
/// 124-byte records was 270,000 records and another 50 MB of headers, and with that many in flight each record
/// cost the client's threads about 1.6 times the CPU (cache misses), where the message count bounds a plain
/// librdkafka client at 100,000 by default (`benches/README.md`).
///
/// The producer's `buffered_bytes` metric and a `BufferFull` refusal's `needed` count it; `max.request.size` plus
/// this must fit in `buffer.memory`.
pub const RECORD_OVERHEAD: u32 = 192;

/// `batch.size` when it is not set: librdkafka's own default. (librdkafka also caps a batch at
/// `message.max.bytes`, which is `max.request.size`.)
const DEFAULT_BATCH_SIZE: u32 = 1_000_000;

/// A validated producer configuration. Secrets are kept but never shown in `Debug`.
#[derive(Clone)]
#[non_exhaustive]
pub struct ProducerConfig {
    /// `bootstrap.servers`.
    pub bootstrap_servers: String,
    /// `client.id` (default `typed-kafka`).
    pub client_id: String,
    /// `acks` (default all).
    pub acks: Acks,
    /// `enable.idempotence` (default true, turned off implicitly by conflicting settings as Java does).
    pub enable_idempotence: bool,
    /// `max.in.flight.requests.per.connection` (default 5).
    pub max_in_flight: u32,
    /// `retries` (default `i32::MAX`).
    pub retries: u32,
    /// `retry.backoff.ms` (default 100).
    pub retry_backoff: Duration,
    /// `delivery.timeout.ms` (default 120 s): from enqueue to success or final failure.
    pub delivery_timeout: Duration,
    /// `request.timeout.ms` (default 30 s).
    pub request_timeout: Duration,
    /// `linger.ms` (default 5).
    pub linger: Duration,
    /// `batch.size`: the most bytes of one partition's batch (default 1,000,000; a batch never exceeds
    /// `max.request.size` either).
    ///
    /// The default is not Java's 16,384. Java's sender puts the batches of every partition a broker leads into one
    /// request of up to `max.request.size`; librdkafka sends one partition's batch per request, so with Java's
    /// 16 KiB a request would carry 16 KiB, and a stream of 1 KiB records to 6 partitions reached a quarter of the
    /// throughput (`benches/README.md`). A batch is still sent after `linger.ms` however little it holds.
    pub batch_size: u32,
    /// `buffer.memory` in bytes (default 32 MiB): records held before they are sent; past it a send waits up to
    /// `max.block.ms`. A record takes its key, value and header bytes and [`RECORD_OVERHEAD`] (192) bytes more, the
    /// memory the batching core holds per record (librdkafka's message header), so that the bound holds for small
    /// records too.
    pub buffer_memory: u64,
    /// `max.block.ms` (default 60 s).
    pub max_block: Duration,
    /// `compression.type` (default none).
    pub compression: Compression,
    /// `max.request.size` in bytes (default 1 MiB): the largest record accepted.
    pub max_request_size: u32,
    /// `send.buffer.bytes` (`None`: the OS default).
    pub send_buffer_bytes: Option<u32>,
    /// `receive.buffer.bytes` (`None`: the OS default).
    pub receive_buffer_bytes: Option<u32>,
    /// `metadata.max.age.ms` (default 300 s, Java's): how often the partition counts of the bound topics are
    /// re-read, so that a topic's new partitions are used (librdkafka's `topic.metadata.refresh.interval.ms`).
    pub metadata_max_age: Duration,
    /// `transactional.id` (default none): a transactional producer, whose records are written in transactions
    /// (see `Producer::begin`). Implies idempotence.
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms` (default 60 s): how long the transaction coordinator lets a transaction stay open
    /// before it aborts it. `delivery.timeout.ms` defaults to it when it is shorter than 120 s, and may not exceed it.
    pub transaction_timeout: Duration,
    security: BTreeMap<String, String>,
    librdkafka: BTreeMap<String, String>,
}

/// Whether the setting `key` holds a secret.
pub(crate) fn is_secret(key: &str) -> bool {
    SECRETS.contains(&key) || key.contains("password") || key.contains("secret")
}

/// `settings` with the values of secret settings replaced by `***`, for Debug output.
fn redacted(settings: &BTreeMap<String, String>) -> BTreeMap<&str, &str> {
    settings.iter().map(|(k, v)| (k.as_str(), if is_secret(k) { "***" } else { v.as_str() })).collect()
}

impl fmt::Debug for ProducerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let security = redacted(&self.security);
        f.debug_struct("ProducerConfig")
            .field("bootstrap_servers", &self.bootstrap_servers)
            .field("client_id", &self.client_id)
            .field("acks", &self.acks)
            .field("enable_idempotence", &self.enable_idempotence)
            .field("max_in_flight", &self.max_in_flight)
            .field("delivery_timeout", &self.delivery_timeout)
            .field("linger", &self.linger)
            .field("batch_size", &self.batch_size)
            .field("buffer_memory", &self.buffer_memory)
            .field("max_block", &self.max_block)
            .field("compression", &self.compression)
            .field("transactional_id", &self.transactional_id)
            .field("security", &security)
            .field("librdkafka", &redacted(&self.librdkafka))
            .finish_non_exhaustive()
    }
}

/// Builds a [`ProducerConfig`] from Kafka's setting names.
#[derive(Clone)]
pub struct ProducerConfigBuilder {
    settings: BTreeMap<String, String>,
    librdkafka: BTreeMap<String, String>,
}

impl fmt::Debug for ProducerConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProducerConfigBuilder")
            .field("settings", &redacted(&self.settings))
            .field("librdkafka", &redacted(&self.librdkafka))
            .finish()
    }
}

impl ProducerConfig {
    /// A builder for a producer of the cluster at `bootstrap_servers` (`host:port`, comma-separated).
    pub fn builder(bootstrap_servers: impl Into<String>) -> ProducerConfigBuilder {
        let mut settings = BTreeMap::new();
        settings.insert("bootstrap.servers".to_string(), bootstrap_servers.into());
        ProducerConfigBuilder { settings, librdkafka: BTreeMap::new() }
    }

    /// The librdkafka properties that give the batching core this configuration's meaning: Java's defaults set
    /// explicitly where librdkafka's differ, Java-compatible partitioning, `delivery.timeout.ms` as the message
    /// timeout, `max.request.size` as the message size limit, librdkafka's own queue limits above the producer's
    /// byte budget (which it enforces itself), the security settings, then the explicit librdkafka-only keys.
    pub fn librdkafka_properties(&self) -> Vec<(String, String)> {
        let ms = |d: Duration| d.as_millis().to_string();
        let mut p: Vec<(String, String)> = vec![
            ("bootstrap.servers".into(), self.bootstrap_servers.clone()),
            ("client.id".into(), self.client_id.clone()),
            (
                "acks".into(),
                match self.acks {
                    Acks::None => "0",
                    Acks::Leader => "1",
                    Acks::All => "all",
                }
                .into(),
            ),
            ("enable.idempotence".into(), self.enable_idempotence.to_string()),
            ("max.in.flight.requests.per.connection".into(), self.max_in_flight.to_string()),
            ("retries".into(), self.retries.min(i32::MAX as u32).to_string()),
            ("retry.backoff.ms".into(), ms(self.retry_backoff)),
            ("message.timeout.ms".into(), ms(self.delivery_timeout)),
            ("request.timeout.ms".into(), ms(self.request_timeout)),
            ("linger.ms".into(), ms(self.linger)),
            ("batch.size".into(), self.batch_size.to_string()),
            ("compression.type".into(), self.compression.name().into()),
            ("message.max.bytes".into(), self.max_request_size.max(1000).to_string()),
            ("partitioner".into(), "murmur2_random".into()),
            // The byte budget (buffer.memory) is the producer's own; librdkafka's queue must never be the limit.
            (
                "queue.buffering.max.kbytes".into(),
                (self.buffer_memory / 1024 * 2 + 1024).min(2_147_483_647).to_string(),
            ),
            ("queue.buffering.max.messages".into(), "2147483647".into()),
            ("topic.metadata.refresh.interval.ms".into(), ms(self.metadata_max_age)),
        ];
        if let Some(id) = &self.transactional_id {
            p.push(("transactional.id".into(), id.clone()));
            p.push(("transaction.timeout.ms".into(), ms(self.transaction_timeout)));
        }
        if let Some(n) = self.send_buffer_bytes {
            p.push(("socket.send.buffer.bytes".into(), n.to_string()));
        }
        if let Some(n) = self.receive_buffer_bytes {
            p.push(("socket.receive.buffer.bytes".into(), n.to_string()));
        }
        p.extend(self.security.iter().map(|(k, v)| (k.clone(), v.clone())));
        p.extend(self.librdkafka.iter().map(|(k, v)| (k.clone(), v.clone())));
        p
    }
}

fn parse<T: std::str::FromStr>(key: &str, value: &str, what: &str) -> Result<T, ProducerConfigError> {
    value.trim().parse().map_err(|_| error(key, format!("{value:?} is not {what}")))
}

fn millis(key: &str, value: &str) -> Result<Duration, ProducerConfigError> {
    parse::<u64>(key, value, "a whole number of milliseconds").map(Duration::from_millis)
}

impl ProducerConfigBuilder {
    /// Sets a setting by its Kafka (Java client) name, e.g. `linger.ms` or `sasl.password`.
    pub fn set(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.insert(key.into(), value.into());
        self
    }

    /// Passes a librdkafka-only setting through as it is (e.g. `statistics.interval.ms`). It is applied last.
    pub fn set_librdkafka(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.librdkafka.insert(key.into(), value.into());
        self
    }

    /// Validates the settings: types, Java's rules for combinations, and settings that cannot be honoured.
    pub fn build(self) -> Result<ProducerConfig, ProducerConfigError> {
        let s = &self.settings;
        for (key, instead) in REFUSED {
            if s.contains_key(*key) {
                return Err(error(key, format!("not supported: {instead}")));
            }
        }
        if let Some(unknown) = s.keys().find(|k| !KNOWN.contains(&k.as_str()) && !SECURITY.contains(&k.as_str())) {
            return Err(error(
                unknown,
                "unknown producer setting; a librdkafka-only setting passes through with set_librdkafka",
            ));
        }
        for key in self.librdkafka.keys() {
            if let Some((_, reason)) = LIBRDKAFKA_REFUSED.iter().find(|(k, _)| k == key) {
                return Err(error(key, format!("not accepted by set_librdkafka: {reason}")));
            }
            if KNOWN.contains(&key.as_str()) {
                return Err(error(key, format!("a producer setting: set it with set(\"{key}\", ..), which checks it")));
            }
        }
        let get = |k: &str| s.get(k).map(String::as_str);
        let bootstrap_servers = get("bootstrap.servers").unwrap_or_default().trim().to_string();
        if bootstrap_servers.is_empty() || bootstrap_servers.split(',').any(|h| !h.trim().contains(':')) {
            return Err(error("bootstrap.servers", "expected host:port, comma-separated"));
        }
        let acks = match get("acks").map(str::trim) {
            None | Some("all") | Some("-1") => Acks::All,
            Some("1") => Acks::Leader,
            Some("0") => Acks::None,
            Some(other) => return Err(error("acks", format!("{other:?} is not 0, 1, all or -1"))),
        };
        let max_in_flight = match get("max.in.flight.requests.per.connection") {
            Some(v) => parse::<u32>("max.in.flight.requests.per.connection", v, "a positive number")?.max(1),
            None => 5,
        };
        let retries = match get("retries") {
            Some(v) => parse::<u32>("retries", v, "a number of retries")?,
            None => i32::MAX as u32,
        };
        // Java (KIP-679): an explicit enable.idempotence=true with conflicting settings is an error; the default
        // gives way to them.
        let explicit =
            get("enable.idempotence").map(|v| parse::<bool>("enable.idempotence", v, "true or false")).transpose()?;
        let conflicts: Vec<&str> = [
            (acks != Acks::All, "acks must be all"),
            (retries == 0, "retries must be at least 1"),
            (max_in_flight > 5, "max.in.flight.requests.per.connection must be at most 5"),
        ]
        .iter()
        .filter(|(broken, _)| *broken)
        .map(|(_, rule)| *rule)
        .collect();
        let transactional_id = get("transactional.id").map(str::trim).map(str::to_string);
        if transactional_id.as_deref() == Some("") {
            return Err(error("transactional.id", "must not be empty"));
        }
        let enable_idempotence = match explicit {
            Some(true) if !conflicts.is_empty() => {
                return Err(error("enable.idempotence", format!("idempotence requires: {}", conflicts.join("; "))));
            }
            Some(false) if transactional_id.is_some() => {
                return Err(error("enable.idempotence", "a transactional producer (transactional.id) is idempotent"));
            }
            None if transactional_id.is_some() && !conflicts.is_empty() => {
                return Err(error(
                    "transactional.id",
                    format!("a transactional producer is idempotent, which requires: {}", conflicts.join("; ")),
                ));
            }
            Some(v) => v,
            None => conflicts.is_empty(),
        };
        let transaction_timeout = get("transaction.timeout.ms")
            .map_or(Ok(Duration::from_secs(60)), |v| millis("transaction.timeout.ms", v))?;
        if transaction_timeout.is_zero() {
            return Err(error("transaction.timeout.ms", "must be positive"));
        }
        let linger = get("linger.ms").map_or(Ok(Duration::from_millis(5)), |v| millis("linger.ms", v))?;
        let request_timeout =
            get("request.timeout.ms").map_or(Ok(Duration::from_secs(30)), |v| millis("request.timeout.ms", v))?;
        // librdkafka refuses a message timeout longer than the transaction's: a transactional producer's default
        // is the transaction timeout when that is shorter.
        let default_delivery = match &transactional_id {
            Some(_) => Duration::from_secs(120).min(transaction_timeout),
            None => Duration::from_secs(120),
        };
        let delivery_timeout =
            get("delivery.timeout.ms").map_or(Ok(default_delivery), |v| millis("delivery.timeout.ms", v))?;
        if transactional_id.is_some() && delivery_timeout > transaction_timeout {
            return Err(error(
                "delivery.timeout.ms",
                format!(
                    "must not exceed transaction.timeout.ms ({} ms) in a transactional producer",
                    transaction_timeout.as_millis()
                ),
            ));
        }
        if delivery_timeout < linger + request_timeout {
            return Err(error(
                "delivery.timeout.ms",
                format!(
                    "must be at least linger.ms + request.timeout.ms ({} ms)",
                    (linger + request_timeout).as_millis()
                ),
            ));
        }
        let compression = match get("compression.type").map(str::trim) {
            None | Some("none") => Compression::None,
            Some("gzip") => Compression::Gzip,
            Some("snappy") => Compression::Snappy,
            Some("lz4") => Compression::Lz4,
            Some("zstd") => Compression::Zstd,
            Some(other) => {
                return Err(error("compression.type", format!("{other:?} is not none, gzip, snappy, lz4 or zstd")));
            }
        };
        let buffer_memory =
            get("buffer.memory").map_or(Ok(32 << 20), |v| parse("buffer.memory", v, "a number of bytes"))?;
        let max_request_size =
            get("max.request.size").map_or(Ok(1 << 20), |v| parse("max.request.size", v, "a number of bytes"))?;
        if u64::from(max_request_size) + u64::from(RECORD_OVERHEAD) > buffer_memory {
            return Err(error(
                "max.request.size",
                format!(
                    "must not exceed buffer.memory less the {RECORD_OVERHEAD} bytes each record takes besides its \
                     own: such a record could never be sent"
                ),
            ));
        }
        let socket = |k: &str| -> Result<Option<u32>, ProducerConfigError> {
            match get(k).map(|v| parse::<i64>(k, v, "a number of bytes (-1 for the OS default)")).transpose()? {
                None | Some(-1) => Ok(None),
                Some(n) if n > 0 && n <= i64::from(i32::MAX) => Ok(Some(n as u32)),
                Some(n) => Err(error(k, format!("{n} is not a buffer size (-1 for the OS default)"))),
            }
        };
        let security = s
            .iter()
            .filter(|(k, _)| SECURITY.contains(&k.as_str()))
            .map(|(k, v)| (if k == "sasl.mechanism" { "sasl.mechanisms".to_string() } else { k.clone() }, v.clone()))
            .collect();
        Ok(ProducerConfig {
            bootstrap_servers,
            client_id: get("client.id").unwrap_or("typed-kafka").to_string(),
            acks,
            enable_idempotence,
            max_in_flight,
            retries,
            retry_backoff: get("retry.backoff.ms")
                .map_or(Ok(Duration::from_millis(100)), |v| millis("retry.backoff.ms", v))?,
            delivery_timeout,
            request_timeout,
            linger,
            batch_size: get("batch.size")
                .map_or(Ok(DEFAULT_BATCH_SIZE), |v| parse("batch.size", v, "a number of bytes"))?,
            buffer_memory,
            max_block: get("max.block.ms").map_or(Ok(Duration::from_secs(60)), |v| millis("max.block.ms", v))?,
            compression,
            max_request_size,
            send_buffer_bytes: socket("send.buffer.bytes")?,
            receive_buffer_bytes: socket("receive.buffer.bytes")?,
            metadata_max_age: get("metadata.max.age.ms")
                .map_or(Ok(Duration::from_secs(300)), |v| millis("metadata.max.age.ms", v))?,
            transactional_id,
            transaction_timeout,
            security,
            librdkafka: self.librdkafka,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(pairs: &[(&str, &str)]) -> Result<ProducerConfig, ProducerConfigError> {
        pairs.iter().fold(ProducerConfig::builder("127.0.0.1:9092"), |b, (k, v)| b.set(*k, *v)).build()
    }

    #[test]
    fn kafka_4_defaults() {
        let c = build(&[]).unwrap();
        assert_eq!(c.acks, Acks::All);
        assert!(c.enable_idempotence);
        assert_eq!(c.max_in_flight, 5);
        assert_eq!(c.retries, i32::MAX as u32);
        assert_eq!(c.linger, Duration::from_millis(5));
        // Not Java's 16,384: librdkafka sends one partition's batch per request (see the field's docs).
        assert_eq!(c.batch_size, 1_000_000);
        assert_eq!(build(&[("batch.size", "16384")]).unwrap().batch_size, 16384);
        assert_eq!(c.delivery_timeout, Duration::from_secs(120));
        assert_eq!(c.request_timeout, Duration::from_secs(30));
        assert_eq!(c.buffer_memory, 32 << 20);
        assert_eq!(c.max_block, Duration::from_secs(60));
        assert_eq!(c.compression, Compression::None);
        assert_eq!(c.max_request_size, 1 << 20);
        let props: BTreeMap<String, String> = c.librdkafka_properties().into_iter().collect();
        assert_eq!(props["partitioner"], "murmur2_random", "Java-compatible partitioning");
        assert_eq!(props["message.timeout.ms"], "120000", "Java's delivery.timeout.ms, not librdkafka's 300 s");
        assert_eq!(props["enable.idempotence"], "true");
        assert_eq!(props["message.max.bytes"], "1048576");
    }

    #[test]
    fn idempotence_rules_follow_java() {
        // Explicitly enabled with a conflicting setting: an error naming every rule broken.
        let e = build(&[("enable.idempotence", "true"), ("acks", "1"), ("max.in.flight.requests.per.connection", "6")])
            .unwrap_err();
        assert_eq!(e.setting, "enable.idempotence");
        assert!(e.reason.contains("acks must be all") && e.reason.contains("at most 5"), "{e}");
        // Not set explicitly: conflicting settings turn it off, as Java does (KIP-679).
        let c = build(&[("acks", "1")]).unwrap();
        assert!(!c.enable_idempotence);
        assert!(build(&[("enable.idempotence", "false"), ("retries", "0")]).is_ok());
        assert!(build(&[("enable.idempotence", "true"), ("retries", "0")]).is_err());
    }

    #[test]
    fn invalid_combinations_and_values_are_refused_with_the_rule() {
        let e = build(&[("delivery.timeout.ms", "20000"), ("request.timeout.ms", "30000")]).unwrap_err();
        assert_eq!(e.setting, "delivery.timeout.ms");
        assert!(e.reason.contains("30005 ms"), "{e}");
        assert_eq!(build(&[("acks", "2")]).unwrap_err().setting, "acks");
        assert_eq!(build(&[("linger.ms", "soon")]).unwrap_err().setting, "linger.ms");
        assert_eq!(build(&[("compression.type", "brotli")]).unwrap_err().setting, "compression.type");
        assert_eq!(
            build(&[("max.request.size", "100"), ("buffer.memory", "10")]).unwrap_err().setting,
            "max.request.size"
        );
        // A record of max.request.size also takes the per-record overhead from the budget.
        let e = build(&[("max.request.size", "1000"), ("buffer.memory", "1100")]).unwrap_err();
        assert!(e.reason.contains("192 bytes"), "{e}");
        assert!(build(&[("max.request.size", "1000"), ("buffer.memory", "1192")]).is_ok());
        assert!(ProducerConfig::builder("no-port").build().is_err());
        assert_eq!(build(&[("send.buffer.bytes", "-1")]).unwrap().send_buffer_bytes, None);
        for codec in ["gzip", "snappy", "lz4", "zstd"] {
            assert_eq!(build(&[("compression.type", codec)]).unwrap().compression.name(), codec);
        }
    }

    #[test]
    fn java_only_settings_are_refused_with_what_to_use_instead() {
        for (key, _) in REFUSED {
            let e = build(&[(key, "x")]).unwrap_err();
            assert_eq!(e.setting, *key);
            assert!(e.reason.starts_with("not supported: "), "{e}");
        }
        let e = build(&[("queue.buffering.max.ms", "5")]).unwrap_err();
        assert!(e.reason.contains("set_librdkafka"), "{e}");
        let passed = ProducerConfig::builder("h:1").set_librdkafka("batch.num.messages", "7").build().unwrap();
        assert!(passed.librdkafka_properties().contains(&("batch.num.messages".into(), "7".into())));
    }

    /// `set_librdkafka` refuses what would break the producer's contract, and the aliases of the settings `set`
    /// checks, naming the setting and why.
    #[test]
    fn the_escape_hatch_cannot_break_the_contract() {
        let refused = |k: &str, v: &str| ProducerConfig::builder("h:1").set_librdkafka(k, v).build().unwrap_err();
        let e = refused("delivery.report.only.error", "true");
        assert_eq!(e.setting, "delivery.report.only.error");
        assert!(e.reason.contains("future") && e.reason.contains("buffer.memory"), "{e}");
        for key in ["queue.buffering.max.messages", "queue.buffering.max.kbytes"] {
            assert!(refused(key, "1").reason.contains("set buffer.memory"), "{key}");
        }
        assert!(refused("partitioner", "random").reason.contains("murmur2"));
        assert!(refused("queue.buffering.max.ms", "0").reason.contains("set(\"linger.ms\""));
        assert!(refused("message.timeout.ms", "1").reason.contains("delivery.timeout.ms"));
        let e = refused("linger.ms", "1");
        assert!(e.reason.contains("set(\"linger.ms\""), "{e}");
        for (key, _) in LIBRDKAFKA_REFUSED {
            let e = refused(key, "1");
            assert_eq!(e.setting, *key);
            assert!(!e.reason.contains("  "), "{key}'s reason reads as one sentence: {e}");
        }
        // What the producer sets itself stays as it set it.
        let c = ProducerConfig::builder("h:1").set("metadata.max.age.ms", "1000").build().unwrap();
        let props: BTreeMap<String, String> = c.librdkafka_properties().into_iter().collect();
        assert_eq!(props["topic.metadata.refresh.interval.ms"], "1000");
        assert_eq!(props["queue.buffering.max.messages"], "2147483647");
    }

    /// A transactional producer is idempotent (Java's rule), its deliveries end within its transactions' timeout
    /// (librdkafka's), and both settings reach librdkafka.
    #[test]
    fn a_transactional_producer_is_idempotent_and_delivers_within_its_transactions() {
        let c = build(&[("transactional.id", "orders-pipeline-1")]).unwrap();
        assert!(c.enable_idempotence);
        assert_eq!(c.transactional_id.as_deref(), Some("orders-pipeline-1"));
        assert_eq!((c.transaction_timeout, c.delivery_timeout), (Duration::from_secs(60), Duration::from_secs(60)));
        let props: BTreeMap<String, String> = c.librdkafka_properties().into_iter().collect();
        assert_eq!(props["transactional.id"], "orders-pipeline-1");
        assert_eq!(
            (props["transaction.timeout.ms"].as_str(), props["message.timeout.ms"].as_str()),
            ("60000", "60000")
        );
        let c = build(&[("transactional.id", "t"), ("transaction.timeout.ms", "300000")]).unwrap();
        assert_eq!(c.delivery_timeout, Duration::from_secs(120));
        let e = build(&[("transactional.id", "t"), ("enable.idempotence", "false")]).unwrap_err();
        assert_eq!(e.setting, "enable.idempotence");
        let e = build(&[("transactional.id", "t"), ("acks", "1")]).unwrap_err();
        assert!(e.setting == "transactional.id" && e.reason.contains("acks must be all"), "{e}");
        let e = build(&[("transactional.id", "t"), ("delivery.timeout.ms", "90000")]).unwrap_err();
        assert!(e.setting == "delivery.timeout.ms" && e.reason.contains("transaction.timeout.ms"), "{e}");
        assert_eq!(build(&[("transactional.id", " ")]).unwrap_err().setting, "transactional.id");
        assert!(build(&[]).unwrap().transactional_id.is_none());
    }

    #[test]
    fn secrets_never_show() {
        let b = ProducerConfig::builder("h:1")
            .set("security.protocol", "SASL_SSL")
            .set("sasl.mechanism", "SCRAM-SHA-512")
            .set("sasl.username", "svc")
            .set("sasl.password", "pa55-w0rd")
            .set("ssl.key.password", "key-pa55");
        assert!(!format!("{b:?}").contains("pa55"), "{b:?}");
        let c = b.build().unwrap();
        let shown = format!("{c:?}");
        assert!(!shown.contains("pa55") && shown.contains("SCRAM-SHA-512"), "{shown}");
        let props = c.librdkafka_properties();
        assert!(props.contains(&("sasl.password".into(), "pa55-w0rd".into())), "passed to librdkafka");
        assert!(props.contains(&("sasl.mechanisms".into(), "SCRAM-SHA-512".into())));
        // A secret passed through as a librdkafka-only setting is not shown either.
        let b = ProducerConfig::builder("h:1").set_librdkafka("sasl.oauthbearer.client.secret", "t0ken-pa55");
        assert!(!format!("{b:?}").contains("pa55"), "{b:?}");
        assert!(!format!("{:?}", b.build().unwrap()).contains("pa55"));
    }
}
