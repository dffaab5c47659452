//! Contract tests: a typed topic's Avro key and value types still derive the schemas committed as the latest
//! versions of their subjects under `schemas/` (see `cargo contracts`).
//!
//! [`topic!`](crate::topic!) checks this at compile time already, for every part of a type's schema that const
//! evaluation can see; the test here compares the schema each type writes at run time, so it also covers the rest
//! (hand-written `AvroType` impls, pointees other than the type itself) and reports subjects with no committed
//! version.
//!
//! ```
//! use typed_kafka::KafkaRecord;
//!
//! #[derive(KafkaRecord)]
//! struct Order { id: String, total_cents: i64 }
//! typed_kafka::topic! { pub ORDERS: "orders", key: String, value: Order; }
//!
//! #[cfg(test)]
//! mod tests {
//!     // One #[test] per topic; keep "contract" in the names, `cargo contracts bless` runs them by that filter.
//!     typed_kafka::contract_test!(orders_contract: super::ORDERS);
//! }
//! # fn main() {}
//! ```
//!
//! - The contracts directory is `$TYPED_KAFKA_SCHEMAS_DIR`, or the nearest `schemas/` holding a
//!   `typed-kafka.toml` above the crate's manifest. Without one (a packaged crate) the test passes and says so.
//! - `TYPED_KAFKA_CONTRACTS=off` turns the check off, for bootstrapping a new type.
//! - `TYPED_KAFKA_BLESS=1` writes the derived schema as the subject's next version instead of failing;
//!   `cargo contracts bless` does that, then checks the new versions against their history and records them in
//!   the lock.
//! - The comparison uses the resolution form: defaults, aliases and logical types count; documentation does not.

use std::path::{Path, PathBuf};

use typed_kafka_avro::SchemaError;
use typed_kafka_avro::schema::resolution_form;

use crate::topic::Topic;

pub use typed_kafka_contract_files::{
    BLESS_ENV, CONFIG_FILE, CONTRACTS_ENV, LOCK_FILE, SCHEMAS_DIR_ENV, version_number,
};

/// A contract that does not hold.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// The type's derived schema differs from the subject's latest committed version.
    #[error(
        "{type_name} no longer matches {file} (subject {subject}) at {path}: {what}. Run `cargo contracts bless` \
         to record it as the next version (it is refused if it breaks the subject's compatibility level)"
    )]
    Drifted {
        /// The subject.
        subject: String,
        /// The Rust type.
        type_name: String,
        /// The latest committed file.
        file: String,
        /// The first differing path, as a JSON pointer into the schema.
        path: String,
        /// What differs there.
        what: String,
    },
    /// The subject has no committed version yet.
    #[error(
        "{type_name} has no committed contract: {dir} holds no version of subject {subject}. Run `cargo contracts \
         bless` to write v1 (or set TYPED_KAFKA_CONTRACTS=off while bootstrapping)"
    )]
    Missing {
        /// The subject.
        subject: String,
        /// The Rust type.
        type_name: String,
        /// The subject's directory.
        dir: String,
    },
    /// The type's schema is unusable, or a committed file is not JSON.
    #[error("{0}")]
    Schema(#[from] SchemaError),
    /// Reading or writing a contract file failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        message: String,
    },
}

/// What a contract test found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContractOutcome {
    /// Every subject's latest version is the derived schema.
    Holds,
    /// `TYPED_KAFKA_BLESS=1`: these files were written.
    Written(Vec<PathBuf>),
    /// Not checked, and why.
    Skipped(String),
}

pub use crate::subject::Subjects;

/// The contracts directory for a crate at `manifest_dir`: `$TYPED_KAFKA_SCHEMAS_DIR` (relative to the crate), else
/// the nearest `schemas/` holding a [`CONFIG_FILE`] at or above it.
pub fn schemas_dir(manifest_dir: &str) -> Option<PathBuf> {
    let over = std::env::var_os(SCHEMAS_DIR_ENV).map(PathBuf::from);
    typed_kafka_contract_files::schemas_dir(Path::new(manifest_dir), over.as_deref())
}

/// The first place two JSON values differ, as a pointer and a description.
fn first_difference(ours: &serde_json::Value, theirs: &serde_json::Value, at: &str) -> Option<(String, String)> {
    use serde_json::Value;
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let here = format!("{at}/{k}");
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => {
                        if let Some(d) = first_difference(x, y, &here) {
                            return Some(d);
                        }
                    }
                    (Some(x), None) => return Some((here, format!("the type adds {x}"))),
                    (None, Some(y)) => return Some((here, format!("the type drops {y}"))),
                    (None, None) => {}
                }
            }
            None
        }
        (Value::Array(a), Value::Array(b)) => {
            // Fields are easier to find by name than by index.
            let seg = |i: usize, v: &Value| {
                v.get("name").and_then(Value::as_str).map_or_else(|| i.to_string(), str::to_string)
            };
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                if let Some(d) = first_difference(x, y, &format!("{at}/{}", seg(i, x))) {
                    return Some(d);
                }
            }
            let n = a.len().min(b.len());
            match (a.get(n), b.get(n)) {
                (Some(x), _) => Some((format!("{at}/{}", seg(n, x)), format!("the type adds {x}"))),
                (None, Some(y)) => Some((format!("{at}/{}", seg(n, y)), format!("the type drops {y}"))),
                (None, None) => None,
            }
        }
        (x, y) if x == y => None,
        (x, y) => Some((at.to_string(), format!("the type has {x} where the contract has {y}"))),
    }
}

fn io(path: &Path, e: impl std::fmt::Display) -> ContractError {
    ContractError::Io { path: path.display().to_string(), message: e.to_string() }
}

/// The latest `vN.avsc` of a subject directory, with N.
fn latest(dir: &Path) -> Result<Option<(u32, PathBuf)>, ContractError> {
    typed_kafka_contract_files::latest(dir).map_err(|e| io(dir, e))
}

/// Checks (or, with `TYPED_KAFKA_BLESS=1`, writes) the contracts of topic `T`'s Avro key and value types, as the
/// environment says (`TYPED_KAFKA_CONTRACTS`, `TYPED_KAFKA_SCHEMAS_DIR`, `TYPED_KAFKA_BLESS`).
pub fn verify<T: Topic>(manifest_dir: &str) -> Result<ContractOutcome, ContractError> {
    if typed_kafka_contract_files::is_off(std::env::var(CONTRACTS_ENV).ok().as_deref()) {
        return Ok(ContractOutcome::Skipped("TYPED_KAFKA_CONTRACTS=off".into()));
    }
    let Some(schemas) = schemas_dir(manifest_dir) else {
        return Ok(ContractOutcome::Skipped(format!("no schemas/typed-kafka.toml above {manifest_dir}")));
    };
    verify_in::<T>(&schemas, std::env::var(BLESS_ENV).is_ok_and(|v| v == "1"))
}

/// Checks topic `T`'s contracts in the contracts directory `schemas`; with `bless`, writes each drifted or
/// missing schema as its subject's next version instead of failing.
pub fn verify_in<T: Topic>(schemas: &Path, bless: bool) -> Result<ContractOutcome, ContractError> {
    let mut written = Vec::new();
    for (type_name, subject) in T::contract_subjects() {
        let (subject, info) = subject?;
        let derived: serde_json::Value = serde_json::from_str(&resolution_form(info.json())?)
            .map_err(|e| SchemaError::Invalid { reason: e.to_string() })?;
        let dir = schemas.join(&subject);
        let next = match latest(&dir)? {
            Some((n, file)) => {
                let text = std::fs::read_to_string(&file).map_err(|e| io(&file, e))?;
                let committed: serde_json::Value = serde_json::from_str(&resolution_form(&text)?)
                    .map_err(|e| SchemaError::Invalid { reason: e.to_string() })?;
                let Some((path, what)) = first_difference(&derived, &committed, "") else { continue };
                if !bless {
                    return Err(ContractError::Drifted {
                        subject,
                        type_name: type_name.to_string(),
                        file: file.display().to_string(),
                        path,
                        what,
                    });
                }
                n + 1
            }
            None if bless => 1,
            None => {
                return Err(ContractError::Missing {
                    subject,
                    type_name: type_name.to_string(),
                    dir: dir.display().to_string(),
                });
            }
        };
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let pretty: serde_json::Value =
            serde_json::from_str(info.json()).map_err(|e| SchemaError::Invalid { reason: e.to_string() })?;
        let file = dir.join(format!("v{next}.avsc"));
        let text = serde_json::to_string_pretty(&pretty).map_err(|e| io(&file, e))? + "\n";
        std::fs::write(&file, text).map_err(|e| io(&file, e))?;
        written.push(file);
    }
    Ok(if written.is_empty() { ContractOutcome::Holds } else { ContractOutcome::Written(written) })
}

/// Generates a `#[test]` per typed topic that checks its contracts (see the [module docs](mod@crate::contract)).
#[macro_export]
macro_rules! contract_test {
    ($($test:ident : $topic:ty),+ $(,)?) => {$(
        #[test]
        fn $test() {
            match $crate::contract::verify::<$topic>(::core::env!("CARGO_MANIFEST_DIR")) {
                ::core::result::Result::Ok(outcome) => ::std::println!("{}: {outcome:?}", ::core::stringify!($topic)),
                ::core::result::Result::Err(e) => ::core::panic!("{e}"),
            }
        }
    )+};
}
