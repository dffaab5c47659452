//! `cargo contracts` on fixture contract directories: the exit codes CI tells apart, each break named with its
//! path in text and JSON, bless, approvals, GitHub annotations, and the pairwise verb.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::run_in;

const V1: &str = r#"{
  "type": "record", "name": "Order", "namespace": "shop",
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "total", "type": "long"}
  ]
}
"#;

/// v1 plus a field with a default: BACKWARD and FORWARD compatible.
const V2_COMPATIBLE: &str = r#"{
  "type": "record", "name": "Order", "namespace": "shop",
  "doc": "An order.",
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "total", "type": "long"},
    {"name": "note", "type": ["null", "string"], "default": null}
  ]
}
"#;

/// Two breaks for a reader of v1 data: a new field without a default, and long → int.
const V2_BREAKING: &str = r#"{
  "type": "record", "name": "Order", "namespace": "shop",
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "total", "type": "int"},
    {"name": "currency", "type": "string"}
  ]
}
"#;

struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let dir = std::env::temp_dir().join(format!("typed-kafka-contracts-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Fixture { dir }
    }

    fn write(&self, file: &str, text: &str) -> &Self {
        let path = self.dir.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    fn run(&self, args: &[&str]) -> (i32, String) {
        run_in(&self.dir, args)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_compatible_change_is_blessed_and_then_checks_clean() {
    let f = Fixture::new("compatible");
    f.write("orders-value/v1.avsc", V1);
    let (code, out) = f.run(&["check"]);
    assert_eq!(code, 2, "no lock yet is drift: {out}");
    assert!(out.contains("LOCK_MISSING") && out.contains("cargo contracts bless"), "{out}");
    assert_eq!(f.run(&["bless", "--files-only"]).0, 0);
    assert_eq!(f.run(&["check"]), (0, f.run(&["check"]).1));

    f.write("orders-value/v2.avsc", V2_COMPATIBLE);
    let (code, out) = f.run(&["check"]);
    assert_eq!(code, 2, "a version the lock lacks is drift: {out}");
    assert!(out.contains("LOCK_STALE") && out.contains("orders-value/v2.avsc"), "{out}");
    let (code, out) = f.run(&["bless", "--files-only"]);
    assert_eq!(code, 0, "{out}");
    let lock = std::fs::read_to_string(f.dir.join("typed-kafka.lock")).unwrap();
    assert!(lock.contains("version = 2") && lock.contains("pcf_rabin") && lock.contains("resolution"), "{lock}");
    let (code, out) = f.run(&["check"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(
            "0 incompatible, 0 drift, 0 history edited, 0 rule(s) tightened in 1 subject(s), 1 version(s) checked"
        ),
        "{out}"
    );
}

#[test]
fn an_incompatible_change_names_every_break_with_its_path_in_text_and_json() {
    let f = Fixture::new("incompatible");
    f.write("orders-value/v1.avsc", V1);
    assert_eq!(f.run(&["bless", "--files-only"]).0, 0);
    f.write("orders-value/v2.avsc", V2_BREAKING);
    let (code, out) = f.run(&["bless", "--files-only"]);
    assert_eq!(code, 1, "bless refuses a break: {out}");
    assert!(out.contains("the lock was not written"), "{out}");
    let (code, out) = f.run(&["check"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("READER_FIELD_MISSING_DEFAULT_VALUE") && out.contains("at /fields/currency"), "{out}");
    assert!(out.contains("TYPE_MISMATCH") && out.contains("at /fields/total"), "{out}");
    assert!(out.contains("v2 against v1") && out.contains("fix: "), "{out}");

    let (code, out) = f.run(&["check", "--format", "json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["exit_code"], 1);
    let breaks: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "incompatible")
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["path"].as_str().unwrap().to_string()))
        .collect();
    assert!(breaks.contains(&("READER_FIELD_MISSING_DEFAULT_VALUE".into(), "/fields/currency".into())), "{breaks:?}");
    assert!(breaks.contains(&("TYPE_MISMATCH".into(), "/fields/total".into())), "{breaks:?}");

    // Under FORWARD the old schema reads the new one's data: `currency` is skipped and int promotes to long, so
    // only the stale lock is left (exit 2). Removing `id` breaks it: v1 has no default for it.
    f.write("typed-kafka.toml", "[subjects.\"orders-value\"]\nlevel = \"FORWARD\"\n");
    assert_eq!(f.run(&["check"]).0, 2);
    f.write("orders-value/v2.avsc", &V2_BREAKING.replace(r#"{"name": "id", "type": "string"},"#, ""));
    let (code, out) = f.run(&["check", "--format", "json"]);
    assert_eq!(code, 1, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let forward = doc["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "incompatible").unwrap();
    assert_eq!((forward["direction"].as_str(), forward["path"].as_str()), (Some("old_reads_new"), Some("/fields/id")));
    f.write("typed-kafka.toml", "[subjects.\"orders-value\"]\nlevel = \"NONE\"\n");
    assert_eq!(f.run(&["bless", "--files-only"]).0, 0, "no checks under NONE");
}

#[test]
fn an_approved_break_passes_only_for_the_exact_schema() {
    let f = Fixture::new("approved");
    f.write("orders-value/v1.avsc", V1);
    assert_eq!(f.run(&["bless", "--files-only"]).0, 0);
    f.write("orders-value/v2.avsc", V2_BREAKING);
    let (_, out) = f.run(&["check", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let breaking = doc["findings"].as_array().unwrap().iter().find(|f| f["kind"] == "incompatible").unwrap();
    let fix = breaking["fix"].as_str().unwrap().to_string();
    let resolution = fix.split("resolution = \"").nth(1).unwrap().split('"').next().unwrap().to_string();
    f.write(
        "typed-kafka.toml",
        &format!(
            "[[breaks]]\nsubject = \"orders-value\"\nversion = 2\nresolution = \"{resolution}\"\nreason = \"all readers upgraded\"\n"
        ),
    );
    assert_eq!(f.run(&["bless", "--files-only"]).0, 0, "approved");
    assert_eq!(f.run(&["check"]).0, 0);
    // Any other v2 is not approved: the approval no longer matches (drift), and v2 is an edited locked version.
    f.write("orders-value/v2.avsc", &V2_BREAKING.replace("currency", "currency_code"));
    let (code, out) = f.run(&["check"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("APPROVAL_MISMATCH") && out.contains("VERSION_EDITED"), "{out}");
}

#[test]
fn edited_deleted_or_renumbered_history_is_exit_3() {
    let f = Fixture::new("history");
    f.write("orders-value/v1.avsc", V1).write("orders-value/v2.avsc", V2_COMPATIBLE);
    assert_eq!(f.run(&["bless", "--files-only"]).0, 0);
    // Edited.
    f.write("orders-value/v1.avsc", &V1.replace("\"long\"", "\"int\""));
    let (code, out) = f.run(&["check"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("VERSION_EDITED") && out.contains("orders-value/v1.avsc"), "{out}");
    assert_eq!(f.run(&["bless", "--files-only"]).0, 3, "bless does not paper over an edit");
    // A doc-only change is not an edit of the contract; whitespace neither.
    f.write(
        "orders-value/v1.avsc",
        &V1.replace("\"namespace\": \"shop\",", "\"namespace\": \"shop\", \"doc\": \"x\","),
    );
    assert_eq!(f.run(&["check"]).0, 0);
    // Deleted.
    std::fs::remove_file(f.dir.join("orders-value/v1.avsc")).unwrap();
    let (code, out) = f.run(&["check"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("VERSION_DELETED") && out.contains("VERSION_GAP"), "{out}");
    // Renumbered: v2 moved to v3.
    f.write("orders-value/v1.avsc", V1);
    std::fs::rename(f.dir.join("orders-value/v2.avsc"), f.dir.join("orders-value/v3.avsc")).unwrap();
    assert_eq!(f.run(&["check"]).0, 3);
}

#[test]
fn versions_are_ordered_by_number_not_by_listing() {
    let f = Fixture::new("ordering");
    // v10 sorts before v2 as text; as versions it comes last.
    let mut text = V1.to_string();
    f.write("orders-value/v1.avsc", &text);
    for n in 2..=10 {
        text = text.replacen(
            "\"fields\": [",
            &format!("\"fields\": [\n    {{\"name\": \"f{n}\", \"type\": \"int\", \"default\": 0}},"),
            1,
        );
        f.write(&format!("orders-value/v{n}.avsc"), &text);
    }
    f.write("typed-kafka.toml", "[defaults]\nlevel = \"FULL_TRANSITIVE\"\n");
    let (code, out) = f.run(&["bless", "--files-only"]);
    assert_eq!(code, 0, "{out}");
    let lock = std::fs::read_to_string(f.dir.join("typed-kafka.lock")).unwrap();
    let v2 = lock.find("v2.avsc").unwrap();
    let v10 = lock.find("v10.avsc").unwrap();
    assert!(v2 < v10, "the lock lists versions by number");
    assert!(f.run(&["check"]).1.contains("9 version(s) checked"));
}

#[test]
fn github_output_annotates_each_finding_and_writes_the_full_table_to_the_summary() {
    let f = Fixture::new("github");
    f.write("orders-value/v1.avsc", V1);
    assert_eq!(f.run(&["bless", "--files-only"]).0, 0);
    f.write("orders-value/v2.avsc", V2_BREAKING);
    let summary = f.dir.join("summary.md");
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-contracts"))
        .args(["check", "--format", "github", "--dir"])
        .arg(&f.dir)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let errors: Vec<&str> = stdout.lines().filter(|l| l.starts_with("::error ")).collect();
    assert!(errors.len() >= 3, "{stdout}");
    assert!(
        errors
            .iter()
            .any(|l| l.contains("title=TYPE_MISMATCH orders-value v1→v2") && l.contains("orders-value/v2.avsc")),
        "{stdout}"
    );
    let table = std::fs::read_to_string(&summary).unwrap();
    assert!(
        table.contains("| incompatible | `READER_FIELD_MISSING_DEFAULT_VALUE` |")
            && table.contains("`/fields/currency`"),
        "{table}"
    );
}

#[test]
fn the_pairwise_verb_and_usage_errors() {
    let f = Fixture::new("pair");
    f.write("r.avsc", V2_BREAKING).write("w.avsc", V1);
    let r = f.dir.join("r.avsc");
    let w = f.dir.join("w.avsc");
    let pair = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_cargo-contracts"))
            .args(["compat", "--reader"])
            .arg(&r)
            .arg("--writer")
            .arg(&w)
            .args(extra)
            .output()
            .unwrap();
        (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, out) = pair(&["--format", "json"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["findings"].as_array().unwrap().len(), 2, "{out}");
    // Reading the breaking schema's data with v1: `currency` is ignored, int promotes to long.
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-contracts"))
        .args(["compat", "--reader"])
        .arg(&w)
        .arg("--writer")
        .arg(&r)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(pair(&["--level", "NONE"]).0, 0);
    assert_eq!(pair(&["--level", "SIDEWAYS"]).0, 64);
    assert_eq!(run_in(&f.dir, &["frobnicate"]).0, 64);
    assert_eq!(run_in(&f.dir.join("missing"), &["check"]).0, 64, "no contracts directory is a usage error");
    f.write("typed-kafka.toml", "[defaults]\nlevel = 3\n");
    let (code, out) = run_in(&f.dir, &["check"]);
    assert_eq!(code, 64, "{out}");
    assert!(out.contains("typed-kafka.toml"), "{out}");
}

#[test]
fn diff_shows_the_change_between_two_versions_and_its_findings() {
    let f = Fixture::new("diff");
    f.write("orders-value/v1.avsc", V1).write("orders-value/v2.avsc", V2_BREAKING);
    let (code, out) = f.run(&["diff", "orders-value"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("--- orders-value/v1.avsc (v1)") && out.contains("+++ orders-value/v2.avsc (v2)"), "{out}");
    assert!(out.contains("-       \"type\": \"long\"") && out.contains("+       \"type\": \"int\""), "{out}");
    assert!(out.contains("TYPE_MISMATCH") && out.contains("/fields/total"), "{out}");
    assert_eq!(f.run(&["diff", "orders-value", "1", "1"]).0, 0);
    assert_eq!(f.run(&["diff", "orders-value", "1", "7"]).0, 64);
    assert_eq!(f.run(&["diff"]).0, 64);
}

#[test]
fn allow_break_approves_exactly_the_breaking_version_for_review() {
    let f = Fixture::new("allow-break");
    f.write("typed-kafka.toml", "# hand-written\n[defaults]\nlevel = \"BACKWARD\"\n");
    f.write("orders-value/v1.avsc", V1);
    assert_eq!(f.run(&["bless", "--files-only"]).0, 0);
    f.write("orders-value/v2.avsc", V2_BREAKING);
    let (code, out) = f.run(&["bless", "--files-only", "--allow-break", "all readers moved to v2 \"now\""]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("approved: orders-value v2 breaks its history"), "{out}");
    let config = std::fs::read_to_string(f.dir.join("typed-kafka.toml")).unwrap();
    assert!(config.starts_with("# hand-written\n"), "the hand-written part is kept: {config}");
    assert!(config.contains("reason = \"all readers moved to v2 \\\"now\\\"\""), "{config}");
    assert_eq!(f.run(&["check"]).0, 0, "approved and locked");
    // An edit of history is never approved by --allow-break.
    f.write("orders-value/v1.avsc", &V1.replace("\"id\"", "\"ident\""));
    assert_eq!(f.run(&["bless", "--files-only", "--allow-break", "no"]).0, 3);
}

#[test]
fn against_a_git_revision_an_edit_with_a_regenerated_lock_is_caught() {
    let f = Fixture::new("against");
    let git = |args: &[&str]| {
        let out = Command::new("git").arg("-C").arg(&f.dir).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q"]);
    git(&["config", "user.email", "ci@example.invalid"]);
    git(&["config", "user.name", "ci"]);
    std::fs::create_dir_all(f.dir.join("schemas")).unwrap();
    f.write("schemas/orders-value/v1.avsc", V1);
    let schemas = f.dir.join("schemas");
    assert_eq!(run_in(&schemas, &["bless", "--files-only"]).0, 0);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "v1"]);
    // Edit v1 and regenerate the lock: the lock alone no longer tells, the base revision does.
    f.write("schemas/orders-value/v1.avsc", &V1.replace("\"long\"", "\"int\""));
    std::fs::remove_file(schemas.join("typed-kafka.lock")).unwrap();
    assert_eq!(run_in(&schemas, &["bless", "--files-only"]).0, 0);
    assert_eq!(run_in(&schemas, &["check"]).0, 0);
    let (code, out) = run_in(&schemas, &["check", "--against", "HEAD"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("VERSION_EDITED") && out.contains("orders-value/v1.avsc differs from its version at HEAD"),
        "{out}"
    );
    assert_eq!(run_in(&schemas, &["check", "--against", "no-such-ref"]).0, 64);
}

#[test]
fn links_fifos_and_huge_files_in_the_tree_are_refused_not_read() {
    let f = Fixture::new("unreadable");
    f.write("orders-value/v1.avsc", V1);
    // A link to a file outside the tree (its text must never be quoted), a link to /dev/zero (which grew to
    // 6.5 GB in 20 s), a FIFO (which hung), a linked subject directory, and a 17 MiB sparse file.
    let outside = f.dir.with_extension("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("v1.avsc"), V1.replace("Order", "SecretOutside")).unwrap();
    std::os::unix::fs::symlink(outside.join("v1.avsc"), f.dir.join("orders-value/v2.avsc")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", f.dir.join("orders-value/v3.avsc")).unwrap();
    std::os::unix::fs::symlink(&outside, f.dir.join("linked-value")).unwrap();
    std::fs::create_dir_all(f.dir.join("payments-value")).unwrap();
    let fifo = Command::new("mkfifo").arg(f.dir.join("payments-value/v1.avsc")).status().unwrap();
    assert!(fifo.success());
    std::fs::create_dir_all(f.dir.join("big-value")).unwrap();
    std::fs::File::create(f.dir.join("big-value/v1.avsc")).unwrap().set_len(17 << 20).unwrap();
    let (code, out) = f.run(&["check"]);
    let _ = std::fs::remove_dir_all(&outside);
    assert_eq!(code, 2, "drift: {out}");
    for file in
        ["orders-value/v2.avsc", "orders-value/v3.avsc", "linked-value", "payments-value/v1.avsc", "big-value/v1.avsc"]
    {
        assert!(out.lines().any(|l| l.contains("UNREADABLE_FILE") && l.contains(file)), "{file}: {out}");
    }
    assert!(!out.contains("SecretOutside"), "{out}");
    // The pairwise verb reads only regular files too.
    let (reader, writer) = (f.dir.join("orders-value/v1.avsc"), f.dir.join("orders-value/v3.avsc"));
    let (reader, writer) = (reader.to_str().unwrap(), writer.to_str().unwrap());
    let (code, out) = f.run(&["compat", "--reader", reader, "--writer", writer]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("symbolic link"), "{out}");
}

/// v2 compatible, with rules: one on the record, one on a field, one inside an array's record.
const V2_RULES: &str = r#"{
  "type": "record", "name": "Order", "namespace": "shop",
  "confluent:rules": [{"name": "has_id", "expr": "size(this.id) > 0"}],
  "fields": [
    {"name": "id", "type": "string"},
    {"name": "total", "type": "long", "confluent:rules": [{"name": "total_min", "expr": "this >= 0"}]},
    {"name": "lines", "type": {"type": "array", "items": {"type": "record", "name": "Line", "fields": [
      {"name": "sku", "type": "string", "confluent:rules": [{"name": "sku_pattern", "expr": "this.matches('^[A-Z]+$')"}]}
    ]}}, "default": []}
  ]
}
"#;

/// A data-contract rule added or changed is a finding of its own (exit 4), not an Avro break; dropping one is none;
/// `bless --allow-break` approves it like a break.
#[test]
fn a_rule_added_or_tightened_is_a_finding_of_its_own() {
    let f = Fixture::new("rules");
    f.write("orders-value/v1.avsc", V1);
    assert_eq!(f.run(&["bless", "--files-only"]).0, 0);
    f.write("orders-value/v2.avsc", V2_RULES);
    assert_eq!(f.run(&["bless", "--files-only"]).0, 4, "bless refuses an unapproved rule change");
    let (code, out) = f.run(&["check", "--format", "json"]);
    assert_eq!(code, 4, "{out}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    let found: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "rule_tightened")
        .map(|f| (f["rule"].as_str().unwrap().to_string(), f["path"].as_str().unwrap().to_string()))
        .collect();
    let expected =
        [("RULE_ADDED", "/"), ("RULE_ADDED", "/fields/lines/items/fields/sku"), ("RULE_ADDED", "/fields/total")];
    assert_eq!(found, expected.map(|(r, p)| (r.to_string(), p.to_string())));
    let (code, out) = f.run(&["bless", "--files-only", "--allow-break", "shop rules from the data team"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(f.run(&["check"]).0, 0);

    // v3 tightens one rule and drops another: only the tightened one is a finding.
    let v3 = V2_RULES
        .replace("this >= 0", "this > 0")
        .replace(r#""confluent:rules": [{"name": "has_id", "expr": "size(this.id) > 0"}],"#, "");
    f.write("orders-value/v3.avsc", &v3);
    let (code, out) = f.run(&["check"]);
    assert_eq!(code, 4, "{out}");
    assert!(
        out.contains("rule tightened[RULE_CHANGED] rule `total_min` changed from (this >= 0) to (this > 0)"),
        "{out}"
    );
    assert!(!out.contains("has_id"), "a dropped rule loosens the contract: {out}");
}
