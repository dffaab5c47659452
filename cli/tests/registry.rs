//! `cargo contracts` against the local schema registry (a real Apicurio with the Confluent API): register records
//! IDs, check with the registry passes, a version registered behind the repository's back is reported (drift, and
//! the break it causes under the registry's level), pull adopts a subject, and an unreachable registry is exit 69.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;

use common::run_in;
use typed_kafka_avro::compat::CompatibilityLevel;
use typed_kafka_registry::SchemaRegistryClient;
use typed_kafka_registry::client::{Normalization, UnregisteredSchema};

const V1: &str = r#"{"type": "record", "name": "Order", "namespace": "shop", "fields": [
  {"name": "id", "type": "string"}, {"name": "total", "type": "long"}]}
"#;
const V2: &str = r#"{"type": "record", "name": "Order", "namespace": "shop", "fields": [
  {"name": "id", "type": "string"}, {"name": "total", "type": "long"},
  {"name": "note", "type": ["null", "string"], "default": null}]}
"#;
/// Registered behind the repository's back: `total` became a double. The registry accepts it (it reads v1's longs),
/// but the repository's v2, which keeps `total` a long, cannot read its data.
const ROGUE: &str = r#"{"type": "record", "name": "Order", "namespace": "shop", "fields": [
  {"name": "id", "type": "string"}, {"name": "total", "type": "double"}]}
"#;

fn fixture(name: &str, registry_url: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("typed-kafka-contracts-reg-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("typed-kafka.toml"),
        format!("[defaults]\nlevel = \"BACKWARD_TRANSITIVE\"\n\n[registries.local]\nurl = \"{registry_url}\"\n"),
    )
    .unwrap();
    dir
}

#[test]
fn register_check_drift_pull_and_an_unreachable_registry() {
    let endpoints = typed_kafka_stack::shared().unwrap();
    let subject = format!(
        "it-contracts-{}-{}-value",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() % 100_000_000
    );
    let dir = fixture("flow", &endpoints.registry_url);
    std::fs::create_dir_all(dir.join(&subject)).unwrap();
    std::fs::write(dir.join(&subject).join("v1.avsc"), V1).unwrap();
    assert_eq!(run_in(&dir, &["bless", "--files-only"]).0, 0);

    // register: the deploy step records the registry's ID in the lock.
    let (code, out) = run_in(&dir, &["register", "--registry", "local"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&format!("registered: {subject} v1 as ID")), "{out}");
    let lock = std::fs::read_to_string(dir.join("typed-kafka.lock")).unwrap();
    assert!(lock.contains("[subject.version.registry.local]") && lock.contains("id = "), "{lock}");
    let (code, out) = run_in(&dir, &["register", "--registry", "local"]);
    assert_eq!(code, 0, "registering again changes nothing: {out}");
    assert!(out.contains("register: 0 new version(s)"), "{out}");
    assert_eq!(run_in(&dir, &["check", "--registry", "local"]).0, 0);
    // bless keeps the recorded IDs.
    assert_eq!(run_in(&dir, &["bless", "--files-only"]).0, 0);
    assert!(
        std::fs::read_to_string(dir.join("typed-kafka.lock")).unwrap().contains("[subject.version.registry.local]")
    );

    // Someone registers a version directly, which the repository does not hold.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = SchemaRegistryClient::builder([endpoints.registry_url.as_str()]).build().unwrap();
    let level = runtime.block_on(async {
        client.register(&subject, &UnregisteredSchema::avro(ROGUE), Normalization::AsGiven).await.unwrap();
        client.effective_compatibility(&subject).await.unwrap()
    });
    assert_ne!(level, CompatibilityLevel::None);
    // The repository moves on to a v2 that is compatible with its own history, but not with the rogue version.
    std::fs::write(dir.join(&subject).join("v2.avsc"), V2).unwrap();
    assert_eq!(run_in(&dir, &["bless", "--files-only"]).0, 0, "compatible with the committed history");
    let (code, out) = run_in(&dir, &["check", "--registry", "local", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert!(findings.iter().any(|f| f["rule"] == "REGISTRY_DRIFT"), "{out}");
    let mismatch = findings.iter().find(|f| f["rule"] == "TYPE_MISMATCH").expect("the break against the registry");
    assert_eq!(mismatch["path"], "/fields/total");
    assert_eq!(mismatch["level"], level.to_string(), "the registry's level for the subject");
    assert_eq!(mismatch["against"], 2, "registry version 2");

    // pull adopts the registry's history into an empty repository.
    let adopted = fixture("pull", &endpoints.registry_url);
    let (code, out) = run_in(&adopted, &["pull", "--registry", "local", &subject]);
    assert_eq!(code, 0, "{out}");
    assert!(adopted.join(&subject).join("v2.avsc").exists(), "{out}");
    let v2: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(adopted.join(&subject).join("v2.avsc")).unwrap()).unwrap();
    assert_eq!(v2["fields"][1]["type"], "double", "the rogue version, as registered");
    assert!(
        std::fs::read_to_string(adopted.join("typed-kafka.lock")).unwrap().contains("[subject.version.registry.local]")
    );

    // An unreachable registry is 69, never "incompatible".
    let down = fixture("down", "http://127.0.0.1:9");
    std::fs::create_dir_all(down.join(&subject)).unwrap();
    std::fs::write(down.join(&subject).join("v1.avsc"), V1).unwrap();
    assert_eq!(run_in(&down, &["bless", "--files-only"]).0, 0);
    let (code, out) = run_in(&down, &["check", "--registry", "local"]);
    assert_eq!(code, 69, "{out}");
    assert_eq!(run_in(&down, &["check", "--registry", "nowhere"]).0, 64, "an unknown registry name is a usage error");

    for d in [dir, adopted, down] {
        let _ = std::fs::remove_dir_all(d);
    }
}
