//! Findings for people (grouped by subject and version pair, with path and fix), for tools (one JSON document)
//! and for GitHub (annotations, at most ten of which GitHub shows per step, plus the full list in the step
//! summary).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::check::{Finding, Kind, Report};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people.
    Text,
    /// One JSON document.
    Json,
    /// GitHub workflow commands (annotations), plus a summary for `$GITHUB_STEP_SUMMARY`.
    Github,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "github" => Ok(Format::Github),
            other => Err(format!("unknown format {other:?} (text, json or github)")),
        }
    }
}

fn severity(kind: Kind) -> &'static str {
    match kind {
        Kind::Incompatible => "incompatible",
        Kind::Drift => "drift",
        Kind::HistoryEdited => "history edited",
        Kind::RuleTightened => "rule tightened",
    }
}

/// The findings as text: grouped by subject, then by version pair.
pub fn text(report: &Report) -> String {
    let mut out = String::new();
    let mut by_subject: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        by_subject.entry(f.subject.as_str()).or_default().push(f);
    }
    for (subject, findings) in &by_subject {
        let _ = writeln!(out, "{}", if subject.is_empty() { "(contracts)" } else { subject });
        let mut by_pair: BTreeMap<(Option<u32>, Option<u32>), Vec<&Finding>> = BTreeMap::new();
        for f in findings {
            by_pair.entry((f.version, f.against)).or_default().push(f);
        }
        for ((version, against), findings) in by_pair {
            match (version, against) {
                (Some(v), Some(a)) => {
                    let _ = writeln!(out, "  v{v} against v{a}:");
                }
                (Some(v), None) => {
                    let _ = writeln!(out, "  v{v}:");
                }
                _ => {}
            }
            for f in findings {
                let _ = writeln!(out, "    {}[{}] {}", severity(f.kind), f.rule, f.message);
                if let Some(path) = &f.path {
                    let _ = writeln!(out, "      at {path}");
                }
                if let Some(file) = &f.file {
                    let _ = writeln!(out, "      in {file}");
                }
                let _ = writeln!(out, "      fix: {}", f.fix);
            }
        }
    }
    let count = |k: Kind| report.findings.iter().filter(|f| f.kind == k).count();
    let _ = writeln!(
        out,
        "{} incompatible, {} drift, {} history edited, {} rule(s) tightened in {} subject(s), {} version(s) checked \
         against their history",
        count(Kind::Incompatible),
        count(Kind::Drift),
        count(Kind::HistoryEdited),
        count(Kind::RuleTightened),
        report.subjects,
        report.pairs_checked
    );
    out
}

/// The report as one JSON document: `ok`, `exit_code`, counts and every finding.
pub fn json(report: &Report) -> String {
    let doc = serde_json::json!({
        "ok": report.findings.is_empty(),
        "exit_code": report.exit_code(),
        "subjects": report.subjects,
        "pairs_checked": report.pairs_checked,
        "findings": report.findings,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// A value for a GitHub workflow command property (`%`, `\r`, `\n`, `:` and `,` escaped).
fn escape_property(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A").replace(':', "%3A").replace(',', "%2C")
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// GitHub annotations (`::error file=...,title=...::message`), one per finding, and the Markdown table of every
/// finding for the step summary (GitHub shows only ten annotations of a kind per step).
pub fn github(report: &Report, contracts_dir: &str) -> (String, String) {
    let mut annotations = String::new();
    for f in &report.findings {
        let file = f.file.as_ref().map(|file| format!("file={},", escape_property(&format!("{contracts_dir}/{file}"))));
        let pair = match (f.version, f.against) {
            (Some(v), Some(a)) => format!(" v{a}→v{v}"),
            (Some(v), None) => format!(" v{v}"),
            _ => String::new(),
        };
        let title = escape_property(&format!("{} {}{pair}", f.rule, f.subject));
        let path = f.path.as_ref().map(|p| format!(" at {p}")).unwrap_or_default();
        let _ = writeln!(
            annotations,
            "::error {}title={title}::{}",
            file.unwrap_or_default(),
            escape_data(&format!("{}{path}. Fix: {}", f.message, f.fix))
        );
    }
    if report.findings.len() > 10 {
        let _ = writeln!(
            annotations,
            "{} findings in all; GitHub shows 10 per step: see the step summary",
            report.findings.len()
        );
    }
    let mut summary = String::from("## Schema contracts\n\n");
    if report.findings.is_empty() {
        let _ = writeln!(summary, "All {} subject(s) compatible; the lock is current.", report.subjects);
    } else {
        summary
            .push_str("| kind | rule | subject | versions | path | message | fix |\n|---|---|---|---|---|---|---|\n");
        for f in &report.findings {
            let versions = match (f.version, f.against) {
                (Some(v), Some(a)) => format!("v{a} → v{v}"),
                (Some(v), None) => format!("v{v}"),
                _ => String::new(),
            };
            let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
            let _ = writeln!(
                summary,
                "| {} | `{}` | {} | {} | {} | {} | {} |",
                severity(f.kind),
                f.rule,
                cell(&f.subject),
                versions,
                f.path.as_deref().map(|p| format!("`{p}`")).unwrap_or_default(),
                cell(&f.message),
                cell(&f.fix)
            );
        }
    }
    (annotations, summary)
}

/// A line diff of two texts (`-` old, `+` new, ` ` both), by longest common subsequence.
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "  {}", a[i]);
            (i, j) = (i + 1, j + 1);
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            let _ = writeln!(out, "+ {}", b[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "- {}", a[i]);
            i += 1;
        }
    }
    out
}
