//! The local stack typed-kafka is developed and tested against: a real Apache Kafka broker (KRaft mode, run from the
//! Maven Central jars with the machine's Java) and a real Confluent-compatible schema registry (Apicurio Registry),
//! both on 127.0.0.1.
//!
//! One piece of code serves people (`cargo stack up|down|status|env|test`), the integration-test harness
//! ([`shared`]) and the quickstart example ([`Session`]):
//!
//! - **provisioning**: Maven resolves the broker's classpath and the registry's distribution into `~/.m2`; the
//!   registry is unpacked under `.stack/cache/`. Nothing is installed by hand.
//! - **processes**: every server runs in its own process group; its pid and start time are written to a pid file,
//!   and `down` stops exactly those processes (never by name). A pid file whose process is gone, or whose pid now
//!   belongs to another process, is stale and ignored.
//! - **readiness**: a broker is ready when it answers a metadata request listing every broker of its topology; the
//!   registry when `GET /subjects` answers 200. A timeout is an error that shows the tail of the server's log.
//! - **sharing**: `up` is idempotent and serialized by a lock file, so parallel test binaries share one stack.
//!
//! Environment variables point everything at servers of your own instead: [`ENV_BOOTSTRAP`] and [`ENV_REGISTRY`]
//! (and [`ENV_CLUSTER_BOOTSTRAP`] for the three-broker cluster). When set, nothing is provisioned for that part.
#![warn(missing_docs)]

mod http;
mod process;
mod provision;
mod services;

use std::fmt;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use services::ProcessStatus;

/// Bootstrap servers of a Kafka cluster to use instead of the local single-broker stack.
pub const ENV_BOOTSTRAP: &str = "TYPED_KAFKA_BOOTSTRAP_SERVERS";
/// Base URL of a Confluent-compatible schema registry to use instead of the local one.
pub const ENV_REGISTRY: &str = "TYPED_KAFKA_REGISTRY_URL";
/// Bootstrap servers of a three-broker cluster to use instead of the local one (failover tests).
pub const ENV_CLUSTER_BOOTSTRAP: &str = "TYPED_KAFKA_CLUSTER_BOOTSTRAP_SERVERS";
/// Where the stack keeps its state, logs and caches (default: `.stack/` at the workspace root).
pub const ENV_STACK_DIR: &str = "TYPED_KAFKA_STACK_DIR";
/// Where downloaded and unpacked servers are cached (default: `<stack dir>/cache`).
pub const ENV_STACK_CACHE: &str = "TYPED_KAFKA_STACK_CACHE";
/// Port of the single broker's client listener (its controller listens on the next port). Default 29092. The
/// defaults lie below Linux's ephemeral port range (32768-60999), so no outgoing connection is given one.
pub const ENV_KAFKA_PORT: &str = "TYPED_KAFKA_STACK_KAFKA_PORT";
/// First client port of the three-broker cluster; node `n` listens on `base + 100·(n-1)`, its controller one above.
/// Default 29192.
pub const ENV_CLUSTER_PORT: &str = "TYPED_KAFKA_STACK_CLUSTER_PORT";
/// Port of the schema registry. Default 28081.
pub const ENV_REGISTRY_PORT: &str = "TYPED_KAFKA_STACK_REGISTRY_PORT";
/// Seconds to wait for a server to become ready. Default 180.
pub const ENV_TIMEOUT: &str = "TYPED_KAFKA_STACK_TIMEOUT_SECS";
/// The `java` executable to run the servers with (default: `$JAVA_HOME/bin/java`, else `java` on the PATH).
pub const ENV_JAVA: &str = "TYPED_KAFKA_STACK_JAVA";

/// How many times `up` starts again a process whose port was taken as it started.
const BIND_RETRIES: u32 = 2;
/// What the JVM logs when a port it binds is taken.
const BIND_FAILURE: &str = "Address already in use";

/// Apache Kafka version the broker runs (resolved from Maven Central by `stack/java/pom.xml`).
pub const KAFKA_VERSION: &str = "4.1.1";
/// Apicurio Registry version serving the Confluent API. 3.0.9 is the newest 3.x release that runs on Java 17
/// (3.3.x is compiled for Java 21).
pub const APICURIO_VERSION: &str = "3.0.9";
/// Path of Apicurio's Confluent-compatible API below the server's root.
pub const APICURIO_CCOMPAT_PATH: &str = "/apis/ccompat/v7";

/// A server of the local stack, the unit that is started, reused and stopped together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// One KRaft node acting as broker and controller.
    Kafka,
    /// Three KRaft nodes (broker + controller each), replication factor 3, `min.insync.replicas=2`.
    Cluster,
    /// The Confluent-compatible schema registry (an H2 database in its state directory, so that schema IDs survive
    /// a restart as the brokers' records do; global compatibility BACKWARD at start).
    Registry,
}

impl Service {
    /// Every service, in start order.
    pub const ALL: [Service; 3] = [Service::Registry, Service::Kafka, Service::Cluster];

    /// The name used for its state directory and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Service::Kafka => "kafka",
            Service::Cluster => "cluster",
            Service::Registry => "registry",
        }
    }

    /// Parses the name given by [`Service::name`].
    pub fn from_name(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.name() == name)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that can go wrong while provisioning, starting or stopping the stack.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// A file-system operation failed.
    #[error("{what} ({path}): {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A required tool (java, mvn) could not be run.
    #[error("cannot run `{tool}`: {source}; the local stack needs Java 17+ and Maven on the PATH")]
    MissingTool {
        /// The tool.
        tool: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A provisioning or formatting command failed.
    #[error("`{command}` failed ({status}):\n{output}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status.
        status: String,
        /// The tail of its output.
        output: String,
    },
    /// A server exited while starting.
    #[error("{service} (pid {pid}) exited while starting; last lines of {log}:\n{tail}")]
    Exited {
        /// The process name.
        service: String,
        /// Its pid.
        pid: u32,
        /// Its log file.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },
    /// A server did not become ready in time.
    #[error("{service} was not ready after {waited:?} ({reason}); last lines of {log}:\n{tail}")]
    NotReady {
        /// The process name.
        service: String,
        /// How long we waited.
        waited: Duration,
        /// The last readiness failure.
        reason: String,
        /// Its log file.
        log: PathBuf,
        /// The last lines of the log.
        tail: String,
    },
    /// A port the stack wants is taken by a process the stack did not start.
    #[error(
        "port {port} on 127.0.0.1 (for {service}) is already in use by a process this stack did not start; \
         free it or choose other ports (see {ENV_KAFKA_PORT}, {ENV_CLUSTER_PORT}, {ENV_REGISTRY_PORT})"
    )]
    PortInUse {
        /// The port.
        port: u16,
        /// The process it was meant for.
        service: String,
    },
    /// A stop signal could not be delivered or the process did not exit.
    #[error("could not stop {service} (pid {pid}): {reason}")]
    Stop {
        /// The process name.
        service: String,
        /// Its pid.
        pid: u32,
        /// Why.
        reason: String,
    },
    /// A configuration value from the environment is invalid.
    #[error("invalid value {value:?} for {var}: {reason}")]
    Config {
        /// The variable.
        var: &'static str,
        /// Its value.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

impl StackError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> StackError {
        let path = path.into();
        move |source| StackError::Io { what, path, source }
    }
}

/// A signal for one server process, for fault tests ([`Stack::signal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGKILL: the process dies at once, without a clean shutdown (a crashed broker). `up` starts it again.
    Kill,
    /// SIGSTOP: the process stops answering but keeps its connections (a hung or very slow broker).
    Pause,
    /// SIGCONT: a paused process goes on.
    Resume,
}

/// Where the servers of a running (or configured) stack answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// Kafka `bootstrap.servers` of the single-broker stack (or of [`ENV_BOOTSTRAP`]).
    pub bootstrap_servers: String,
    /// Base URL of the Confluent API of the registry (or [`ENV_REGISTRY`]), without a trailing slash.
    pub registry_url: String,
}

/// Ports and paths of the local stack, from the environment or defaults.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// State directory: pid files, logs, data.
    pub dir: PathBuf,
    /// Cache of provisioned servers (the resolved broker classpath, the unpacked registry).
    pub cache: PathBuf,
    /// Client port of the single broker; its controller uses `kafka_port + 1`.
    pub kafka_port: u16,
    /// First client port of the three-broker cluster.
    pub cluster_port: u16,
    /// HTTP port of the registry.
    pub registry_port: u16,
    /// How long to wait for a server to become ready.
    pub timeout: Duration,
    /// The `java` executable.
    pub java: PathBuf,
    /// Serve the registry over HTTPS too (tests of the client's TLS settings); `None` from the environment.
    pub registry_tls: Option<RegistryTls>,
    /// A SASL/SCRAM over TLS listener on the single broker (tests of secured clusters); `None` from the environment.
    pub kafka_sasl: Option<KafkaSasl>,
}

/// A `SASL_SSL` listener on the single broker, beside its plaintext one (which readiness checks and inter-broker
/// traffic use): TLS with the given certificate, SCRAM-SHA-256 and SCRAM-SHA-512 logins for the given users. The
/// users are created when the broker's storage is formatted, so set this on a fresh state directory.
#[derive(Clone)]
pub struct KafkaSasl {
    /// The listener's port.
    pub port: u16,
    /// The server certificate (PEM), valid for `127.0.0.1`.
    pub cert_pem: PathBuf,
    /// Its private key (PEM, PKCS#8, unencrypted).
    pub key_pem: PathBuf,
    /// SCRAM users: (name, password).
    pub users: Vec<(String, String)>,
}

impl fmt::Debug for KafkaSasl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let users: Vec<&str> = self.users.iter().map(|(u, _)| u.as_str()).collect();
        f.debug_struct("KafkaSasl")
            .field("port", &self.port)
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &self.key_pem)
            .field("users", &users)
            .finish()
    }
}

/// HTTPS for the registry, on a port of its own beside the plain HTTP port (which the readiness check uses).
#[derive(Debug, Clone)]
pub struct RegistryTls {
    /// The HTTPS port.
    pub port: u16,
    /// The server certificate (PEM).
    pub cert_pem: PathBuf,
    /// Its private key (PEM).
    pub key_pem: PathBuf,
}

fn env_port(var: &'static str, default: u16) -> Result<u16, StackError> {
    match std::env::var(var) {
        Ok(v) => match v.trim().parse::<u16>() {
            Ok(p) if (1024..65000).contains(&p) => Ok(p),
            _ => Err(StackError::Config { var, value: v, reason: "expected a port number from 1024 to 64999" }),
        },
        Err(_) => Ok(default),
    }
}

impl StackConfig {
    /// Reads the configuration from the environment (see the `ENV_*` constants), with defaults that do not collide
    /// with a developer's own Kafka (9092) or registry (8081).
    pub fn from_env() -> Result<StackConfig, StackError> {
        let dir = match std::env::var_os(ENV_STACK_DIR) {
            // Empty is unset: an empty path would put the stack's files in the working directory.
            Some(d) if !d.is_empty() => PathBuf::from(d),
            _ => workspace_root().join(".stack"),
        };
        let timeout = match std::env::var(ENV_TIMEOUT) {
            Ok(v) => match v.trim().parse::<u64>() {
                Ok(s) if s > 0 => Duration::from_secs(s),
                _ => return Err(StackError::Config { var: ENV_TIMEOUT, value: v, reason: "expected whole seconds" }),
            },
            Err(_) => Duration::from_secs(180),
        };
        let java = match (std::env::var_os(ENV_JAVA), std::env::var_os("JAVA_HOME")) {
            (Some(j), _) => PathBuf::from(j),
            (None, Some(home)) if Path::new(&home).join("bin/java").exists() => Path::new(&home).join("bin/java"),
            _ => PathBuf::from("java"),
        };
        let cache = match std::env::var_os(ENV_STACK_CACHE) {
            Some(c) => PathBuf::from(c),
            None => dir.join("cache"),
        };
        Ok(StackConfig {
            dir,
            cache,
            kafka_port: env_port(ENV_KAFKA_PORT, 29092)?,
            cluster_port: env_port(ENV_CLUSTER_PORT, 29192)?,
            registry_port: env_port(ENV_REGISTRY_PORT, 28081)?,
            timeout,
            java,
            registry_tls: None,
            kafka_sasl: None,
        })
    }

    /// `bootstrap.servers` of the local single broker.
    pub fn kafka_bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.kafka_port)
    }

    /// `bootstrap.servers` of the local three-broker cluster.
    pub fn cluster_bootstrap(&self) -> String {
        (1..=3).map(|n| format!("127.0.0.1:{}", self.cluster_node_port(n))).collect::<Vec<_>>().join(",")
    }

    /// Client port of cluster node `n` (1-based).
    pub fn cluster_node_port(&self, n: u16) -> u16 {
        self.cluster_port + 100 * (n - 1)
    }

    /// Base URL of the local registry's Confluent API.
    pub fn registry_url(&self) -> String {
        format!("http://127.0.0.1:{}{}", self.registry_port, APICURIO_CCOMPAT_PATH)
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// The result of [`Stack::up`]: the endpoints, and which services this call started (as opposed to reused).
#[derive(Debug, Clone)]
pub struct UpReport {
    /// Where the servers answer.
    pub endpoints: Endpoints,
    /// Services this call started.
    pub started: Vec<Service>,
    /// Services that were already running and were reused.
    pub reused: Vec<Service>,
}

/// The local stack: provisions, starts, reuses and stops its servers.
#[derive(Debug, Clone)]
pub struct Stack {
    config: StackConfig,
}

/// Holds the stack's lock file locked while it lives.
struct LockGuard(File);

impl Drop for LockGuard {
    fn drop(&mut self) {
        // Closing the file releases the lock too; unlocking explicitly just makes it immediate.
        let _ = self.0.unlock();
    }
}

impl Stack {
    /// A stack with the given configuration.
    pub fn new(config: StackConfig) -> Stack {
        Stack { config }
    }

    /// A stack configured from the environment.
    pub fn from_env() -> Result<Stack, StackError> {
        Ok(Stack::new(StackConfig::from_env()?))
    }

    /// The configuration.
    pub fn config(&self) -> &StackConfig {
        &self.config
    }

    fn lock(&self) -> Result<LockGuard, StackError> {
        fs::create_dir_all(&self.config.dir)
            .map_err(StackError::io("creating the stack directory", &self.config.dir))?;
        let path = self.config.dir.join("lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(StackError::io("opening the lock file", &path))?;
        file.lock().map_err(StackError::io("locking the lock file", &path))?;
        Ok(LockGuard(file))
    }

    /// Starts the given services unless they are running already (then they are reused), provisioning what is
    /// missing first, and waits until every one of them is ready. Safe to call from several processes at once.
    pub fn up(&self, services: &[Service]) -> Result<UpReport, StackError> {
        let _lock = self.lock()?;
        let mut started = Vec::new();
        let mut reused = Vec::new();
        let mut launched = Vec::new();
        for &service in Service::ALL.iter().filter(|s| services.contains(s)) {
            if services::is_running(&self.config, service)? {
                reused.push(service);
            } else {
                launched.push(services::launch(&self.config, service)?);
                started.push(service);
            }
        }
        // Everything is launched before anything is awaited, so the JVMs start side by side.
        for launch in launched {
            self.await_launch(launch)?;
        }
        for &service in &reused {
            services::await_running_ready(&self.config, service)?;
        }
        Ok(UpReport {
            endpoints: Endpoints {
                bootstrap_servers: self.config.kafka_bootstrap(),
                registry_url: self.config.registry_url(),
            },
            started,
            reused,
        })
    }

    /// Waits until a launch is ready. A process that exited because its port was taken between the check and its
    /// bind is started again, at most [`BIND_RETRIES`] times, a second apart. (The default ports, and the tests',
    /// lie below Linux's ephemeral range, 32768-60999, from which the kernel gives outgoing connections their
    /// local ports: inside it, a test's long-lived client connection once held a private broker's port through
    /// every retry. A port set inside that range can still be taken that way.)
    fn await_launch(&self, mut launch: services::Launch) -> Result<(), StackError> {
        let mut retries = 0;
        loop {
            match services::await_ready(&self.config, &launch) {
                // The log's last 64 KiB: the process's whole run, as it exited while starting.
                Err(StackError::Exited { service, log, .. })
                    if retries < BIND_RETRIES && process::tail(&log, usize::MAX).contains(BIND_FAILURE) =>
                {
                    retries += 1;
                    tracing::warn!(process = %service, retries, "its port was taken as it started; starting it again");
                    std::thread::sleep(Duration::from_secs(1));
                    launch = services::launch(&self.config, launch.service())?;
                }
                done => return done,
            }
        }
    }

    /// Stops the given services' processes (those recorded in their pid files, and only those): a TERM, then a KILL
    /// if one has not exited after 30 s. Returns the services that had running processes.
    pub fn down(&self, services: &[Service]) -> Result<Vec<Service>, StackError> {
        let _lock = self.lock()?;
        let mut stopped = Vec::new();
        for &service in Service::ALL.iter().rev().filter(|s| services.contains(s)) {
            if services::stop(&self.config, service)? {
                stopped.push(service);
            }
        }
        Ok(stopped)
    }

    /// Stops the given services and deletes their data (the broker logs and KRaft metadata), so the next start is
    /// a fresh cluster.
    pub fn clean(&self, services: &[Service]) -> Result<(), StackError> {
        let services = Self::cleaned_together(services);
        let services = services.as_slice();
        self.down(services)?;
        let _lock = self.lock()?;
        for &service in services {
            let dir = self.config.dir.join(service.name());
            if dir.exists() {
                fs::remove_dir_all(&dir).map_err(StackError::io("removing the service directory", &dir))?;
            }
        }
        Ok(())
    }

    /// What [`clean`](Self::clean) removes for `services`: the registry's schemas and the brokers' records go
    /// together, since records name their schemas by ID: cleaning the registry alone would let new schemas take
    /// the IDs that records still in a topic point at.
    pub fn cleaned_together(services: &[Service]) -> Vec<Service> {
        let mut out = services.to_vec();
        if services.contains(&Service::Registry) {
            for broker in [Service::Kafka, Service::Cluster] {
                if !out.contains(&broker) {
                    out.push(broker);
                }
            }
        }
        out
    }

    /// Sends `signal` to one process of `service`, by its name in [`Stack::status`] (`kafka`, `cluster-node-2`,
    /// `registry`). After a [`Signal::Kill`], [`Stack::up`] starts the process again (for the cluster, only it).
    pub fn signal(&self, service: Service, process: &str, signal: Signal) -> Result<(), StackError> {
        let _lock = self.lock()?;
        services::signal(&self.config, service, process, signal)
    }

    /// The services with at least one live process (a partly stopped cluster counts).
    pub fn running(&self) -> Result<Vec<Service>, StackError> {
        let status = self.status()?;
        Ok(Service::ALL.into_iter().filter(|s| status.iter().any(|p| p.service == *s && p.pid.is_some())).collect())
    }

    /// The state of every process the stack knows about.
    pub fn status(&self) -> Result<Vec<ProcessStatus>, StackError> {
        let mut all = Vec::new();
        for service in Service::ALL {
            all.extend(services::status(&self.config, service)?);
        }
        Ok(all)
    }
}

/// Endpoints for tests: the environment's ([`ENV_BOOTSTRAP`], [`ENV_REGISTRY`]) where set, otherwise the local
/// single-broker stack and registry, started if they are not running yet and left running for the other test
/// binaries of the run (`cargo stack test` stops them at the end; `cargo stack down` does by hand).
pub fn shared() -> Result<Endpoints, StackError> {
    Session::start().map(|s| s.endpoints.clone())
}

/// Endpoints of the three-broker cluster for failover tests: [`ENV_CLUSTER_BOOTSTRAP`] where set, otherwise the
/// local cluster, started if needed and left running like [`shared`].
pub fn shared_cluster() -> Result<String, StackError> {
    if let Ok(b) = std::env::var(ENV_CLUSTER_BOOTSTRAP) {
        return Ok(b);
    }
    let stack = Stack::from_env()?;
    stack.up(&[Service::Cluster])?;
    Ok(stack.config().cluster_bootstrap())
}

/// A Maven project's runtime classpath (e.g. a test tool's dependencies), resolved by the machine's Maven into
/// `~/.m2` on first use and cached in the stack's cache directory under `name` (a changed pom resolves again).
pub fn maven_classpath(pom: &Path, name: &str) -> Result<String, StackError> {
    provision::classpath(&StackConfig::from_env()?, pom, name)
}

/// A Python virtual environment with the pinned packages of `requirements` (a test tool's, such as Confluent's
/// Python client for a differential test), made with the machine's `python3` in the stack's cache directory under
/// `name` on first use, and made again when the file changes. Returns its `python` executable.
pub fn python_env(requirements: &Path, name: &str) -> Result<PathBuf, StackError> {
    provision::python_env(&StackConfig::from_env()?, requirements, name)
}

/// Runs `script` with `python` (from [`python_env`]), `input` on its standard input, and returns its standard
/// output; a failure is a [`StackError::Command`] with the end of what it wrote to standard error.
pub fn run_python(python: &Path, script: &Path, input: &[u8]) -> Result<Vec<u8>, StackError> {
    process::run_with_input(std::process::Command::new(python).arg(script), input)
}

/// The `java` executable the stack runs its servers with.
pub fn java() -> Result<PathBuf, StackError> {
    Ok(StackConfig::from_env()?.java)
}

/// A use of the stack by one program (the quickstart): provisions and starts what the environment does not
/// configure, and can stop afterwards exactly what it started.
#[derive(Debug)]
pub struct Session {
    /// Where the servers answer.
    pub endpoints: Endpoints,
    /// Services this session started (empty when everything was configured or already running).
    pub started: Vec<Service>,
    stack: Option<Stack>,
}

impl Session {
    /// Uses [`ENV_BOOTSTRAP`] and [`ENV_REGISTRY`] where set; starts (or reuses) the local servers for the rest.
    pub fn start() -> Result<Session, StackError> {
        let bootstrap = std::env::var(ENV_BOOTSTRAP).ok().filter(|v| !v.trim().is_empty());
        let registry = std::env::var(ENV_REGISTRY).ok().filter(|v| !v.trim().is_empty());
        let mut wanted = Vec::new();
        if bootstrap.is_none() {
            wanted.push(Service::Kafka);
        }
        if registry.is_none() {
            wanted.push(Service::Registry);
        }
        let (stack, local, started) = if wanted.is_empty() {
            (None, None, Vec::new())
        } else {
            let stack = Stack::from_env()?;
            let report = stack.up(&wanted)?;
            (Some(stack), Some(report.endpoints), report.started)
        };
        let endpoints = Endpoints {
            bootstrap_servers: bootstrap
                .or_else(|| local.as_ref().map(|e| e.bootstrap_servers.clone()))
                .unwrap_or_default(),
            registry_url: registry
                .map(|r| r.trim_end_matches('/').to_string())
                .or_else(|| local.as_ref().map(|e| e.registry_url.clone()))
                .unwrap_or_default(),
        };
        Ok(Session { endpoints, started, stack })
    }

    /// Stops the services this session started; those it found running stay running.
    pub fn stop_started(self) -> Result<Vec<Service>, StackError> {
        match self.stack {
            Some(stack) if !self.started.is_empty() => stack.down(&self.started),
            _ => Ok(Vec::new()),
        }
    }
}
