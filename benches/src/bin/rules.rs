//! Data-contract rules: typed-kafka's generated Rust against Confluent's Python client (confluent-kafka 2.16.1,
//! `validate_message` with its CEL validator over cel-python) validating the same record (the benchmark `Order`
//! with five rules) with the same rules, side by side in one run: CPU time per record of each, and their ratio.
//! Python's environment is made by the stack in its cache on first use (`tests/python/requirements.txt`).
//!
//! ```text
//! cargo run --release -p typed-kafka-benches --features rules-bench --bin rules [rounds]
//! ```

use std::hint::black_box;
use std::io::Write as _;
use std::process::{Command, Stdio};

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
    let mut child =
        Command::new(python).arg(script).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    child.stdin.take().ok_or("no stdin")?.write_all(request.to_string().as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        return Err(format!("python: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    answer["seconds_per_record"].as_f64().ok_or_else(|| "no timing from python".into())
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
    let mut ratios = Vec::new();
    for round in 0..rounds {
        let rust = ours(&order, 2_000_000);
        let p = python(&py, &schema, &body, 2_000)?;
        println!("round {round}: typed-kafka {:.1} ns, Python {:.1} µs, ratio {:.0}x", rust * 1e9, p * 1e6, p / rust);
        ratios.push(p / rust);
    }
    ratios.sort_by(f64::total_cmp);
    println!("median: Python / typed-kafka = {:.0}x  (target >= 20)", ratios[ratios.len() / 2]);
    Ok(())
}
