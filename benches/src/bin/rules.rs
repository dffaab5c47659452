//! Data-contract rules: typed-kafka's generated Rust against Confluent's clients validating the same record (the
//! benchmark `Order` with five rules) with the same rules, side by side in one run, CPU time per record:
//! - Confluent's Python client (confluent-kafka 2.16.1, `validate_message` with its CEL validator over cel-python),
//!   in a Python environment the stack makes in its cache on first use (`tests/python/requirements.txt`);
//! - Confluent's Rust client (`schema-registry-client` 0.4 with `rules-cel`): its `AvroSerializer` with the five
//!   rules as CEL domain rules of the registered schema (its own mock registry keeps rule sets; the local registry
//!   drops them), against the same serializer without rules: the difference is what its rules cost.
//!
//! ```text
//! cargo run --release -p typed-kafka-benches --features rules-bench --bin rules [rounds]
//! ```

use std::hint::black_box;

use typed_kafka::avro::registered_rules::RegisteredRules;
use typed_kafka::{AvroType, KafkaRecord};
use typed_kafka_benches::{RuledOrder, sample_order};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// typed-kafka's CPU time per record checking the order's rules, over `n` records.
fn ours(order: &RuledOrder, n: u32) -> f64 {
    let start = thread_cpu_seconds();
    for _ in 0..n {
        let mut broken = Vec::new();
        black_box(order).rule_violations(&mut broken);
        assert!(broken.is_empty());
    }
    (thread_cpu_seconds() - start) / f64::from(n)
}

/// CPU time per record of the same rules read from the schema and interpreted, as the rules a registered schema
/// carries (and the type does not) are run: over the encoded body.
fn interpreted(rules: &RegisteredRules, body: &[u8], n: u32) -> f64 {
    let start = thread_cpu_seconds();
    for _ in 0..n {
        let mut broken = Vec::new();
        rules.violations(black_box(body), &mut broken).expect("the body reads");
        assert!(broken.is_empty());
    }
    (thread_cpu_seconds() - start) / f64::from(n)
}

/// This thread's CPU time in seconds.
fn thread_cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    stat.split_whitespace().next().and_then(|ns| ns.parse::<f64>().ok()).unwrap_or(0.0) / 1e9
}

/// Python's CPU time per record for the same rules on the same record.
fn python(python: &std::path::Path, schema: &str, body: &[u8], n: u32) -> Result<f64> {
    let script = typed_kafka_stack::workspace_root().join("tests/python/rules_timing.py");
    let hex: String = body.iter().map(|b| format!("{b:02x}")).collect();
    let request = serde_json::json!({"schema": schema, "value": hex, "records": n});
    let out = typed_kafka_stack::run_python(python, &script, request.to_string().as_bytes())?;
    let answer: serde_json::Value = serde_json::from_slice(&out)?;
    answer["seconds_per_record"].as_f64().ok_or_else(|| "no timing from python".into())
}

/// Confluent's Rust serializer of the order with the same five rules as CEL domain rules (`message` is the record),
/// and without them: CPU time per record of each, over `n` records.
fn confluent_rust(n: u32) -> Result<(f64, f64)> {
    use schema_registry_client::rest::client_config::ClientConfig;
    use schema_registry_client::rest::mock_schema_registry_client::MockSchemaRegistryClient;
    use schema_registry_client::rest::models::{Kind, Mode, Rule, RuleSet, Schema};
    use schema_registry_client::rest::schema_registry_client::Client as _;
    use schema_registry_client::rules::cel::cel_executor::CelExecutor;
    use schema_registry_client::serdes::avro::AvroSerializer;
    use schema_registry_client::serdes::config::{SchemaSelector, SerializerConfig};
    use schema_registry_client::serdes::rule_registry::RuleRegistry;
    use schema_registry_client::serdes::serde::{SerdeFormat, SerdeType, SerializationContext};

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let client = MockSchemaRegistryClient::new(ClientConfig::new(vec!["mock://".to_string()]));
    let exprs = [
        ("customer_id_min", "message.customer_id >= 1"),
        ("currency_one_of", "message.currency in ['EUR', 'USD', 'GBP', 'CHF']"),
        ("items_len", "size(message.items) >= 1 && size(message.items) <= 100"),
        ("warehouse_pattern", "message.warehouse.matches('^[A-Z]{3}-[0-9]+$')"),
        ("priority_or_gift", "message.priority <= 9 || message.gift"),
    ];
    let rules: Vec<Rule> = exprs
        .iter()
        .map(|(name, expr)| Rule {
            name: name.to_string(),
            doc: None,
            kind: Some(Kind::Condition),
            mode: Some(Mode::Write),
            r#type: "CEL".to_string(),
            tags: None,
            params: None,
            expr: Some(expr.to_string()),
            on_success: None,
            on_failure: None,
            disabled: None,
        })
        .collect();
    let text = typed_kafka_benches::Order::schema()?.json().to_string();
    let schema = |rules: Option<Vec<Rule>>| Schema {
        schema_type: Some("AVRO".to_string()),
        references: None,
        metadata: None,
        rule_set: rules.map(|r| {
            Box::new(RuleSet { migration_rules: None, domain_rules: Some(r), encoding_rules: None, enable_at: None })
        }),
        schema: text.clone(),
    };
    rt.block_on(client.register_schema("ruled-value", &schema(Some(rules)), false))?;
    rt.block_on(client.register_schema("plain-value", &schema(None), false))?;
    let registry = RuleRegistry::new();
    registry.register_executor(CelExecutor::new());
    let config = || SerializerConfig::new(false, Some(SchemaSelector::LatestVersion), false, false, Default::default());
    let ser = AvroSerializer::new(&client, None, Some(registry), config())?;
    let mirror = typed_kafka_benches::serde_mirror::Order::from(&sample_order());
    let value = typed_kafka_benches::serde_mirror::apache_avro_021_value(&mirror)?;
    let time = |topic: &str| -> Result<f64> {
        let ctx = SerializationContext {
            topic: topic.to_string(),
            serde_type: SerdeType::Value,
            serde_format: SerdeFormat::Avro,
            headers: None,
        };
        // The first call resolves and caches the subject's latest version (and compiles the rules).
        rt.block_on(ser.serialize(&ctx, value.clone()))?;
        let start = thread_cpu_seconds();
        for _ in 0..n {
            black_box(rt.block_on(ser.serialize(&ctx, black_box(value.clone())))?);
        }
        Ok((thread_cpu_seconds() - start) / f64::from(n))
    };
    // The rules run: a record breaking one is refused under the subject with rules, written under the other.
    let mut bad = mirror.clone();
    bad.currency = "eur".into();
    let bad = typed_kafka_benches::serde_mirror::apache_avro_021_value(&bad)?;
    let ctx = |topic: &str| SerializationContext {
        topic: topic.to_string(),
        serde_type: SerdeType::Value,
        serde_format: SerdeFormat::Avro,
        headers: None,
    };
    if rt.block_on(ser.serialize(&ctx("ruled"), bad.clone())).is_ok() {
        return Err("Confluent's serializer let a record breaking its rules through".into());
    }
    rt.block_on(ser.serialize(&ctx("plain"), bad))?;
    let ruled = time("ruled")?;
    let plain = time("plain")?;
    Ok((ruled, plain))
}

fn main() -> Result<()> {
    let rounds: usize = std::env::args().nth(1).map(|a| a.parse()).transpose()?.unwrap_or(3);
    let requirements = typed_kafka_stack::workspace_root().join("tests/python/requirements.txt");
    let py = typed_kafka_stack::python_env(&requirements, "confluent-kafka-rules")?;
    let order = RuledOrder::from(&sample_order());
    let schema = RuledOrder::schema()?.json().to_string();
    let mut body = Vec::new();
    order.encode_body(&mut body)?;
    println!("rules bench: the benchmark Order with 5 rules, {rounds} rounds, CPU time per record");
    let info = RuledOrder::schema()?;
    let registered = RegisteredRules::compile(info.schema(), info.json(), None)
        .map_err(|e| format!("{e:?}"))?
        .ok_or("the schema carries rules")?;
    let (mut python_ratios, mut confluent_ratios, mut interpreted_ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let rust = ours(&order, 2_000_000);
        let interp = interpreted(&registered, &body, 200_000);
        let p = python(&py, &schema, &body, 2_000)?;
        let (ruled, plain) = confluent_rust(5_000)?;
        let c = (ruled - plain).max(0.0);
        println!(
            "round {round}: typed-kafka {:.1} ns (interpreted from the schema {:.0} ns, {:.0}x); Python {:.1} µs \
             ({:.0}x); Confluent's Rust client {:.2} µs with the rules, {:.2} µs without: the rules {:.2} µs ({:.0}x)",
            rust * 1e9,
            interp * 1e9,
            interp / rust,
            p * 1e6,
            p / rust,
            ruled * 1e6,
            plain * 1e6,
            c * 1e6,
            c / rust
        );
        python_ratios.push(p / rust);
        confluent_ratios.push(c / rust);
        interpreted_ratios.push(c / interp);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!("median: Python / typed-kafka = {:.0}x  (target >= 20)", median(python_ratios));
    println!("median: Confluent's Rust client / typed-kafka = {:.0}x  (target >= 20)", median(confluent_ratios));
    println!(
        "median: Confluent's Rust client / typed-kafka interpreting a registered schema's rules = {:.0}x",
        median(interpreted_ratios)
    );
    Ok(())
}
