//! Shared helpers for typed-kafka's integration tests: the running stack (started once per test run and shared by
//! every test binary, see `typed_kafka_stack::shared`), unique names so tests run in parallel, and topic creation.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;

pub use typed_kafka_stack::Endpoints;

/// Runs the Java interop program `tests/java-interop/<program>.java` (Apache Avro for Java on its classpath,
/// resolved by Maven on first use) with `args`, returning its standard output; a failure is the program's stderr.
pub fn run_java_interop(program: &str, args: &[&std::ffi::OsStr]) -> Result<String, String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("java-interop");
    let cp = typed_kafka_stack::maven_classpath(&dir.join("pom.xml"), "interop").map_err(|e| e.to_string())?;
    let java = typed_kafka_stack::java().map_err(|e| e.to_string())?;
    let out = std::process::Command::new(java)
        .arg("-cp")
        .arg(cp)
        .arg(dir.join(format!("{program}.java")))
        .args(args)
        .output()
        .map_err(|e| format!("running java: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{program} failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr)))
    }
}

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

/// A client of the shared stack's registry that retries briefly (a few attempts, 20 to 200 ms apart).
pub fn registry_client() -> typed_kafka::SchemaRegistryClient {
    typed_kafka::SchemaRegistryClient::builder([stack().registry_url.clone()])
        .max_retries(2)
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .build()
        .expect("registry client")
}

/// An HTTP client for talking to the registry directly.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("http client")
}

/// The Confluent API's content type.
pub const SCHEMA_REGISTRY_JSON: &str = "application/vnd.schemaregistry.v1+json";

/// A stack on a private state directory and ports, for tests that start, stop or break servers without disturbing
/// the shared stack. Dropping it (also when the test panics) stops its servers and removes its directory.
pub struct PrivateStack {
    stack: typed_kafka_stack::Stack,
}

impl PrivateStack {
    /// A private stack configured by `configure` from the shared configuration (whose provisioned servers it reuses),
    /// with its own state directory named after `name`.
    pub fn new(name: &str, configure: impl FnOnce(&mut typed_kafka_stack::StackConfig)) -> PrivateStack {
        let mut config = typed_kafka_stack::StackConfig::from_env().expect("stack config");
        config.dir = std::env::temp_dir().join(format!("typed-kafka-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&config.dir);
        configure(&mut config);
        PrivateStack { stack: typed_kafka_stack::Stack::new(config) }
    }
}

impl std::ops::Deref for PrivateStack {
    type Target = typed_kafka_stack::Stack;
    fn deref(&self) -> &Self::Target {
        &self.stack
    }
}

impl Drop for PrivateStack {
    fn drop(&mut self) {
        let _ = self.stack.down(&typed_kafka_stack::Service::ALL);
        let _ = std::fs::remove_dir_all(&self.stack.config().dir);
    }
}

/// Reads every record of `topic` from the beginning of each partition until `count` arrived or `timeout` passed.
pub fn read_back(bootstrap: &str, topic: &str, count: usize, timeout: Duration) -> Vec<rdkafka::message::OwnedMessage> {
    read(bootstrap, topic, count, timeout, false)
}

fn read(
    bootstrap: &str,
    topic: &str,
    count: usize,
    timeout: Duration,
    then_quiet: bool,
) -> Vec<rdkafka::message::OwnedMessage> {
    use rdkafka::Message;
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique("read-back"))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    let partitions = md.topics().iter().find(|t| t.name() == topic).map_or(0, |t| t.partitions().len());
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..partitions as i32 {
        tpl.add_partition_offset(topic, p, rdkafka::Offset::Beginning).expect("offset");
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = std::time::Instant::now() + timeout;
    let mut out = Vec::new();
    let mut quiet_since = std::time::Instant::now();
    while std::time::Instant::now() < deadline {
        if out.len() >= count && (!then_quiet || quiet_since.elapsed() >= Duration::from_secs(2)) {
            break;
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                out.push(m.detach());
                quiet_since = std::time::Instant::now();
            }
            // librdkafka reports connection trouble through the consumer too (all brokers down while a broker just
            // resumed from SIGSTOP answers late) and goes on reconnecting: a record that never comes shows in the
            // caller's count.
            Some(Err(e)) => eprintln!("read_back {topic}: {e}"),
            None => {}
        }
    }
    out.sort_by_key(|m| (m.partition(), m.offset()));
    out
}

/// Reads every record of `topic` (read_committed, librdkafka's default) until `count` arrived and then none for
/// 2 s (or `timeout` passed): a record beyond the `count` expected is read too.
pub fn read_back_all(
    bootstrap: &str,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> Vec<rdkafka::message::OwnedMessage> {
    read(bootstrap, topic, count, timeout, true)
}

/// Creates a topic with topic-level settings.
pub async fn create_topic_with(bootstrap: &str, name: &str, partitions: i32, settings: &[(&str, &str)]) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("admin client");
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in settings {
        topic = topic.set(k, v);
    }
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin.create_topics([&topic], &opts).await.expect("create_topics request");
    for r in results {
        r.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
    }
}

/// A throwaway certificate authority and a server certificate it signed for `127.0.0.1`, made with the machine's
/// `openssl` (the CI script installs it) in a directory removed on drop.
pub struct TestCa {
    /// The directory holding the files.
    pub dir: std::path::PathBuf,
    /// The CA's certificate (PEM): what clients trust.
    pub ca_pem: std::path::PathBuf,
    /// The server certificate (PEM).
    pub cert_pem: std::path::PathBuf,
    /// The server certificate's private key (PEM, PKCS#8, unencrypted).
    pub key_pem: std::path::PathBuf,
}

impl TestCa {
    /// Makes a CA and a server certificate under a fresh directory named after `name`.
    pub fn new(name: &str) -> TestCa {
        let dir = std::env::temp_dir().join(format!("typed-kafka-ca-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("creating the CA directory");
        let (ca_pem, cert_pem, key_pem) = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
        let (ca_key, csr, ext) = (dir.join("ca.key"), dir.join("server.csr"), dir.join("server.ext"));
        std::fs::write(&ext, "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n").expect("writing server.ext");
        let openssl = |args: &[&std::ffi::OsStr]| {
            let out = std::process::Command::new("openssl").args(args).output().expect("running openssl");
            assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let s = std::ffi::OsStr::new;
        let subject = format!("/CN=typed-kafka test CA {name}");
        openssl(&[
            s("req"),
            s("-x509"),
            s("-newkey"),
            s("rsa:2048"),
            s("-nodes"),
            s("-days"),
            s("1"),
            s("-subj"),
            s(&subject),
            s("-keyout"),
            ca_key.as_os_str(),
            s("-out"),
            ca_pem.as_os_str(),
        ]);
        openssl(&[
            s("req"),
            s("-newkey"),
            s("rsa:2048"),
            s("-nodes"),
            s("-subj"),
            s("/CN=127.0.0.1"),
            s("-keyout"),
            key_pem.as_os_str(),
            s("-out"),
            csr.as_os_str(),
        ]);
        openssl(&[
            s("x509"),
            s("-req"),
            s("-in"),
            csr.as_os_str(),
            s("-CA"),
            ca_pem.as_os_str(),
            s("-CAkey"),
            ca_key.as_os_str(),
            s("-CAcreateserial"),
            s("-days"),
            s("1"),
            s("-extfile"),
            ext.as_os_str(),
            s("-out"),
            cert_pem.as_os_str(),
        ]);
        TestCa { dir, ca_pem, cert_pem, key_pem }
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The offsets `group` committed in partitions `0..partitions` of `topic` (-1 where none), without waiting for a
/// transaction with offsets of the group still open to end (a `read_committed` consumer asks for stable offsets,
/// which the broker holds back until then: a killed producer's transaction stays open until it times out or the
/// next instance fences it).
pub fn committed_offsets(bootstrap: &str, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("isolation.level", "read_uncommitted")
        .create()
        .expect("consumer");
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition(topic, p);
    }
    let committed = consumer.committed_offsets(tpl, Duration::from_secs(30)).expect("committed offsets");
    (0..partitions)
        .map(|p| match committed.find_partition(topic, p).map(|e| e.offset()) {
            Some(rdkafka::Offset::Offset(o)) => o,
            _ => -1,
        })
        .collect()
}

/// The end (high watermark) of partitions `0..partitions` of `topic`.
pub fn end_offsets(bootstrap: &str, topic: &str, partitions: i32) -> Vec<i64> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique("watermarks"))
        .create()
        .expect("consumer");
    (0..partitions)
        .map(|p| consumer.fetch_watermarks(topic, p, Duration::from_secs(30)).expect("watermarks").1)
        .collect()
}
