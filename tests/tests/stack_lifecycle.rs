//! The stack's own behaviour, on a private state directory and ports so the shared stack is not disturbed:
//! `up` is idempotent, `down` stops exactly what was recorded, stale pid files are ignored, a port held by a
//! stranger is refused, a server that dies while starting is reported with its log, and one whose port was taken
//! as it started is started again.

use std::path::PathBuf;

use typed_kafka_stack::{Service, StackError};
use typed_kafka_tests::PrivateStack;

fn private_stack(name: &str, registry_port: u16, kafka_port: u16) -> PrivateStack {
    PrivateStack::new(&format!("lifecycle-{name}"), |c| {
        c.registry_port = registry_port;
        c.kafka_port = kafka_port;
        c.cluster_port = kafka_port + 10;
    })
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s[s.rfind(')').expect("stat") + 2..].chars().next();
            !matches!(state, Some('Z') | Some('X'))
        })
        .unwrap_or(false)
}

#[test]
fn up_is_idempotent_and_down_stops_exactly_what_it_started() {
    let stack = private_stack("idem", 28281, 28292);

    let first = stack.up(&[Service::Registry]).expect("first up");
    assert_eq!(first.started, vec![Service::Registry]);
    assert!(first.reused.is_empty());
    assert_eq!(first.endpoints.registry_url, "http://127.0.0.1:28281/apis/ccompat/v7");
    let pid = stack
        .status()
        .expect("status")
        .into_iter()
        .find(|p| p.service == Service::Registry)
        .and_then(|p| p.pid)
        .expect("registry pid recorded");
    assert!(alive(pid));

    let second = stack.up(&[Service::Registry]).expect("second up");
    assert!(second.started.is_empty(), "a running registry is reused");
    assert_eq!(second.reused, vec![Service::Registry]);

    // Kafka was never started here: down touches only the registry.
    let stopped = stack.down(&[Service::Registry, Service::Kafka]).expect("down");
    assert_eq!(stopped, vec![Service::Registry]);
    assert!(!alive(pid), "registry process {pid} still alive after down");
    assert!(stack.down(&Service::ALL).expect("second down").is_empty());
}

#[test]
fn a_stale_pid_file_is_not_mistaken_for_a_running_server() {
    let stack = private_stack("stale", 28381, 28392);
    let pid_dir = stack.config().dir.join("kafka");
    std::fs::create_dir_all(&pid_dir).expect("dir");
    // Our own pid, but with a start time that is not ours: a reused pid, not the recorded process.
    let pid_file: PathBuf = pid_dir.join("pid");
    std::fs::write(&pid_file, format!("{} 1\n", std::process::id())).expect("pid file");

    let status = stack.status().expect("status");
    let kafka = status.iter().find(|p| p.service == Service::Kafka).expect("kafka row");
    assert_eq!(kafka.pid, None);
    assert!(!pid_file.exists(), "a stale pid file is removed");
    // And down does not signal the process that now owns the pid (this test process).
    assert!(stack.down(&[Service::Kafka]).expect("down").is_empty());
}

#[test]
fn a_port_held_by_another_process_is_refused_with_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let stack = private_stack("port", port, 28492);
    match stack.up(&[Service::Registry]) {
        Err(StackError::PortInUse { port: p, service }) => {
            assert_eq!(p, port);
            assert_eq!(service, "registry");
        }
        other => panic!("expected PortInUse, got {other:?}"),
    }
}

#[test]
fn a_server_that_dies_while_starting_is_reported_with_its_log() {
    // `echo` prints its arguments (the JVM options) to the log and exits: a server that died at start.
    let stack = PrivateStack::new("lifecycle-dies", |c| {
        c.registry_port = 28581;
        c.kafka_port = 28592;
        c.java = PathBuf::from("echo");
    });
    match stack.up(&[Service::Registry]) {
        Err(StackError::Exited { service, tail, .. }) => {
            assert_eq!(service, "registry");
            assert!(tail.contains("-Dquarkus.http.port=28581"), "log tail: {tail}");
        }
        other => panic!("expected Exited, got {other:?}"),
    }
}

/// The default ports lie in Linux's ephemeral range, so an outgoing connection (another stack's readiness check)
/// may hold one for a moment: a broker that starts then exits with "Address already in use", and `up` starts it
/// again once the port is free.
#[test]
fn a_broker_whose_port_was_taken_as_it_started_is_started_again() {
    let stack = private_stack("rebind", 28181, 28192);
    // Bound without SO_REUSEADDR and not listening, as a connection's socket: `up` finds nothing accepting on the
    // port, and the broker cannot bind it.
    let holder = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    holder.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 28192)).into()).expect("bind the broker's port");
    let log = stack.config().dir.join("kafka").join("server.log");
    let release = std::thread::spawn(move || {
        // The port is given back once the first broker has failed on it, so that the retry is what starts it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
        while std::time::Instant::now() < deadline {
            if std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Address already in use")) {
                drop(holder);
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        false
    });
    let report = stack.up(&[Service::Kafka]).expect("up starts the broker again once its port is free");
    assert!(release.join().expect("release thread"), "the first broker did not fail to bind");
    assert_eq!(report.started, vec![Service::Kafka]);
    assert_eq!(report.endpoints.bootstrap_servers, "127.0.0.1:28192");
    assert!(stack.down(&[Service::Kafka]).expect("down").contains(&Service::Kafka));
}

/// Version 1 of the value the persistence test writes.
#[derive(typed_kafka::KafkaRecord, Debug, Clone, PartialEq)]
#[kafka(namespace = "lifecycle")]
struct Parcel {
    id: i64,
    label: String,
}

typed_kafka::topic! { PARCELS: "lifecycle-parcels", key: String, value: Parcel; }

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_ids_survive_a_restart_as_the_records_do() {
    use std::time::Duration;
    use typed_kafka::config::ProducerConfig;
    use typed_kafka::consumer::{StartAt, TypedConsumer};
    use typed_kafka::registry::client::{Normalization, UnregisteredSchema};
    use typed_kafka::{Producer, Record, SchemaRegistryClient};

    let stack = private_stack("persist", 28481, 28492);
    let services = [Service::Kafka, Service::Registry];
    let endpoints = stack.up(&services).expect("up").endpoints;
    let registry = || SchemaRegistryClient::builder([endpoints.registry_url.as_str()]).build().expect("client");
    let topic = typed_kafka_tests::unique("lifecycle-parcels");
    typed_kafka_tests::create_topic(&endpoints.bootstrap_servers, &topic, 1, 1).await;

    // Records written with the type's schema, registered by the producer.
    let written: Vec<Parcel> = (0..5).map(|i| Parcel { id: i, label: format!("parcel {i}") }).collect();
    {
        let config = ProducerConfig::builder(endpoints.bootstrap_servers.as_str()).build().expect("config");
        let producer = Producer::builder(config).registry(registry()).build().expect("producer");
        let parcels = producer.topic(PARCELS).name(&topic).bind().await.expect("bind");
        for p in &written {
            parcels.send(Record::new(p.clone()).key(p.id.to_string())).await.expect("delivered");
        }
        producer.close(Duration::from_secs(10)).await;
    }
    let first_id = registry().latest_version_cached(&format!("{topic}-value")).await.expect("registered").id;

    // Both servers stop and start again; another subject registers a schema: it must not take the first one's ID.
    stack.down(&services).expect("down");
    let endpoints = stack.up(&services).expect("up again").endpoints;
    let registry = SchemaRegistryClient::builder([endpoints.registry_url.as_str()]).build().expect("client");
    let other = UnregisteredSchema::avro(
        r#"{"type":"record","name":"Intruder","fields":[{"name":"x","type":"double"},{"name":"y","type":"double"}]}"#,
    );
    let other_id = registry.register("lifecycle-other-value", &other, Normalization::AsGiven).await.expect("register");
    assert_ne!(other_id, first_id, "the restarted registry handed out an ID already in use");

    // Every record reads back with the schema it was written with.
    let consumer = TypedConsumer::<PARCELS, Parcel>::builder(endpoints.bootstrap_servers.as_str(), registry)
        .name(&topic)
        .build()
        .expect("consumer");
    consumer.assign_all(StartAt::Beginning).await.expect("assigned");
    let mut read = Vec::new();
    while read.len() < written.len() {
        let record = consumer.poll(Duration::from_secs(60)).await.expect("a record in time").expect("decodes");
        read.push(record.value.expect("a value"));
    }
    assert_eq!(read, written);

    // Cleaning the registry cleans the brokers' data with it.
    assert_eq!(
        typed_kafka_stack::Stack::cleaned_together(&[Service::Registry]),
        [Service::Registry, Service::Kafka, Service::Cluster]
    );
}
