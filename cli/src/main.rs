//! `cargo contracts`: checks the schema contracts under `schemas/` for CI.
//!
//! ```text
//! cargo contracts check [--dir schemas] [--format text|json|github]
//! cargo contracts bless [--dir schemas]
//! cargo contracts compat --reader R.avsc --writer W.avsc [--level LEVEL] [--semantic] [--format ...]
//! ```
//!
//! Exit codes: 0 compatible, 1 incompatible, 2 contract drift (run `bless`), 3 history edited, 64 usage, 69 registry
//! unavailable.

use std::path::PathBuf;
use std::process::ExitCode;

use typed_kafka_avro::compat::CompatibilityLevel;
use typed_kafka_avro::schema::Schema;
use typed_kafka_cli::check::{Kind, Report, check, pair};
use typed_kafka_cli::contracts::Contracts;
use typed_kafka_cli::registry::{self, RegistryVerbError};
use typed_kafka_cli::render::{self, Format};
use typed_kafka_cli::{EXIT_OK, EXIT_USAGE};
use typed_kafka_registry::SchemaRegistryClient;

const USAGE: &str = "\
usage: cargo contracts <verb> [options]

verbs:
  check    the lock is current, no committed version was edited, deleted or renumbered, each version is
           compatible with its history under its subject's level, approvals match (offline)
  bless    write each bound type whose derived schema changed as its subject's next version (runs the contract
           tests, `cargo test --workspace contract`, with TYPED_KAFKA_BLESS=1), then record the versions in the lock
           if none breaks its history or edits a locked one; --files-only skips the tests;
           --allow-break REASON approves the breaking versions in typed-kafka.toml (for review) and locks them
  compat   check one pair: --reader R.avsc --writer W.avsc [--level LEVEL] [--semantic]
  diff     diff <subject> [from] [to]: the change between two versions (default: the last two) and its findings
  register register the committed versions a registry lacks, in order, and record their IDs in the lock
  pull     adopt a registry's subjects (all, or those named) as committed versions, with their IDs

registry options (check, register, pull):
  --registry NAME  a registry of typed-kafka.toml [registries] (credentials from the env vars it names)
  --registry-url URL

options:
  --dir DIR        the contracts directory (default: schemas)
  --format FORMAT  text (default), json, or github (annotations; the full list goes to $GITHUB_STEP_SUMMARY)
  --against REF    (check) also compare with the versions committed at a git revision, e.g. the PR's base

exit codes: 0 compatible, 1 incompatible, 2 contract drift (run bless), 3 history edited, 64 usage,
            69 registry unreachable or refusing the credentials";

struct Args {
    verb: String,
    dir: PathBuf,
    format: Format,
    reader: Option<PathBuf>,
    writer: Option<PathBuf>,
    level: Option<CompatibilityLevel>,
    semantic: bool,
    files_only: bool,
    registry: Option<String>,
    registry_url: Option<String>,
    subjects: Vec<String>,
    allow_break: Option<String>,
    against: Option<String>,
}

fn parse(args: Vec<String>) -> Result<Args, String> {
    let mut it = args.into_iter().peekable();
    // As a cargo subcommand the first argument is the subcommand's own name.
    if it.peek().map(String::as_str) == Some("contracts") {
        it.next();
    }
    let verb = it.next().ok_or("no verb given")?;
    let mut a = Args {
        verb,
        dir: PathBuf::from("schemas"),
        format: Format::Text,
        reader: None,
        writer: None,
        level: None,
        semantic: false,
        files_only: false,
        registry: None,
        registry_url: None,
        subjects: Vec::new(),
        allow_break: None,
        against: None,
    };
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--dir" => a.dir = PathBuf::from(value("--dir")?),
            "--format" => a.format = value("--format")?.parse()?,
            "--reader" => a.reader = Some(PathBuf::from(value("--reader")?)),
            "--writer" => a.writer = Some(PathBuf::from(value("--writer")?)),
            "--level" => a.level = Some(value("--level")?.parse()?),
            "--semantic" => a.semantic = true,
            "--files-only" => a.files_only = true,
            "--registry" => a.registry = Some(value("--registry")?),
            "--registry-url" => a.registry_url = Some(value("--registry-url")?),
            "--allow-break" => a.allow_break = Some(value("--allow-break")?),
            "--against" => a.against = Some(value("--against")?),
            other if !other.starts_with('-') => a.subjects.push(other.to_string()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(a)
}

fn print(report: &Report, args: &Args) {
    match args.format {
        Format::Text => print!("{}", render::text(report)),
        Format::Json => println!("{}", render::json(report)),
        Format::Github => {
            let (annotations, summary) = render::github(report, &args.dir.display().to_string());
            print!("{annotations}");
            if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY") {
                use std::io::Write as _;
                let written = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .and_then(|mut f| f.write_all(summary.as_bytes()));
                if let Err(e) = written {
                    eprintln!("cargo contracts: writing the step summary: {e}");
                }
            } else {
                print!("{summary}");
            }
        }
    }
}

fn read_schema(path: &std::path::Path) -> Result<Schema, String> {
    let text = typed_kafka_cli::contracts::read_bounded(path).map_err(|e| e.to_string())?;
    Schema::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
}

type RegistryFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, RegistryVerbError>> + 'a>>;

/// Runs a registry verb on a small runtime of its own.
fn with_registry<'a, T>(
    contracts: &'a Contracts,
    args: &Args,
    verb: impl FnOnce(&'a Contracts, SchemaRegistryClient, String) -> RegistryFuture<'a, T>,
) -> Result<T, RegistryVerbError> {
    let (name, client) = registry::client(contracts, args.registry.as_deref(), args.registry_url.as_deref())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| RegistryVerbError::Usage(format!("starting a runtime: {e}")))?;
    runtime.block_on(verb(contracts, client, name))
}

/// Appends an approval of each breaking version to `typed-kafka.toml` (keeping the hand-written file as it is).
fn approve(contracts: &Contracts, versions: &[(String, u32)], reason: &str) -> Result<(), String> {
    use std::fmt::Write as _;
    let mut text = String::new();
    for (subject, number) in versions {
        let v = contracts.subjects.get(subject).and_then(|vs| vs.iter().find(|v| v.number == *number));
        let resolution = v
            .and_then(|v| typed_kafka_cli::contracts::resolution_fingerprint(&v.text).ok())
            .map(typed_kafka_cli::contracts::hex)
            .ok_or_else(|| format!("{subject} v{number} cannot be fingerprinted"))?;
        let quote = |s: &str| toml_string(s);
        let _ = write!(
            text,
            "\n[[breaks]]\nsubject = {}\nversion = {number}\nresolution = \"{resolution}\"\nreason = {}\n",
            quote(subject),
            quote(reason)
        );
    }
    let path = contracts.dir.join(typed_kafka_cli::contracts::CONFIG_FILE);
    let mut config = std::fs::read_to_string(&path).unwrap_or_default();
    config.push_str(&text);
    std::fs::write(&path, config).map_err(|e| format!("{}: {e}", path.display()))
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs the workspace's contract tests with `TYPED_KAFKA_BLESS=1`, so that each drifted type writes its next
/// version into `dir`.
fn run_contract_tests(dir: &std::path::Path) -> Result<(), String> {
    let dir = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["test", "--workspace", "--quiet", "contract"])
        .env(typed_kafka::contract::BLESS_ENV, "1")
        .env(typed_kafka::contract::SCHEMAS_DIR_ENV, &dir)
        .status()
        .map_err(|e| format!("running the contract tests: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("the contract tests failed ({status})")) }
}

fn run(args: &Args) -> Result<i32, String> {
    match args.verb.as_str() {
        "check" => {
            let contracts = Contracts::load(&args.dir).map_err(|e| e.to_string())?;
            let mut report = check(&contracts);
            if let Some(rev) = &args.against {
                report.findings.extend(typed_kafka_cli::history::against_revision(&contracts, rev)?);
            }
            if args.registry.is_some() || args.registry_url.is_some() {
                let against = with_registry(&contracts, args, |contracts, client, name| {
                    Box::pin(async move { registry::check(contracts, &client, &name).await })
                });
                match against {
                    Ok(r) => {
                        report.findings.extend(r.findings);
                        report.pairs_checked += r.pairs_checked;
                    }
                    Err(e) => {
                        print(&report, args);
                        eprintln!("cargo contracts: {e}");
                        return Ok(e.exit_code());
                    }
                }
            }
            print(&report, args);
            Ok(report.exit_code())
        }
        "register" => {
            let contracts = Contracts::load(&args.dir).map_err(|e| e.to_string())?;
            let report = check(&contracts);
            if report.exit_code() != EXIT_OK {
                print(&report, args);
                eprintln!("cargo contracts: register refused: the contracts do not check clean");
                return Ok(report.exit_code());
            }
            match with_registry(&contracts, args, |contracts, client, name| {
                Box::pin(async move { registry::register(contracts, &client, &name).await })
            }) {
                Ok(done) => {
                    for (subject, version, id) in &done {
                        println!("registered: {subject} v{version} as ID {id}");
                    }
                    println!("register: {} new version(s); IDs recorded in the lock", done.len());
                    Ok(EXIT_OK)
                }
                Err(e) => {
                    eprintln!("cargo contracts: {e}");
                    Ok(e.exit_code())
                }
            }
        }
        "pull" => {
            let contracts = Contracts::load(&args.dir).map_err(|e| e.to_string())?;
            let dir = args.dir.clone();
            let subjects = args.subjects.clone();
            match with_registry(&contracts, args, move |_, client, name| {
                Box::pin(async move { registry::pull(&dir, &client, &name, &subjects).await })
            }) {
                Ok(notes) => {
                    notes.iter().for_each(|n| println!("pull: {n}"));
                    Ok(EXIT_OK)
                }
                Err(e) => {
                    eprintln!("cargo contracts: {e}");
                    Ok(e.exit_code())
                }
            }
        }
        "bless" => {
            if !args.files_only {
                run_contract_tests(&args.dir)?;
            }
            let contracts = Contracts::load(&args.dir).map_err(|e| e.to_string())?;
            let mut report = check(&contracts);
            // What bless fixes (a lock that lacks versions) is not a reason to refuse.
            report
                .findings
                .retain(|f| !(f.kind == Kind::Drift && (f.rule == "LOCK_STALE" || f.rule == "LOCK_MISSING")));
            let only_breaks = report
                .findings
                .iter()
                .all(|f| matches!(f.kind, Kind::Incompatible | Kind::RuleTightened) && f.version.is_some());
            let contracts = match &args.allow_break {
                // An intended break: approve exactly the breaking versions, for review, then lock.
                Some(reason) if !report.findings.is_empty() && only_breaks => {
                    let mut versions: Vec<(String, u32)> =
                        report.findings.iter().filter_map(|f| Some((f.subject.clone(), f.version?))).collect();
                    versions.dedup();
                    approve(&contracts, &versions, reason)?;
                    for (subject, version) in &versions {
                        println!("approved: {subject} v{version} breaks its history ({reason})");
                    }
                    Contracts::load(&args.dir).map_err(|e| e.to_string())?
                }
                _ if !report.findings.is_empty() => {
                    print(&report, args);
                    eprintln!("cargo contracts: bless refused; the lock was not written");
                    return Ok(report.exit_code());
                }
                _ => contracts,
            };
            contracts.write_lock().map_err(|e| format!("writing the lock: {e}"))?;
            let versions: usize = contracts.subjects.values().map(Vec::len).sum();
            println!(
                "blessed: {} subject(s), {versions} version(s) in {}",
                contracts.subjects.len(),
                args.dir.display()
            );
            Ok(EXIT_OK)
        }
        "diff" => {
            let contracts = Contracts::load(&args.dir).map_err(|e| e.to_string())?;
            let [subject, rest @ ..] = args.subjects.as_slice() else {
                return Err("diff needs a subject: diff <subject> [from] [to]".into());
            };
            let versions = contracts.subjects.get(subject).ok_or_else(|| format!("no subject {subject:?}"))?;
            let number = |s: Option<&String>, default: usize| -> Result<usize, String> {
                match s {
                    Some(s) => s.trim_start_matches('v').parse().map_err(|_| format!("{s:?} is not a version")),
                    None => Ok(default),
                }
            };
            let to = number(rest.get(1), versions.len())?;
            let from = number(rest.first(), to.saturating_sub(1))?;
            let pick = |n: usize| {
                versions.iter().find(|v| v.number as usize == n).ok_or_else(|| format!("{subject} has no v{n}"))
            };
            let (old, new) = (pick(from)?, pick(to)?);
            let pretty = |text: &str| -> Result<String, String> {
                let form = typed_kafka_avro::schema::resolution_form(text).map_err(|e| e.to_string())?;
                let value: serde_json::Value = serde_json::from_str(&form).map_err(|e| e.to_string())?;
                serde_json::to_string_pretty(&value).map_err(|e| e.to_string())
            };
            println!("--- {} (v{from})\n+++ {} (v{to})", old.file, new.file);
            print!("{}", render::line_diff(&pretty(&old.text)?, &pretty(&new.text)?));
            let (Ok(o), Ok(n)) = (&old.schema, &new.schema) else {
                return Err("a version is not a valid schema".into());
            };
            let findings = pair(n, o, Some(contracts.level(subject)), contracts.config.defaults.semantic);
            let report = Report { subjects: 1, pairs_checked: 1, findings };
            print(&report, args);
            Ok(report.exit_code())
        }
        "compat" => {
            let (Some(reader), Some(writer)) = (&args.reader, &args.writer) else {
                return Err("compat needs --reader and --writer".into());
            };
            let new = read_schema(reader)?;
            let old = read_schema(writer)?;
            let findings = pair(&new, &old, args.level, args.semantic);
            let report = Report { subjects: 0, pairs_checked: 1, findings };
            print(&report, args);
            Ok(report.exit_code())
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(EXIT_OK)
        }
        other => Err(format!("unknown verb {other:?}")),
    }
}

fn main() -> ExitCode {
    let code = match parse(std::env::args().skip(1).collect()) {
        Ok(args) => match run(&args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("cargo contracts: {e}");
                EXIT_USAGE
            }
        },
        Err(e) => {
            eprintln!("cargo contracts: {e}\n\n{USAGE}");
            EXIT_USAGE
        }
    };
    ExitCode::from(code as u8)
}
