//! The offline check of the contracts: the lock is current, no committed version was edited, deleted or
//! renumbered, each version is compatible with its history under its subject's level, and approvals match
//! exactly.

use serde::Serialize;
use typed_kafka_avro::compat::{CheckOptions, CompatibilityLevel, Direction, Incompatibility, check_level};
use typed_kafka_avro::schema::Schema;

use crate::contracts::{Contracts, LOCK_FILE, hex, lock_entry, resolution_fingerprint};

/// What kind of finding, which decides the exit code. The most serious kind found wins: an edited history, then a
/// break, then a tightened rule, then drift (an unblessed breaking version is reported as the break, not as a
/// stale lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The lock or an approval no longer matches the files: run `bless` (exit 2).
    Drift,
    /// A version adds or changes a data-contract rule (`confluent:rules`): records that kept the earlier rules
    /// may now be refused (exit 4). Approved like a break.
    RuleTightened,
    /// A version breaks its history (exit 1).
    Incompatible,
    /// A committed version was edited, deleted or renumbered (exit 3).
    HistoryEdited,
}

impl Kind {
    /// The process exit code for this kind.
    pub fn exit_code(self) -> i32 {
        match self {
            Kind::Incompatible => 1,
            Kind::Drift => 2,
            Kind::HistoryEdited => 3,
            Kind::RuleTightened => 4,
        }
    }
}

/// One finding: a rule ID, where, what and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The kind (decides the exit code).
    pub kind: Kind,
    /// The rule: an Avro compatibility rule (`READER_FIELD_MISSING_DEFAULT_VALUE`, …) or a contract rule
    /// (`LOCK_STALE`, `VERSION_EDITED`, …).
    pub rule: String,
    /// The subject.
    pub subject: String,
    /// The version the finding is about.
    pub version: Option<u32>,
    /// The earlier version it was checked against.
    pub against: Option<u32>,
    /// The level, for compatibility findings.
    pub level: Option<String>,
    /// Which way data flows: `new_reads_old` or `old_reads_new`.
    pub direction: Option<String>,
    /// The file, relative to the contracts directory.
    pub file: Option<String>,
    /// The path inside the schema, for compatibility findings.
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// The outcome of a check.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Every finding.
    pub findings: Vec<Finding>,
    /// How many subjects and version pairs were looked at.
    pub subjects: usize,
    /// Version pairs checked for compatibility.
    pub pairs_checked: usize,
}

impl Report {
    /// The exit code: 0 when there is no finding, else that of the most serious kind.
    pub fn exit_code(&self) -> i32 {
        self.findings.iter().map(|f| f.kind).max().map_or(0, Kind::exit_code)
    }
}

fn finding(kind: Kind, rule: &str, subject: &str, version: Option<u32>, message: String, fix: &str) -> Finding {
    Finding {
        kind,
        rule: rule.to_string(),
        subject: subject.to_string(),
        version,
        against: None,
        level: None,
        direction: None,
        file: None,
        path: None,
        message,
        fix: fix.to_string(),
    }
}

const BLESS: &str = "run `cargo contracts bless` to record the new version in the lock";
const RESTORE: &str =
    "committed versions are immutable: restore the file from version control and add the change as a new version";

/// Checks the contracts offline.
pub fn check(contracts: &Contracts) -> Report {
    let mut report = Report { subjects: contracts.subjects.len(), ..Report::default() };
    let out = &mut report.findings;
    // Entries of the directory that are not version files, or not read at all: each a finding on its file.
    let strays = contracts.stray_files.iter().map(|stray| {
        let message = format!("{stray} is not a version file (expected v<N>.avsc, N from 1, no leading zeros)");
        (stray, "STRAY_FILE", message, "rename it to the next v<N>.avsc or move it out of the contracts directory")
    });
    let refused = contracts.refused_files.iter().map(|(file, reason)| {
        let message = format!("{file} {reason}; it was not read");
        let fix = "replace it with a regular file of at most 16 MiB inside the contracts directory, or remove it";
        (file, "UNREADABLE_FILE", message, fix)
    });
    for (file, rule, message, fix) in strays.chain(refused) {
        let subject = file.split('/').next().unwrap_or_default();
        let mut f = finding(Kind::Drift, rule, subject, None, message, fix);
        f.file = Some(file.clone());
        out.push(f);
    }
    history_against_lock(contracts, out);
    for (subject, versions) in &contracts.subjects {
        // Versions are numbered 1, 2, 3, … with no gap (a gap is a deleted or renumbered version).
        for (i, v) in versions.iter().enumerate() {
            if v.number != i as u32 + 1 {
                let mut f = finding(
                    Kind::HistoryEdited,
                    "VERSION_GAP",
                    subject,
                    Some(v.number),
                    format!(
                        "versions must be numbered from 1 without gaps; found v{} where v{} belongs",
                        v.number,
                        i + 1
                    ),
                    RESTORE,
                );
                f.file = Some(v.file.clone());
                out.push(f);
                break;
            }
        }
        for v in versions {
            if let Err(e) = &v.schema {
                let mut f = finding(
                    Kind::Incompatible,
                    "INVALID_SCHEMA",
                    subject,
                    Some(v.number),
                    format!("not a valid Avro schema: {e}"),
                    "fix the schema text",
                );
                f.file = Some(v.file.clone());
                out.push(f);
            }
        }
        report.pairs_checked += compatibility(contracts, subject, out);
    }
    approvals(contracts, out);
    report
}

/// Lock entries against the files: edited, deleted or renumbered versions, and versions the lock lacks.
fn history_against_lock(contracts: &Contracts, out: &mut Vec<Finding>) {
    let Some(lock) = &contracts.lock else {
        if !contracts.subjects.is_empty() {
            out.push(finding(Kind::Drift, "LOCK_MISSING", "", None, format!("there is no {LOCK_FILE}"), BLESS));
        }
        return;
    };
    for locked in &lock.subjects {
        let versions = contracts.subjects.get(&locked.name);
        for lv in &locked.versions {
            let file = versions.and_then(|vs| vs.iter().find(|v| v.file == lv.file));
            let Some(file) = file else {
                let mut f = finding(
                    Kind::HistoryEdited,
                    "VERSION_DELETED",
                    &locked.name,
                    Some(lv.version),
                    format!("{} (v{}) is in the lock but not in the repository", lv.file, lv.version),
                    RESTORE,
                );
                f.file = Some(lv.file.clone());
                out.push(f);
                continue;
            };
            let now = lock_entry(file);
            let edited = match &now {
                Ok(now) => now.resolution != lv.resolution || now.pcf_rabin != lv.pcf_rabin,
                Err(_) => true,
            };
            if file.number != lv.version || edited {
                let what = if file.number != lv.version { "was renumbered" } else { "was edited after it was locked" };
                let mut f = finding(
                    Kind::HistoryEdited,
                    "VERSION_EDITED",
                    &locked.name,
                    Some(lv.version),
                    format!("{} {what} (locked resolution fingerprint {})", lv.file, lv.resolution),
                    RESTORE,
                );
                f.file = Some(lv.file.clone());
                out.push(f);
            }
        }
    }
    for (subject, versions) in &contracts.subjects {
        let locked = lock.subjects.iter().find(|s| &s.name == subject);
        for v in versions {
            if !locked.is_some_and(|s| s.versions.iter().any(|lv| lv.file == v.file)) {
                let mut f = finding(
                    Kind::Drift,
                    "LOCK_STALE",
                    subject,
                    Some(v.number),
                    format!("{} is not in the lock yet", v.file),
                    BLESS,
                );
                f.file = Some(v.file.clone());
                out.push(f);
            }
        }
    }
}

/// Each version against its history under the subject's level; approved breaks are skipped. Returns the number
/// of versions checked.
fn compatibility(contracts: &Contracts, subject: &str, out: &mut Vec<Finding>) -> usize {
    let Some(versions) = contracts.subjects.get(subject) else { return 0 };
    let level = contracts.level(subject);
    let options = CheckOptions { semantic: contracts.config.defaults.semantic };
    let mut checked = 0;
    for (i, v) in versions.iter().enumerate().skip(1) {
        let Ok(new) = &v.schema else { continue };
        let history: Vec<Schema> = versions[..i].iter().filter_map(|h| h.schema.clone().ok()).collect();
        if history.len() != i {
            continue; // an invalid earlier version is reported on its own
        }
        checked += 1;
        let findings = check_level(new, &history, level, &options);
        let rules = rule_changes(&versions[i - 1].text, &v.text);
        if findings.is_empty() && rules.is_empty() {
            continue;
        }
        let resolution = resolution_fingerprint(&v.text).map(hex).unwrap_or_default();
        let approved =
            contracts.config.breaks.iter().any(|b| {
                b.subject == subject && b.version == v.number && b.resolution.eq_ignore_ascii_case(&resolution)
            });
        if approved {
            continue;
        }
        let approve = format!(
            "or, if it is intended, approve it in typed-kafka.toml: [[breaks]] subject = \"{subject}\", version = {}, \
             resolution = \"{resolution}\", reason = \"...\" (or bless --allow-break)",
            v.number
        );
        for (rule, path, message) in rules {
            let against = versions[i - 1].number;
            let mut f = finding(Kind::RuleTightened, rule, subject, Some(v.number), message, "");
            f.against = Some(against);
            f.path = Some(path);
            f.file = Some(v.file.clone());
            f.fix = format!(
                "make sure every producer's records keep the rule (records written before it may not), then {approve}"
            );
            out.push(f);
        }
        for vf in findings {
            let against = versions[vf.index].number;
            for inc in &vf.incompatibilities {
                let mut f = incompatible(inc, vf.direction, level, &format!("v{}", v.number), &format!("v{against}"));
                f.subject = subject.to_string();
                f.version = Some(v.number);
                f.against = Some(against);
                f.file = Some(v.file.clone());
                f.fix = format!(
                    "{}; or, if the break is intended, approve it in typed-kafka.toml: [[breaks]] subject = \"{subject}\", \
                     version = {}, resolution = \"{resolution}\", reason = \"...\" (or bless --allow-break)",
                    f.fix, v.number
                );
                out.push(f);
            }
        }
    }
    checked
}

/// The data-contract rules (`confluent:rules`) of a schema text, by where they are (`/` for the top record,
/// `/fields/total`, `/fields/lines/items/fields/sku` for a record defined inside a field's type) and name: their
/// expressions. A named type used by name again is not walked twice.
fn rules_of(text: &str) -> std::collections::BTreeMap<(String, String), String> {
    fn rules(v: &serde_json::Value, at: &str, out: &mut std::collections::BTreeMap<(String, String), String>) {
        for r in v.get("confluent:rules").and_then(|r| r.as_array()).into_iter().flatten() {
            let name = r.get("name").and_then(|n| n.as_str()).unwrap_or_default().to_string();
            let expr = r.get("expr").and_then(|e| e.as_str()).unwrap_or_default().to_string();
            let path = if at.is_empty() { "/".to_string() } else { at.to_string() };
            out.insert((path, name), expr);
        }
    }
    fn walk(v: &serde_json::Value, at: &str, out: &mut std::collections::BTreeMap<(String, String), String>) {
        match v {
            serde_json::Value::Array(branches) => {
                for b in branches {
                    let name = match b {
                        serde_json::Value::Object(o) => o.get("name").or(o.get("type")).and_then(|n| n.as_str()),
                        serde_json::Value::String(s) => Some(s.as_str()),
                        _ => None,
                    };
                    walk(b, &format!("{at}/{}", name.unwrap_or("?")), out);
                }
            }
            serde_json::Value::Object(o) => match o.get("type").and_then(|t| t.as_str()) {
                Some("record") => {
                    rules(v, at, out);
                    for f in o.get("fields").and_then(|f| f.as_array()).into_iter().flatten() {
                        let name = f.get("name").and_then(|n| n.as_str()).unwrap_or_default();
                        let path = format!("{at}/fields/{name}");
                        rules(f, &path, out);
                        if let Some(t) = f.get("type") {
                            walk(t, &path, out);
                        }
                    }
                }
                Some("array") => o.get("items").into_iter().for_each(|t| walk(t, &format!("{at}/items"), out)),
                Some("map") => o.get("values").into_iter().for_each(|t| walk(t, &format!("{at}/values"), out)),
                _ => {}
            },
            _ => {}
        }
    }
    let mut out = std::collections::BTreeMap::new();
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        walk(&v, "", &mut out);
    }
    out
}

/// The rules `new` adds to `old`'s or changes: `(rule ID, path, message)` each. A rule dropped loosens the contract
/// and is no finding.
fn rule_changes(old: &str, new: &str) -> Vec<(&'static str, String, String)> {
    let before = rules_of(old);
    rules_of(new)
        .into_iter()
        .filter_map(|((path, name), expr)| match before.get(&(path.clone(), name.clone())) {
            None => {
                Some(("RULE_ADDED", path, format!("rule `{name}` ({expr}) is new: records that break it are refused")))
            }
            Some(was) if *was != expr => Some((
                "RULE_CHANGED",
                path,
                format!(
                    "rule `{name}` changed from ({was}) to ({expr}): records the old rule let through may be refused"
                ),
            )),
            Some(_) => None,
        })
        .collect()
}

/// How to fix a break of `rule`.
fn hint(rule: &str) -> &'static str {
    match rule {
        "READER_FIELD_MISSING_DEFAULT_VALUE" => {
            "give the field a default (#[kafka(default = ...)], or make it Option<T>)"
        }
        "MISSING_ENUM_SYMBOLS" => {
            "keep the symbols, or give the enum a default symbol (#[kafka(default)] on a variant)"
        }
        "TYPE_MISMATCH" => {
            "keep the type, or change it only along Avro's promotions (int→long→float→double, string↔bytes)"
        }
        "NAME_MISMATCH" => "keep the name, or add the old name as an alias (#[kafka(aliases = [...])])",
        "MISSING_UNION_BRANCH" => "keep the union branch (or the enum variant) that old data uses",
        "FIXED_SIZE_MISMATCH" => "keep the fixed size",
        _ => "undo the change, or make it in a compatible way",
    }
}

/// The finding for one incompatibility between a version labelled `new` and an earlier one labelled `old`,
/// under `level` (the caller adds where: subject, versions, file).
pub(crate) fn incompatible(
    inc: &Incompatibility,
    direction: Direction,
    level: CompatibilityLevel,
    new: &str,
    old: &str,
) -> Finding {
    let (id, reading) = match direction {
        Direction::NewReadsOld => ("new_reads_old", format!("{new} cannot read data written with {old}")),
        Direction::OldReadsNew => ("old_reads_new", format!("{old} cannot read data written with {new}")),
    };
    Finding {
        kind: Kind::Incompatible,
        rule: inc.rule.id().to_string(),
        subject: String::new(),
        version: None,
        against: None,
        level: Some(level.to_string()),
        direction: Some(id.to_string()),
        file: None,
        path: Some(inc.path.clone()),
        message: format!("{reading} ({level}): {}", inc.message),
        fix: hint(inc.rule.id()).to_string(),
    }
}

/// Approvals that no longer match their version: the approved schema is not the one committed.
fn approvals(contracts: &Contracts, out: &mut Vec<Finding>) {
    for b in &contracts.config.breaks {
        let version = contracts.subjects.get(&b.subject).and_then(|vs| vs.iter().find(|v| v.number == b.version));
        let now = version.and_then(|v| resolution_fingerprint(&v.text).ok()).map(hex);
        if now.as_deref().map(str::to_ascii_lowercase) != Some(b.resolution.to_ascii_lowercase()) {
            out.push(finding(
                Kind::Drift,
                "APPROVAL_MISMATCH",
                &b.subject,
                Some(b.version),
                format!(
                    "the approved break ({}) names resolution {}, but v{} is {}",
                    b.reason,
                    b.resolution,
                    b.version,
                    now.unwrap_or_else(|| "missing".to_string())
                ),
                "approve the schema that is committed (its resolution fingerprint), or remove the approval",
            ));
        }
    }
}

/// The checks of one reader/writer pair: under `level`, `new` against `old` (`None`: new reads old only).
pub fn pair(new: &Schema, old: &Schema, level: Option<CompatibilityLevel>, semantic: bool) -> Vec<Finding> {
    let level = level.unwrap_or(CompatibilityLevel::Backward);
    let options = CheckOptions { semantic };
    let mut out = Vec::new();
    for vf in check_level(new, std::slice::from_ref(old), level, &options) {
        for inc in &vf.incompatibilities {
            out.push(incompatible(inc, vf.direction, level, "the reader schema", "the writer schema"));
        }
    }
    out
}
