//! Fetching the servers from Maven Central with the machine's Maven: the broker's runtime classpath (into `~/.m2`)
//! and Apicurio Registry's distribution (unpacked under the stack's cache directory). Both are cached: a second call does no
//! network I/O and runs no Maven.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{run, write_if_changed};
use crate::{APICURIO_VERSION, StackConfig, StackError, workspace_root};

fn pom() -> PathBuf {
    workspace_root().join("stack/java/pom.xml")
}

/// The committed log4j2 configuration for the brokers.
pub(crate) fn broker_log_config() -> PathBuf {
    workspace_root().join("stack/java/log4j2.xml")
}

fn mvn() -> Command {
    let mut c = Command::new("mvn");
    c.arg("-B").arg("-q");
    c
}

/// The broker's classpath, resolved by Maven from `stack/java/pom.xml`.
pub(crate) fn kafka_classpath(cfg: &StackConfig) -> Result<String, StackError> {
    classpath(cfg, &pom(), "kafka")
}

/// A pom's runtime classpath, resolved by Maven once and cached with a copy of the pom it came from (a changed pom
/// resolves again; so does a cached jar that has gone missing).
pub(crate) fn classpath(cfg: &StackConfig, pom_path: &Path, name: &str) -> Result<String, StackError> {
    let cache = &cfg.cache;
    let cp_file = cache.join(format!("{name}.classpath"));
    let pom_copy = cache.join(format!("{name}.classpath.pom"));
    let pom_text = fs::read_to_string(pom_path).map_err(StackError::io("reading a stack pom", pom_path))?;
    if fs::read_to_string(&pom_copy).ok().as_deref() == Some(pom_text.as_str())
        && let Ok(cp) = fs::read_to_string(&cp_file)
    {
        let cp = cp.trim().to_string();
        if !cp.is_empty() && cp.split(':').all(|jar| Path::new(jar).exists()) {
            return Ok(cp);
        }
    }
    fs::create_dir_all(cache).map_err(StackError::io("creating the cache directory", cache))?;
    tracing::info!(pom = %pom_path.display(), "resolving a classpath with Maven");
    let mut cmd = mvn();
    cmd.arg("-f")
        .arg(pom_path)
        .arg("dependency:build-classpath")
        .arg(format!("-Dmdep.outputFile={}", cp_file.display()));
    run(cmd, None)?;
    let cp = fs::read_to_string(&cp_file).map_err(StackError::io("reading the resolved classpath", &cp_file))?;
    write_if_changed(&pom_copy, &pom_text)?;
    Ok(cp.trim().to_string())
}

/// A Python virtual environment with the pinned packages of `requirements` (a pip requirements file), made with
/// the machine's `python3` and pip in the cache under `name` on first use; made again when the file changes.
/// Returns the environment's `python`.
pub(crate) fn python_env(cfg: &StackConfig, requirements: &Path, name: &str) -> Result<PathBuf, StackError> {
    let root = cfg.cache.join("python");
    fs::create_dir_all(&root).map_err(StackError::io("creating the Python environments' directory", &root))?;
    // Tests of one binary (and several binaries) ask at once: one makes the environment, the others wait for it.
    let lock_path = root.join(format!("{name}.lock"));
    let lock = fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(StackError::io("opening a Python environment's lock file", &lock_path))?;
    lock.lock().map_err(StackError::io("locking a Python environment's lock file", &lock_path))?;
    let dir = root.join(name);
    let python = dir.join("bin").join("python");
    let stamp = dir.join("requirements.installed");
    let wanted =
        fs::read_to_string(requirements).map_err(StackError::io("reading a requirements file", requirements))?;
    if python.exists() && fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str()) {
        return Ok(python);
    }
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(StackError::io("removing an outdated Python environment", &dir))?;
    }
    fs::create_dir_all(&dir).map_err(StackError::io("creating a Python environment's directory", &dir))?;
    tracing::info!(requirements = %requirements.display(), "making a Python environment with pip");
    let mut venv = Command::new("python3");
    venv.arg("-m").arg("venv").arg(&dir);
    run(venv, None)?;
    let mut pip = Command::new(&python);
    pip.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"]).arg(requirements);
    run(pip, None)?;
    write_if_changed(&stamp, &wanted)?;
    Ok(python)
}

/// The Apicurio Registry runner jar, unpacked from `io.apicurio:apicurio-registry-app:<ver>:tar.gz:all` on first use.
pub(crate) fn apicurio_runner(cfg: &StackConfig) -> Result<PathBuf, StackError> {
    let dir = cfg.cache.join(format!("apicurio-registry-{APICURIO_VERSION}"));
    let jar = dir.join(format!("apicurio-registry-app-{APICURIO_VERSION}-runner.jar"));
    if jar.exists() {
        return Ok(jar);
    }
    let partial = dir.with_extension("partial");
    if partial.exists() {
        fs::remove_dir_all(&partial).map_err(StackError::io("removing a partial unpack", &partial))?;
    }
    fs::create_dir_all(&partial).map_err(StackError::io("creating the unpack directory", &partial))?;
    tracing::info!(version = APICURIO_VERSION, "fetching Apicurio Registry with Maven");
    let mut cmd = mvn();
    cmd.arg("dependency:unpack")
        .arg(format!("-Dartifact=io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:tar.gz:all"))
        .arg(format!("-DoutputDirectory={}", partial.display()));
    // Run outside any Maven project so the goal resolves only the named artifact.
    run(cmd, Some(&partial))?;
    if !partial.join(jar.file_name().unwrap_or_default()).exists() {
        return Err(StackError::Command {
            command: "mvn dependency:unpack io.apicurio:apicurio-registry-app".into(),
            status: "succeeded".into(),
            output: format!("but {} is not in the unpacked distribution", jar.display()),
        });
    }
    fs::rename(&partial, &dir).map_err(StackError::io("moving the unpacked registry into place", &dir))?;
    Ok(jar)
}
