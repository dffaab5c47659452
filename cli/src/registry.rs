//! The contracts against a schema registry: `check --registry` (every registered version, under the subject's
//! level from the registry, with this project's checker; drift between repository and registry), `register`
//! (the deploy step, recording IDs in the lock) and `pull` (adopting a registry's subjects).

use std::collections::BTreeMap;
use std::path::Path;

use typed_kafka_avro::compat::{CheckOptions, CompatibilityLevel, check_level};
use typed_kafka_avro::schema::{Schema, resolution_fingerprint};
use typed_kafka_registry::client::{Normalization, UnregisteredSchema, Version};
use typed_kafka_registry::{RegistryError, SchemaRegistryClient};

use crate::check::{Finding, Kind, Report, incompatible};
use crate::contracts::{Contracts, RegisteredIds};

/// Why a registry verb could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryVerbError {
    /// The registry could not be reached, refused the credentials, or failed on its side (exit 69): never
    /// reported as an incompatibility.
    #[error("registry {name}: {source}")]
    Unavailable {
        /// The registry's name.
        name: String,
        /// What failed.
        source: RegistryError,
    },
    /// A usage or configuration error (exit 64).
    #[error("{0}")]
    Usage(String),
}

impl RegistryVerbError {
    /// The exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            RegistryVerbError::Unavailable { .. } => crate::EXIT_UNAVAILABLE,
            RegistryVerbError::Usage(_) => crate::EXIT_USAGE,
        }
    }
}

/// The client for a registry named in the config (or given by URL, named `url`), with credentials from the
/// environment variables the config names.
pub fn client(
    contracts: &Contracts,
    name: Option<&str>,
    url: Option<&str>,
) -> Result<(String, SchemaRegistryClient), RegistryVerbError> {
    let (name, url, user_info, token) = match (name, url) {
        (_, Some(url)) => (name.unwrap_or("url").to_string(), url.to_string(), None, None),
        (Some(name), None) => {
            let r = contracts.config.registries.get(name).ok_or_else(|| {
                RegistryVerbError::Usage(format!("no registry named {name:?} in typed-kafka.toml [registries]"))
            })?;
            let env = |var: &Option<String>| var.as_ref().and_then(|v| std::env::var(v).ok());
            (name.to_string(), r.url.clone(), env(&r.user_info_env), env(&r.bearer_token_env))
        }
        (None, None) => return Err(RegistryVerbError::Usage("give --registry NAME or --registry-url URL".into())),
    };
    let mut builder = SchemaRegistryClient::builder([url.as_str()]);
    if let Some(user_info) = user_info {
        builder = builder.basic_auth_user_info(user_info);
    }
    if let Some(token) = token {
        builder = builder.bearer_token(token);
    }
    let client = builder.build().map_err(|e| RegistryVerbError::Usage(format!("registry {name}: {e}")))?;
    Ok((name, client))
}

fn unavailable(name: &str) -> impl Fn(RegistryError) -> RegistryVerbError + '_ {
    move |source| RegistryVerbError::Unavailable { name: name.to_string(), source }
}

/// A subject's registered versions, oldest first (`None`: the subject is not registered).
async fn registered(
    client: &SchemaRegistryClient,
    name: &str,
    subject: &str,
) -> Result<Option<Vec<(i32, u32, String)>>, RegistryVerbError> {
    let versions = match client.versions(subject).await {
        Ok(v) => v,
        Err(RegistryError::SubjectNotFound { .. }) => return Ok(None),
        Err(e) => return Err(unavailable(name)(e)),
    };
    let mut out = Vec::new();
    for v in versions {
        let r = client.version(subject, Version::Number(v)).await.map_err(unavailable(name))?;
        out.push((r.version, r.id.0, r.schema));
    }
    out.sort_by_key(|(v, _, _)| *v);
    Ok(Some(out))
}

/// The subject's level in the registry (its own, else the global one).
async fn level(
    client: &SchemaRegistryClient,
    name: &str,
    subject: &str,
) -> Result<CompatibilityLevel, RegistryVerbError> {
    client.effective_compatibility(subject).await.map_err(unavailable(name))
}

fn same(local: &str, registered: &str) -> bool {
    match (resolution_fingerprint(local), resolution_fingerprint(registered)) {
        (Ok(a), Ok(b)) if a == b => true,
        // Registries may normalize the text: fall back to the canonical form.
        _ => match (Schema::parse(local), Schema::parse(registered)) {
            (Ok(a), Ok(b)) => a.canonical_form() == b.canonical_form(),
            _ => false,
        },
    }
}

/// `check --registry`: the repository's latest version of each subject against every registered version, under
/// the subject's level in the registry, with this project's checker; and drift between the two histories.
pub async fn check(
    contracts: &Contracts,
    client: &SchemaRegistryClient,
    name: &str,
) -> Result<Report, RegistryVerbError> {
    let mut report = Report { subjects: contracts.subjects.len(), ..Report::default() };
    for (subject, versions) in &contracts.subjects {
        let Some(local_latest) = versions.last() else { continue };
        let Some(history) = registered(client, name, subject).await? else { continue };
        let level = level(client, name, subject).await?;
        // Drift: a registered version the repository does not hold.
        for (version, id, text) in &history {
            if !versions.iter().any(|v| same(&v.text, text)) {
                report.findings.push(Finding {
                    kind: Kind::Drift,
                    rule: "REGISTRY_DRIFT".into(),
                    subject: subject.clone(),
                    version: None,
                    against: None,
                    level: Some(level.to_string()),
                    direction: None,
                    file: None,
                    path: None,
                    message: format!("registry {name} has version {version} (ID {id}), which no committed file holds"),
                    fix: format!(
                        "adopt it with `cargo contracts pull --registry {name}`, or delete it from the registry"
                    ),
                });
            }
        }
        let Ok(new) = &local_latest.schema else { continue };
        if history.iter().any(|(_, _, text)| same(&local_latest.text, text)) {
            continue; // already registered
        }
        let old: Vec<Schema> = history.iter().filter_map(|(_, _, t)| Schema::parse(t).ok()).collect();
        report.pairs_checked += 1;
        let options = CheckOptions { semantic: contracts.config.defaults.semantic };
        for vf in check_level(new, &old, level, &options) {
            let against = history[vf.index].0;
            for inc in &vf.incompatibilities {
                let new_label = format!("v{}", local_latest.number);
                let old_label = format!("registry {name} version {against}");
                let mut f = incompatible(inc, vf.direction, level, &new_label, &old_label);
                f.subject = subject.clone();
                f.version = Some(local_latest.number);
                f.against = Some(against as u32);
                f.file = Some(local_latest.file.clone());
                f.fix = format!("{}; or change the subject's level in registry {name} on purpose", f.fix);
                report.findings.push(f);
            }
        }
    }
    Ok(report)
}

/// `register`: registers every committed version the registry lacks, in order, and records each version's ID in
/// the lock. Returns the (subject, version, ID) registered.
pub async fn register(
    contracts: &Contracts,
    client: &SchemaRegistryClient,
    name: &str,
) -> Result<Vec<(String, u32, u32)>, RegistryVerbError> {
    let mut lock = contracts.current_lock();
    let mut done = Vec::new();
    for (subject, versions) in &contracts.subjects {
        for v in versions {
            let schema = UnregisteredSchema::avro(v.text.clone());
            let id = match client.lookup(subject, &schema, Normalization::AsGiven).await {
                Ok(r) => RegisteredIds { id: r.id.0, version: r.version },
                Err(RegistryError::SubjectNotFound { .. } | RegistryError::SchemaNotFound { .. }) => {
                    let id =
                        client.register(subject, &schema, Normalization::AsGiven).await.map_err(unavailable(name))?;
                    let r = client.lookup(subject, &schema, Normalization::AsGiven).await.map_err(unavailable(name))?;
                    done.push((subject.clone(), v.number, id.0));
                    RegisteredIds { id: id.0, version: r.version }
                }
                Err(e) => return Err(unavailable(name)(e)),
            };
            if let Some(entry) = lock
                .subjects
                .iter_mut()
                .find(|s| &s.name == subject)
                .and_then(|s| s.versions.iter_mut().find(|e| e.version == v.number))
            {
                entry.registry.insert(name.to_string(), id);
            }
        }
    }
    contracts.write(&lock).map_err(|e| RegistryVerbError::Usage(format!("writing the lock: {e}")))?;
    Ok(done)
}

/// Whether `subject` (a name a registry gives) can name a directory of the contracts directory: exactly one normal
/// path component, so that nothing is ever written outside `--dir` (`..`, `a/b`, `/etc`, `C:\x` are refused).
pub fn subject_directory(subject: &str) -> Result<&str, &'static str> {
    use std::path::Component;
    let bad = subject.is_empty()
        || subject.len() > 255
        || subject.contains(['/', '\\', '\0'])
        || subject.chars().any(char::is_control);
    let mut components = Path::new(subject).components();
    match (bad, components.next(), components.next()) {
        (false, Some(Component::Normal(_)), None) => Ok(subject),
        _ => Err("not usable as a directory name (one path component, no separators, not . or ..)"),
    }
}

/// The first 80 characters of a name a registry gave, for a note.
fn excerpt(name: &str) -> String {
    let head: String = name.chars().take(80).collect();
    if head.len() < name.len() { format!("{head:?}…") } else { format!("{head:?}") }
}

/// `pull`: adopts the registry's versions of `subjects` (all of its subjects when empty) that the repository does
/// not have: writes them as `v1.avsc`, `v2.avsc`, … in registry order and records them and their IDs in the lock.
/// A subject whose committed history differs from the registry's is left alone and reported.
pub async fn pull(
    dir: &Path,
    client: &SchemaRegistryClient,
    name: &str,
    subjects: &[String],
) -> Result<Vec<String>, RegistryVerbError> {
    let contracts = Contracts::load(dir).map_err(|e| RegistryVerbError::Usage(e.to_string()))?;
    let wanted =
        if subjects.is_empty() { client.subjects().await.map_err(unavailable(name))? } else { subjects.to_vec() };
    let mut notes = Vec::new();
    let mut ids: BTreeMap<(String, u32), RegisteredIds> = BTreeMap::new();
    for subject in wanted {
        if let Err(why) = subject_directory(&subject) {
            notes.push(format!("{}: {why}; not pulled", excerpt(&subject)));
            continue;
        }
        let Some(history) = registered(client, name, &subject).await? else {
            notes.push(format!("{subject}: not in registry {name}"));
            continue;
        };
        let local = contracts.subjects.get(&subject).map(Vec::as_slice).unwrap_or_default();
        let mismatch = local.iter().zip(&history).any(|(l, (_, _, text))| !same(&l.text, text));
        if mismatch || local.len() > history.len() {
            notes.push(format!("{subject}: the committed history differs from registry {name}; left alone"));
            continue;
        }
        for (i, (version, id, text)) in history.iter().enumerate() {
            let number = i as u32 + 1;
            ids.insert((subject.clone(), number), RegisteredIds { id: *id, version: *version });
            if i < local.len() {
                continue;
            }
            let path = dir.join(&subject).join(format!("v{number}.avsc"));
            std::fs::create_dir_all(dir.join(&subject)).map_err(|e| RegistryVerbError::Usage(e.to_string()))?;
            let pretty = serde_json::from_str::<serde_json::Value>(text)
                .and_then(|v| serde_json::to_string_pretty(&v))
                .unwrap_or_else(|_| text.clone());
            std::fs::write(&path, pretty + "\n").map_err(|e| RegistryVerbError::Usage(e.to_string()))?;
            notes.push(format!("{subject}: wrote v{number}.avsc (registry version {version}, ID {id})"));
        }
    }
    let contracts = Contracts::load(dir).map_err(|e| RegistryVerbError::Usage(e.to_string()))?;
    let mut lock = contracts.current_lock();
    for s in &mut lock.subjects {
        for v in &mut s.versions {
            if let Some(id) = ids.get(&(s.name.clone(), v.version)) {
                v.registry.insert(name.to_string(), id.clone());
            }
        }
    }
    contracts.write(&lock).map_err(|e| RegistryVerbError::Usage(format!("writing the lock: {e}")))?;
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::subject_directory;

    #[test]
    fn a_subject_names_exactly_one_directory_inside_the_contracts_directory() {
        for ok in ["orders-value", "com.shop.Order", "a:b", "x y"] {
            assert_eq!(subject_directory(ok), Ok(ok));
        }
        let long = "s".repeat(300);
        for bad in ["", ".", "..", "../..", "../x", "a/b", "/etc", "/etc/passwd", "a\\b", "a\0b", "a\nb", &long] {
            assert!(subject_directory(bad).is_err(), "{bad:?}");
        }
    }
}
