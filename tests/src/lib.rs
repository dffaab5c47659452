//! Shared helpers for typed-kafka's integration tests: the running stack (started once per test run and shared by
//! every test binary, see `typed_kafka_stack::shared`), unique names so tests run in parallel, and topic creation.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

pub use typed_kafka_stack::Endpoints;

/// The endpoints of the shared stack; the first call in a process starts (or finds) it. A stack that cannot start
/// fails the test with the stack's error, which includes the tail of the failing server's log.
pub fn stack() -> &'static Endpoints {
    static ENDPOINTS: OnceLock<Endpoints> = OnceLock::new();
    ENDPOINTS.get_or_init(|| match typed_kafka_stack::shared() {
        Ok(e) => e,
        Err(e) => panic!("the local Kafka + registry stack is not available: {e}"),
    })
}

/// Bootstrap servers of the three-broker cluster (started on first use).
pub fn cluster() -> &'static str {
    static BOOTSTRAP: OnceLock<String> = OnceLock::new();
    BOOTSTRAP.get_or_init(|| match typed_kafka_stack::shared_cluster() {
        Ok(b) => b,
        Err(e) => panic!("the local three-broker cluster is not available: {e}"),
    })
}

/// A name no other test (in this or another process, in this or an earlier run) uses: `<prefix>-<pid>-<n>-<time>`.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() % 100_000_000).unwrap_or(0);
    format!("{prefix}-{}-{n}-{t}", std::process::id())
}

/// Creates a topic and waits for the broker to confirm it.
pub async fn create_topic(bootstrap: &str, name: &str, partitions: i32, replication: i32) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("admin client");
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(replication));
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics([&topic], &opts).await.expect("create_topics request");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
    }
}

/// An HTTP client for talking to the registry directly.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client")
}

/// The Confluent API's content type.
pub const SCHEMA_REGISTRY_JSON: &str = "application/vnd.schemaregistry.v1+json";
