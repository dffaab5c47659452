//! A broker quota throttles the producer: with `producer_byte_rate` on its client ID (set through Kafka's Admin API,
//! as `kafka-configs` does), a stream of 50 MB shows the throttle time in `metrics()`, settles near the quota, loses
//! nothing, and no send waits longer than `max.block.ms` for the byte budget.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use typed_kafka::config::ProducerConfig;
use typed_kafka::{KafkaRecord, Producer, Record, SchemaRegistryClient};
use typed_kafka_tests::{create_topic, run_java_interop, stack, unique};

/// A record of opaque bytes.
#[derive(KafkaRecord, Debug, Clone)]
#[kafka(namespace = "it.throttle")]
struct Blob {
    #[kafka(bytes)]
    data: Vec<u8>,
}

typed_kafka::topic! { BLOBS: "it-blobs", value: Blob; }

fn quota(client_id: &str, rate: &str) {
    let args = [stack().bootstrap_servers.as_ref(), client_id.as_ref(), rate.as_ref()];
    let out = run_java_interop("ClientQuota", &args).unwrap();
    assert_eq!(out.trim(), "ok");
}

#[tokio::test]
async fn a_producer_quota_throttles_and_shows_in_the_metrics() {
    const RATE: f64 = 5.0 * 1024.0 * 1024.0;
    const RECORDS: usize = 5_000;
    const SIZE: usize = 10 * 1024;
    let client_id = unique("it-throttled");
    quota(&client_id, &RATE.to_string());
    let name = unique("it-throttle");
    create_topic(&stack().bootstrap_servers, &name, 1, 1).await;
    let max_block = Duration::from_secs(30);
    let config = ProducerConfig::builder(stack().bootstrap_servers.as_str())
        .set("client.id", &client_id)
        .set_librdkafka("statistics.interval.ms", "500")
        .set("buffer.memory", (8 * 1024 * 1024).to_string())
        .set("max.block.ms", max_block.as_millis().to_string())
        .build()
        .unwrap();
    let registry = SchemaRegistryClient::builder([stack().registry_url.as_str()]).build().unwrap();
    let p = Producer::builder(config).registry(registry).build().unwrap();
    let blobs = p.topic(BLOBS).name(&name).bind().await.unwrap();

    let started = Instant::now();
    let (mut longest_send, mut throttle_max) = (Duration::ZERO, 0i64);
    for i in 0..RECORDS {
        let sent = Instant::now();
        blobs.send_and_forget(Record::new(Blob { data: vec![i as u8; SIZE] })).await.unwrap();
        longest_send = longest_send.max(sent.elapsed());
        if i % 100 == 0 {
            throttle_max = throttle_max.max(p.metrics().throttle_time_max_ms.unwrap_or(0));
        }
    }
    assert_eq!(p.flush(Duration::from_secs(120)).await, 0, "everything delivered");
    let elapsed = started.elapsed().as_secs_f64();
    // The statistics of the last window come every 500 ms.
    let deadline = Instant::now() + Duration::from_secs(3);
    while throttle_max == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        throttle_max = throttle_max.max(p.metrics().throttle_time_max_ms.unwrap_or(0));
    }
    let m = p.metrics();
    quota(&client_id, "remove");

    let rate = (RECORDS * SIZE) as f64 / elapsed;
    println!(
        "50 MB in {elapsed:.1} s: {:.2} MB/s against a quota of {:.2} MB/s; throttle max {throttle_max} ms; longest \
         send {longest_send:?}",
        rate / 1e6,
        RATE / 1e6
    );
    assert!(throttle_max > 0, "the metrics show the throttling: {m:?}");
    assert!(rate < RATE * 1.5 && rate > RATE * 0.5, "{rate:.0} B/s is held near the quota of {RATE:.0} B/s");
    assert_eq!((m.records_sent, m.records_failed, m.refused.buffer_full), (RECORDS as u64, 0, 0), "nothing lost");
    assert!(longest_send < max_block, "a send waits for the budget within max.block.ms ({longest_send:?})");
}
