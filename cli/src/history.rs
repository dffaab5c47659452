//! `check --against <git-ref>`: the versions committed at a revision (e.g. a pull request's base) must still be
//! there, unchanged, whatever the lock says. This catches an edit made together with a regenerated lock.

use std::path::Path;
use std::process::Command;

use typed_kafka_avro::schema::resolution_fingerprint;

use crate::check::{Finding, Kind};
use crate::contracts::Contracts;

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().map_err(|e| format!("running git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// The findings of comparing the contracts with those committed at `rev`: a version file there that is missing
/// or different now.
pub fn against_revision(contracts: &Contracts, rev: &str) -> Result<Vec<Finding>, String> {
    let dir = std::fs::canonicalize(&contracts.dir).map_err(|e| format!("{}: {e}", contracts.dir.display()))?;
    let top = git(&dir, &["rev-parse", "--show-toplevel"])?;
    let top = Path::new(top.trim());
    let prefix = dir.strip_prefix(top).map_err(|_| "the contracts directory is outside the repository".to_string())?;
    let prefix = prefix.to_string_lossy().replace('\\', "/");
    let listed = git(top, &["ls-tree", "-r", "--name-only", rev, "--", &prefix])?;
    let mut out = Vec::new();
    for path in listed.lines() {
        let Some(relative) = path.strip_prefix(&format!("{prefix}/")) else { continue };
        let Some((subject, file)) = relative.split_once('/') else { continue };
        if !(file.starts_with('v') && file.ends_with(".avsc")) {
            continue;
        }
        let then = git(top, &["show", &format!("{rev}:{path}")])?;
        let now = contracts.subjects.get(subject).and_then(|vs| vs.iter().find(|v| v.file == relative));
        let (rule, what) = match now {
            None => ("VERSION_DELETED", format!("{relative} exists at {rev} but not any more")),
            Some(v) => {
                let same = match (resolution_fingerprint(&then), resolution_fingerprint(&v.text)) {
                    (Ok(a), Ok(b)) => a == b,
                    _ => then == v.text,
                };
                if same {
                    continue;
                }
                ("VERSION_EDITED", format!("{relative} differs from its version at {rev}"))
            }
        };
        out.push(Finding {
            kind: Kind::HistoryEdited,
            rule: rule.to_string(),
            subject: subject.to_string(),
            version: file.trim_start_matches('v').trim_end_matches(".avsc").parse().ok(),
            against: None,
            level: None,
            direction: None,
            file: Some(relative.to_string()),
            path: None,
            message: what,
            fix: "committed versions are immutable: restore the file and add the change as a new version".into(),
        });
    }
    Ok(out)
}
