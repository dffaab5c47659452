//! The servers: how each is configured, launched, checked for readiness and stopped.

use std::fmt::Write as _;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use crate::process::{self, Recorded};
use crate::provision;
use crate::{APICURIO_CCOMPAT_PATH, Service, StackConfig, StackError};

/// One server process of a service.
#[derive(Debug, Clone)]
struct Proc {
    name: String,
    dir: PathBuf,
    /// The ports it listens on; the first is the one clients use.
    ports: Vec<u16>,
    /// KRaft node id, for brokers.
    node_id: Option<u16>,
}

impl Proc {
    fn pid_file(&self) -> PathBuf {
        self.dir.join("pid")
    }
    fn log(&self) -> PathBuf {
        self.dir.join("server.log")
    }
}

/// What `status` reports about one process.
#[derive(Debug, Clone)]
pub struct ProcessStatus {
    /// The service it belongs to.
    pub service: Service,
    /// The process name (`kafka`, `cluster-node-2`, `registry`).
    pub name: String,
    /// The recorded pid, when the process is alive.
    pub pid: Option<u32>,
    /// Resident memory in KiB, when alive.
    pub rss_kib: Option<u64>,
    /// The ports it listens on (the first is the client port).
    pub ports: Vec<u16>,
    /// Its log file.
    pub log: PathBuf,
}

fn procs(cfg: &StackConfig, service: Service) -> Vec<Proc> {
    let base = cfg.dir.join(service.name());
    match service {
        Service::Registry => {
            let mut ports = vec![cfg.registry_port];
            ports.extend(cfg.registry_tls.as_ref().map(|t| t.port));
            vec![Proc { name: "registry".into(), dir: base, ports, node_id: None }]
        }
        Service::Kafka => {
            let mut ports = vec![cfg.kafka_port, cfg.kafka_port + 1];
            ports.extend(cfg.kafka_sasl.as_ref().map(|s| s.port));
            vec![Proc { name: "kafka".into(), dir: base, ports, node_id: Some(1) }]
        }
        Service::Cluster => (1..=3)
            .map(|n| {
                let port = cfg.cluster_node_port(n);
                Proc {
                    name: format!("cluster-node-{n}"),
                    dir: base.join(format!("node-{n}")),
                    ports: vec![port, port + 1],
                    node_id: Some(n),
                }
            })
            .collect(),
    }
}

/// Whether every process of the service is alive.
pub(crate) fn is_running(cfg: &StackConfig, service: Service) -> Result<bool, StackError> {
    for p in procs(cfg, service) {
        if process::live_process(&p.pid_file())?.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Processes launched by one `up`, still to be awaited.
pub(crate) struct Launch {
    service: Service,
    procs: Vec<(Proc, Recorded)>,
    /// Whether this launch started the registry (its global compatibility is then set).
    fresh_registry: bool,
}

/// Starts the processes of `service` that are not alive (for the cluster, possibly only some nodes).
pub(crate) fn launch(cfg: &StackConfig, service: Service) -> Result<Launch, StackError> {
    let all = procs(cfg, service);
    let mut dead = Vec::new();
    for p in &all {
        fs::create_dir_all(&p.dir).map_err(StackError::io("creating the service directory", &p.dir))?;
        if process::live_process(&p.pid_file())?.is_none() {
            for &port in &p.ports {
                if process::port_open(port) {
                    return Err(StackError::PortInUse { port, service: p.name.clone() });
                }
            }
            dead.push(p.clone());
        }
    }
    let mut launched = Vec::new();
    match service {
        Service::Registry => {
            let jar = provision::apicurio_runner(cfg)?;
            for p in dead {
                let rec = process::spawn(registry_command(cfg, &jar, &p), &p.log(), &p.pid_file())?;
                launched.push((p, rec));
            }
        }
        Service::Kafka | Service::Cluster => {
            let classpath = provision::kafka_classpath(cfg)?;
            let voters = all
                .iter()
                .map(|p| format!("{}@127.0.0.1:{}", p.node_id.unwrap_or(1), p.ports[1]))
                .collect::<Vec<_>>()
                .join(",");
            let cluster_id = cluster_id(&cfg.dir.join(service.name()))?;
            let replicated = service == Service::Cluster;
            let sasl = if replicated { None } else { cfg.kafka_sasl.as_ref() };
            for p in dead {
                let props = broker_properties(&p, &voters, replicated, sasl)?;
                let props_path = p.dir.join("server.properties");
                process::write_if_changed(&props_path, &props)?;
                format_storage(cfg, &classpath, &cluster_id, &p, &props_path, sasl)?;
                let rec =
                    process::spawn(broker_command(cfg, &classpath, replicated, &props_path), &p.log(), &p.pid_file())?;
                launched.push((p, rec));
            }
        }
    }
    Ok(Launch { service, procs: launched, fresh_registry: service == Service::Registry })
}

impl Launch {
    pub(crate) fn service(&self) -> Service {
        self.service
    }
}

/// Waits until every launched process is ready, then applies start-up configuration.
pub(crate) fn await_ready(cfg: &StackConfig, launch: &Launch) -> Result<(), StackError> {
    // Every launched process is watched while any one is awaited: a cluster node waits for its peers, so a peer
    // that exited (say its port was taken) must end the wait at once, not after the timeout.
    let watched: Vec<(&Proc, Recorded)> = launch.procs.iter().map(|(p, rec)| (p, *rec)).collect();
    for (p, _) in &launch.procs {
        wait(cfg, launch.service, p, &watched)?;
    }
    if launch.fresh_registry && !launch.procs.is_empty() {
        set_global_compatibility(cfg)?;
    }
    Ok(())
}

/// Waits until every process of an already running service answers.
pub(crate) fn await_running_ready(cfg: &StackConfig, service: Service) -> Result<(), StackError> {
    for p in procs(cfg, service) {
        let watched: Vec<(&Proc, Recorded)> =
            process::live_process(&p.pid_file())?.map(|rec| (&p, rec)).into_iter().collect();
        wait(cfg, service, &p, &watched)?;
    }
    Ok(())
}

/// Waits until `p` answers, failing as soon as any of the `watched` processes has exited.
fn wait(cfg: &StackConfig, service: Service, p: &Proc, watched: &[(&Proc, Recorded)]) -> Result<(), StackError> {
    let started = Instant::now();
    let mut reason;
    let mut consumer: Option<BaseConsumer> = None;
    loop {
        if let Some((gone, rec)) = watched.iter().find(|(_, rec)| !rec.alive()) {
            return Err(StackError::Exited {
                service: gone.name.clone(),
                pid: rec.pid,
                log: gone.log(),
                tail: process::tail(&gone.log(), 40),
            });
        }
        let check = match service {
            Service::Registry => registry_ready(p.ports[0]),
            Service::Kafka => broker_ready(&mut consumer, p.ports[0], 1),
            Service::Cluster => broker_ready(&mut consumer, p.ports[0], 3),
        };
        match check {
            Ok(()) => {
                tracing::info!(process = %p.name, waited = ?started.elapsed(), "ready");
                return Ok(());
            }
            Err(e) => reason = e,
        }
        if started.elapsed() >= cfg.timeout {
            return Err(StackError::NotReady {
                service: p.name.clone(),
                waited: started.elapsed(),
                reason,
                log: p.log(),
                tail: process::tail(&p.log(), 40),
            });
        }
        thread::sleep(Duration::from_millis(250));
    }
}

/// Ready when a metadata request through this node lists `expected` brokers.
fn broker_ready(consumer: &mut Option<BaseConsumer>, port: u16, expected: usize) -> Result<(), String> {
    if consumer.is_none() {
        let created: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", format!("127.0.0.1:{port}"))
            .set("socket.connection.setup.timeout.ms", "2000")
            .set("reconnect.backoff.max.ms", "500")
            .create()
            .map_err(|e| format!("creating a metadata client: {e}"))?;
        *consumer = Some(created);
    }
    let Some(c) = consumer.as_ref() else { return Err("no metadata client".into()) };
    let md = c.fetch_metadata(None, Duration::from_secs(2)).map_err(|e| format!("metadata request: {e}"))?;
    if md.brokers().len() >= expected {
        Ok(())
    } else {
        Err(format!("metadata lists {} of {expected} brokers", md.brokers().len()))
    }
}

fn registry_ready(port: u16) -> Result<(), String> {
    let path = format!("{APICURIO_CCOMPAT_PATH}/subjects");
    match crate::http::request(port, "GET", &path, None, Duration::from_secs(2))? {
        (200, _) => Ok(()),
        (status, body) => Err(format!("GET {path} answered {status}: {body}")),
    }
}

fn set_global_compatibility(cfg: &StackConfig) -> Result<(), StackError> {
    let path = format!("{APICURIO_CCOMPAT_PATH}/config");
    let outcome = crate::http::request(
        cfg.registry_port,
        "PUT",
        &path,
        Some(r#"{"compatibility":"BACKWARD"}"#),
        Duration::from_secs(10),
    );
    match outcome {
        Ok((200, _)) => Ok(()),
        Ok((status, body)) => Err(StackError::Command {
            command: format!("PUT {path} {{\"compatibility\":\"BACKWARD\"}}"),
            status: status.to_string(),
            output: body,
        }),
        Err(e) => Err(StackError::Command { command: format!("PUT {path}"), status: "no response".into(), output: e }),
    }
}

/// Stops the service's recorded processes. Returns whether any was alive.
pub(crate) fn stop(cfg: &StackConfig, service: Service) -> Result<bool, StackError> {
    let mut live = Vec::new();
    for p in procs(cfg, service) {
        if let Some(rec) = process::live_process(&p.pid_file())? {
            live.push((p, rec));
        }
    }
    let named: Vec<(String, Recorded)> = live.iter().map(|(p, r)| (p.name.clone(), *r)).collect();
    process::stop_all(&named, Duration::from_secs(30))?;
    for (p, _) in &live {
        let pid_file = p.pid_file();
        fs::remove_file(&pid_file).map_err(StackError::io("removing the pid file", &pid_file))?;
    }
    Ok(!live.is_empty())
}

/// Sends `signal` to the live process named `name` of `service`. A KILL waits until the process is gone and
/// forgets its pid file, so that the next `up` starts it again.
pub(crate) fn signal(cfg: &StackConfig, service: Service, name: &str, signal: crate::Signal) -> Result<(), StackError> {
    let Some(p) = procs(cfg, service).into_iter().find(|p| p.name == name) else {
        return Err(StackError::Stop {
            service: name.to_string(),
            pid: 0,
            reason: format!("{service} has no such process"),
        });
    };
    let Some(rec) = process::live_process(&p.pid_file())? else {
        return Err(StackError::Stop { service: name.to_string(), pid: 0, reason: "not running".into() });
    };
    let sig = match signal {
        crate::Signal::Kill => "KILL",
        crate::Signal::Pause => "STOP",
        crate::Signal::Resume => "CONT",
    };
    process::signal(rec.pid, sig).map_err(|reason| StackError::Stop {
        service: name.to_string(),
        pid: rec.pid,
        reason,
    })?;
    if signal == crate::Signal::Kill {
        let deadline = Instant::now() + Duration::from_secs(10);
        while rec.alive() && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(20));
        }
        if rec.alive() {
            return Err(StackError::Stop {
                service: name.to_string(),
                pid: rec.pid,
                reason: "alive after KILL".into(),
            });
        }
        let pid_file = p.pid_file();
        fs::remove_file(&pid_file).map_err(StackError::io("removing the pid file", &pid_file))?;
    }
    Ok(())
}

/// The state of the service's processes.
pub(crate) fn status(cfg: &StackConfig, service: Service) -> Result<Vec<ProcessStatus>, StackError> {
    let mut out = Vec::new();
    for p in procs(cfg, service) {
        let rec = process::live_process(&p.pid_file())?;
        out.push(ProcessStatus {
            service,
            name: p.name.clone(),
            pid: rec.map(|r| r.pid),
            rss_kib: rec.and_then(|r| r.rss_kib()),
            ports: p.ports.clone(),
            log: p.log(),
        });
    }
    Ok(out)
}

/// A JVM with `initial` and `max` heap, G1 and the flags every server of the stack runs with.
fn java(cfg: &StackConfig, initial: &str, max: &str) -> Command {
    let mut c = Command::new(&cfg.java);
    c.arg(format!("-Xms{initial}"))
        .arg(format!("-Xmx{max}"))
        .arg("-XX:+UseG1GC")
        .arg("-XX:MaxGCPauseMillis=20")
        .arg("-XX:+ExitOnOutOfMemoryError")
        .arg("-Djava.awt.headless=true");
    c
}

/// The registry's database: an H2 file in its state directory, so that schema IDs live as long as the brokers'
/// data does (an in-memory registry starts its IDs again at 1 after a restart, and records already in a topic
/// would then point at whatever schema is registered first).
pub(crate) fn registry_database(dir: &Path) -> PathBuf {
    dir.join("data").join("registry")
}

fn registry_command(cfg: &StackConfig, jar: &Path, p: &Proc) -> Command {
    let mut c = java(cfg, "128m", "384m");
    let db = process::absolute(&registry_database(&p.dir));
    c.arg(format!("-Dapicurio.datasource.url=jdbc:h2:file:{};DB_CLOSE_ON_EXIT=FALSE", db.display()))
        .arg(format!("-Dquarkus.http.port={}", p.ports[0]))
        .arg("-Dquarkus.http.host=127.0.0.1")
        // Confluent's delete endpoints need Apicurio's deletion switches on.
        .arg("-Dapicurio.rest.deletion.group.enabled=true")
        .arg("-Dapicurio.rest.deletion.artifact.enabled=true")
        .arg("-Dapicurio.rest.deletion.artifact-version.enabled=true");
    if let Some(tls) = &cfg.registry_tls {
        c.arg(format!("-Dquarkus.http.ssl-port={}", tls.port))
            .arg(format!("-Dquarkus.http.ssl.certificate.files={}", process::absolute(&tls.cert_pem).display()))
            .arg(format!("-Dquarkus.http.ssl.certificate.key-files={}", process::absolute(&tls.key_pem).display()));
    }
    c.arg("-jar").arg(process::absolute(jar)).current_dir(&p.dir);
    c
}

fn broker_command(cfg: &StackConfig, classpath: &str, replicated: bool, props: &Path) -> Command {
    let mut c = if replicated {
        // Three nodes on one small machine, for the fault tests: a modest heap each.
        java(cfg, "128m", "384m")
    } else {
        // The single broker carries the benchmarks: the heap and G1 settings of Kafka's own `kafka-server-start.sh`.
        // With 512 MiB and a ~170 MiB live set, the ~1 MB produce requests (humongous objects in G1) kept G1's
        // concurrent marking running back to back: a fifth of the broker's CPU under a 1 KiB stream.
        let mut c = java(cfg, "1g", "1g");
        c.args(["-XX:InitiatingHeapOccupancyPercent=35", "-XX:+ExplicitGCInvokesConcurrent"]);
        c
    };
    c.arg(format!("-Dlog4j2.configurationFile=file:{}", process::absolute(&provision::broker_log_config()).display()))
        .arg("-cp")
        .arg(classpath)
        .arg("kafka.Kafka")
        .arg(process::absolute(props));
    c
}

fn broker_properties(
    p: &Proc,
    voters: &str,
    replicated: bool,
    sasl: Option<&crate::KafkaSasl>,
) -> Result<String, StackError> {
    let (port, ctrl) = (p.ports[0], p.ports[1]);
    let data = process::absolute(&p.dir.join("data"));
    let (rf, isr) = if replicated { (3, 2) } else { (1, 1) };
    let mut s = String::new();
    let _ = writeln!(s, "# Written by typed-kafka-stack; regenerated on every start.");
    let _ = writeln!(s, "process.roles=broker,controller");
    let _ = writeln!(s, "node.id={}", p.node_id.unwrap_or(1));
    let _ = writeln!(s, "controller.quorum.voters={voters}");
    match sasl {
        None => {
            let _ = writeln!(s, "listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctrl}");
            let _ = writeln!(s, "advertised.listeners=PLAINTEXT://127.0.0.1:{port}");
            let _ = writeln!(s, "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
        }
        Some(sasl) => {
            let secure = sasl.port;
            let _ = writeln!(
                s,
                "listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctrl},SASL_SSL://127.0.0.1:{secure}"
            );
            let _ = writeln!(s, "advertised.listeners=PLAINTEXT://127.0.0.1:{port},SASL_SSL://127.0.0.1:{secure}");
            let _ = writeln!(
                s,
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL"
            );
            // Kafka's PEM key store: the private key and the certificate in one file.
            let keystore = process::absolute(&p.dir.join("sasl-ssl-keystore.pem"));
            let read = |path: &Path| fs::read_to_string(path).map_err(StackError::io("reading a PEM file", path));
            let pem = format!("{}\n{}", read(&sasl.key_pem)?, read(&sasl.cert_pem)?);
            process::write_if_changed(&keystore, &pem)?;
            let _ = writeln!(s, "sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512");
            for mech in ["scram-sha-256", "scram-sha-512"] {
                let _ = writeln!(
                    s,
                    "listener.name.sasl_ssl.{mech}.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;"
                );
            }
            let _ = writeln!(s, "listener.name.sasl_ssl.ssl.keystore.type=PEM");
            let _ = writeln!(s, "listener.name.sasl_ssl.ssl.keystore.location={}", keystore.display());
        }
    }
    let _ = writeln!(s, "controller.listener.names=CONTROLLER");
    let _ = writeln!(s, "inter.broker.listener.name=PLAINTEXT");
    let _ = writeln!(s, "log.dirs={}", data.display());
    let _ = writeln!(s, "num.partitions=1");
    let _ = writeln!(s, "default.replication.factor={rf}");
    let _ = writeln!(s, "min.insync.replicas={isr}");
    let _ = writeln!(s, "offsets.topic.replication.factor={rf}");
    let _ = writeln!(s, "transaction.state.log.replication.factor={rf}");
    let _ = writeln!(s, "transaction.state.log.min.isr={isr}");
    let _ = writeln!(s, "share.coordinator.state.topic.replication.factor={rf}");
    let _ = writeln!(s, "share.coordinator.state.topic.min.isr={isr}");
    let _ = writeln!(s, "group.initial.rebalance.delay.ms=0");
    // Tests create their topics with the partitions they need; a typo must not create one silently.
    let _ = writeln!(s, "auto.create.topics.enable=false");
    let _ = writeln!(s, "num.network.threads=2");
    let _ = writeln!(s, "num.io.threads=4");
    let _ = writeln!(s, "log.segment.bytes=67108864");
    // Client quotas measured over 2 windows of 1 s, so that a quota a test sets bites within seconds (Kafka's
    // default of 11 windows lets about ten seconds' worth of bytes through before throttling).
    let _ = writeln!(s, "quota.window.num=2");
    let _ = writeln!(s, "quota.window.size.seconds=1");
    Ok(s)
}

/// The KRaft cluster id of a service, generated once (16 random bytes, base64url without padding, as Kafka's
/// `random-uuid` prints it).
fn cluster_id(dir: &Path) -> Result<String, StackError> {
    let path = dir.join("cluster.id");
    if let Ok(id) = fs::read_to_string(&path)
        && id.trim().len() == 22
    {
        return Ok(id.trim().to_string());
    }
    let mut bytes = [0u8; 16];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(StackError::io("reading random bytes", "/dev/urandom"))?;
    let id = base64url(&bytes);
    fs::create_dir_all(dir).map_err(StackError::io("creating the service directory", dir))?;
    fs::write(&path, &id).map_err(StackError::io("writing the cluster id", &path))?;
    Ok(id)
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// Formats the node's storage with the service's cluster id, unless it is formatted already.
fn format_storage(
    cfg: &StackConfig,
    classpath: &str,
    cluster_id: &str,
    p: &Proc,
    props: &Path,
    sasl: Option<&crate::KafkaSasl>,
) -> Result<(), StackError> {
    if p.dir.join("data/meta.properties").exists() {
        return Ok(());
    }
    let mut c = java(cfg, "128m", "256m");
    c.arg(format!("-Dlog4j2.configurationFile=file:{}", process::absolute(&provision::broker_log_config()).display()))
        .arg("-cp")
        .arg(classpath)
        .arg("kafka.tools.StorageTool")
        .arg("format")
        // One argument: a base64url id may start with '-', which the tool would take for an option.
        .arg(format!("--cluster-id={cluster_id}"))
        .arg("-c")
        .arg(process::absolute(props));
    // SCRAM users live in the cluster metadata: KRaft creates them when the storage is formatted.
    for (user, password) in sasl.map(|s| s.users.as_slice()).unwrap_or_default() {
        for mech in ["SCRAM-SHA-256", "SCRAM-SHA-512"] {
            c.arg(format!("--add-scram={mech}=[name={user},password={password}]"));
        }
    }
    process::run(c, None).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cluster node waits for its peers: a peer that exited (here: on a taken port) must end the wait at once,
    /// named as the process that exited, not after the timeout on the node that waits.
    #[test]
    fn a_watched_peer_that_exits_ends_the_wait_at_once() {
        let dir = std::env::temp_dir().join(format!("tk-stack-wait-{}", std::process::id()));
        let proc_named = |name: &str| Proc { name: name.into(), dir: dir.join(name), ports: vec![9], node_id: None };
        let (waiting, peer) = (proc_named("waiting"), proc_named("peer"));
        for p in [&waiting, &peer] {
            fs::create_dir_all(&p.dir).expect("state dir");
        }
        let mut sleeper = Command::new("sleep");
        sleeper.arg("30");
        let waiting_rec = process::spawn(sleeper, &waiting.log(), &waiting.pid_file()).expect("spawn sleep");
        let mut failing = Command::new("sh");
        failing.args(["-c", "echo 'java.net.BindException: Address already in use'; exit 1"]);
        let peer_rec = process::spawn(failing, &peer.log(), &peer.pid_file()).expect("spawn sh");
        let cfg = StackConfig {
            dir: dir.clone(),
            cache: dir.join("cache"),
            kafka_port: 9,
            cluster_port: 9,
            registry_port: 9,
            timeout: Duration::from_secs(60),
            java: PathBuf::from("java"),
            registry_tls: None,
            kafka_sasl: None,
        };
        let started = Instant::now();
        // Port 9 (discard) has no listener here, so `waiting` never becomes ready by itself.
        let outcome = wait(&cfg, Service::Registry, &waiting, &[(&waiting, waiting_rec), (&peer, peer_rec)]);
        let waited = started.elapsed();
        let _ = process::signal(waiting_rec.pid, "KILL");
        let _ = fs::remove_dir_all(&dir);
        match outcome {
            Err(StackError::Exited { service, pid, tail, .. }) => {
                assert_eq!(service, "peer");
                assert_eq!(pid, peer_rec.pid);
                assert!(tail.contains(crate::BIND_FAILURE), "{tail}");
            }
            other => panic!("expected the peer's exit, got {other:?}"),
        }
        assert!(waited < Duration::from_secs(30), "the wait ran on for {waited:?}");
    }

    #[test]
    fn base64url_matches_kafka_uuid_shape() {
        assert_eq!(base64url(&[0u8; 16]), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(base64url(&[0xff; 16]), "_____________________w");
        assert_eq!(base64url(b"Man"), "TWFu");
        assert_eq!(base64url(b"Ma"), "TWE");
    }
}
