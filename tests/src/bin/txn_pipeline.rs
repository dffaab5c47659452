//! The exactly-once example's job (`typed_kafka_examples::pipeline::run`) as a process of its own, for the test
//! that kills it with SIGKILL mid-stream: `txn_pipeline <bootstrap> <registry> <input> <output> <group>
//! <transactional.id>`. Prints its report when no order arrived for 10 s.

use std::time::Duration;

use typed_kafka_examples::pipeline::{Job, run};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [bootstrap_servers, registry_url, input, output, group, transactional_id] = &args[..] else {
        return Err("usage: txn_pipeline <bootstrap> <registry> <input> <output> <group> <transactional.id>".into());
    };
    let job = Job {
        bootstrap_servers: bootstrap_servers.clone(),
        registry_url: registry_url.clone(),
        input: input.clone(),
        output: output.clone(),
        group: group.clone(),
        transactional_id: transactional_id.clone(),
        batch: 1_000,
        idle: Duration::from_secs(10),
    };
    let report = run(&job).await?;
    println!("{} {} {}", report.committed, report.aborted, report.orders);
    Ok(())
}
