//! `cargo stack …`: the local Kafka + schema registry stack for people, and the test command.
//!
//! ```text
//! cargo stack up [kafka|cluster|registry ...]   start (or reuse) servers; default: kafka registry
//! cargo stack down [kafka|cluster|registry ...] stop the servers this stack started; default: all
//! cargo stack clean [...]                       stop them and delete their data
//! cargo stack status                            pids, ports, memory, logs
//! cargo stack env                               the environment variables that point clients at the stack
//! cargo stack test [cargo test args...]         the whole test suite against a stack started for it
//! cargo stack asan                              the producer's tests under AddressSanitizer (nightly)
//! cargo stack fuzz [seconds]                     every fuzz target under AddressSanitizer, each for 60 s (nightly)
//! cargo stack docs                               typed-kafka's docs per feature set, no broken or unrendered link
//! ```

use std::process::{Command, ExitCode};
use std::time::Instant;

use typed_kafka_stack::{ENV_BOOTSTRAP, ENV_CLUSTER_BOOTSTRAP, ENV_REGISTRY, Service, Stack, StackError};

fn services(args: &[String], default: &[Service]) -> Result<Vec<Service>, String> {
    if args.is_empty() {
        return Ok(default.to_vec());
    }
    args.iter()
        .map(|a| Service::from_name(a).ok_or_else(|| format!("unknown service {a:?} (kafka, cluster, registry)")))
        .collect()
}

fn names(services: &[Service]) -> String {
    if services.is_empty() {
        return "nothing".into();
    }
    services.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
}

fn up(stack: &Stack, wanted: &[Service]) -> Result<(), StackError> {
    let t = Instant::now();
    let report = stack.up(wanted)?;
    eprintln!(
        "stack: started {}; reused {} ({:.1} s)",
        names(&report.started),
        names(&report.reused),
        t.elapsed().as_secs_f64()
    );
    print_env(stack, wanted);
    Ok(())
}

fn print_env(stack: &Stack, services: &[Service]) {
    let cfg = stack.config();
    if services.contains(&Service::Kafka) {
        println!("export {ENV_BOOTSTRAP}={}", cfg.kafka_bootstrap());
    }
    if services.contains(&Service::Cluster) {
        println!("export {ENV_CLUSTER_BOOTSTRAP}={}", cfg.cluster_bootstrap());
    }
    if services.contains(&Service::Registry) {
        println!("export {ENV_REGISTRY}={}", cfg.registry_url());
    }
}

fn status(stack: &Stack) -> Result<(), StackError> {
    println!("{:<16} {:>8} {:>10} {:<13} log", "process", "pid", "rss MiB", "ports");
    for s in stack.status()? {
        let ports = s.ports.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(",");
        println!(
            "{:<16} {:>8} {:>10} {:<13} {}",
            s.name,
            s.pid.map_or("-".into(), |p| p.to_string()),
            s.rss_kib.map_or("-".into(), |k| format!("{:.0}", k as f64 / 1024.0)),
            ports,
            s.log.display()
        );
    }
    Ok(())
}

/// Runs a cargo step before the stack starts; `false` (with the reason printed) when it failed.
fn cargo_step(what: &str, args: &[&str], extra: &[String]) -> bool {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    match Command::new(&cargo).args(args).args(extra).status() {
        Ok(s) if s.success() => true,
        Ok(s) => {
            eprintln!("stack test: {what} failed ({s})");
            false
        }
        Err(e) => {
            eprintln!("stack test: cannot run cargo: {e}");
            false
        }
    }
}

/// Builds `typed-kafka`'s docs for each feature set the README names, with broken intra-doc links denied, and
/// refuses a page where a link rendered as literal brackets (`[`avro`]`): rustdoc drops a link it resolved but
/// cannot point anywhere (an item of a crate whose docs are not built) without a warning.
fn docs_check() -> bool {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = typed_kafka_stack::workspace_root();
    let sets: [(&str, &[&str]); 3] = [
        ("default features", &[]),
        ("the codec only", &["--no-default-features"]),
        ("the registry without librdkafka", &["--no-default-features", "--features", "registry"]),
    ];
    for (what, features) in sets {
        let status = Command::new(&cargo)
            .args(["doc", "--quiet", "--no-deps", "-p", "typed-kafka"])
            .args(features)
            .env("RUSTDOCFLAGS", "-D rustdoc::broken_intra_doc_links -D rustdoc::private_intra_doc_links")
            .status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!("stack test: the docs with {what} have broken links (or do not build)");
            return false;
        }
        let unlinked = unlinked_brackets(&root.join("target/doc/typed_kafka"));
        if !unlinked.is_empty() {
            eprintln!("stack test: the docs with {what} show links as literal brackets: {}", unlinked.join(", "));
            return false;
        }
    }
    true
}

/// Pages under `dir` with a code span in literal brackets (a link rustdoc could not render), as `page: [name]`.
fn unlinked_brackets(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "html")
                && let Ok(html) = std::fs::read_to_string(&path)
            {
                // Our own docs only: the trait and blanket implementations quote other crates' docs, whose links
                // point at crates not documented here.
                let own = [
                    "id=\"trait-implementations\"",
                    "id=\"synthetic-implementations\"",
                    "id=\"blanket-implementations\"",
                ]
                .iter()
                .filter_map(|marker| html.find(marker))
                .min()
                .map_or(html.as_str(), |end| &html[..end]);
                for (at, _) in own.match_indices("[<code>") {
                    let rest = &own[at..];
                    if let Some(end) = rest.find("</code>]") {
                        let name = rest[7..end].to_string();
                        found.push(format!("{}: [{name}]", path.strip_prefix(dir).unwrap_or(&path).display()));
                    }
                }
            }
        }
    }
    found
}

/// The producer's tests that AddressSanitizer runs: its unit and mock tests, and the real-broker tests of its core
/// (the delivery thread, teardown, the hung broker), which exercise the FFI of `kafka/native.rs`.
const ASAN_TESTS: &[&[&str]] = &[
    &["-p", "typed-kafka", "--lib", "--tests"],
    &["-p", "typed-kafka-tests", "--test", "producer_core", "--test", "broker_faults", "--test", "producer"],
];

/// `cargo +nightly`, through rustup's `cargo` (not $CARGO, the stable toolchain's own binary, which takes no
/// `+nightly`).
fn nightly_cargo() -> Command {
    let mut cargo = Command::new("cargo");
    cargo.env_remove("RUSTUP_TOOLCHAIN").arg("+nightly");
    cargo
}

/// Runs [`ASAN_TESTS`] with nightly's AddressSanitizer (librdkafka and its C dependencies instrumented too), in
/// `target/asan`, against a running stack. `TYPED_KAFKA_ASAN=off` skips it; so does a machine without a nightly
/// toolchain, which it says.
/// Whether a pass that needs nightly runs: not when `switch` is `off`, nor without a nightly toolchain; a
/// skipped pass says why.
fn nightly_pass_runs(what: &str, switch: &str) -> bool {
    if std::env::var(switch).is_ok_and(|v| v == "off") {
        eprintln!("stack: {what} skipped ({switch}=off)");
        return false;
    }
    if !nightly_cargo().arg("--version").output().is_ok_and(|o| o.status.success()) {
        eprintln!("stack: {what} skipped: no nightly toolchain (rustup toolchain install nightly)");
        return false;
    }
    true
}

fn asan_pass() -> bool {
    if !nightly_pass_runs("the AddressSanitizer pass", "TYPED_KAFKA_ASAN") {
        return true;
    }
    let root = typed_kafka_stack::workspace_root();
    let supp = root.join(".ci/lsan.supp");
    let t = Instant::now();
    for args in ASAN_TESTS {
        let status = nightly_cargo()
            .args(["test", "--target", "x86_64-unknown-linux-gnu"])
            .args(*args)
            .env("RUSTFLAGS", "-Zsanitizer=address")
            .env("CFLAGS", "-fsanitize=address")
            .env("LDFLAGS", "-fsanitize=address")
            .env("CARGO_TARGET_DIR", root.join("target/asan"))
            .env("LSAN_OPTIONS", format!("suppressions={}", supp.display()))
            // Full malloc stacks, so that a leak suppression can name the Rust function that leaked.
            .env("ASAN_OPTIONS", "detect_stack_use_after_return=1:fast_unwind_on_malloc=0:malloc_context_size=12")
            .status();
        if !status.is_ok_and(|s| s.success()) {
            eprintln!("stack test: the AddressSanitizer pass failed ({})", args.join(" "));
            return false;
        }
    }
    eprintln!("stack test: the AddressSanitizer pass succeeded in {:.0} s", t.elapsed().as_secs_f64());
    true
}

/// The flags `cargo fuzz build` gives rustc (libFuzzer's coverage instrumentation, AddressSanitizer, debug
/// assertions and overflow checks), so that the targets build and run without installing cargo-fuzz.
const FUZZ_RUSTFLAGS: &str = "-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares -Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
    --cfg fuzzing -Zsanitizer=address -Cdebug-assertions -Coverflow-checks";

/// Builds every fuzz target (`fuzz/Cargo.toml`'s bins) with nightly, libFuzzer and AddressSanitizer in
/// `target/fuzz`, and runs each for `seconds` on its corpus in `target/fuzz-corpus/<target>` (kept between runs).
/// A crash leaves its input in `target/fuzz-artifacts/`. `TYPED_KAFKA_FUZZ=off` skips it; so does a machine
/// without a nightly toolchain, which it says.
fn fuzz_pass(seconds: u64) -> bool {
    if !nightly_pass_runs("the fuzz pass", "TYPED_KAFKA_FUZZ") {
        return true;
    }
    let root = typed_kafka_stack::workspace_root();
    let manifest = root.join("fuzz/Cargo.toml");
    let target_dir = root.join("target/fuzz");
    let triple = "x86_64-unknown-linux-gnu";
    let t = Instant::now();
    let built = nightly_cargo()
        .args(["build", "--release", "--bins", "--quiet", "--target", triple, "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTFLAGS", FUZZ_RUSTFLAGS.split_whitespace().collect::<Vec<_>>().join(" "))
        .status();
    if !built.is_ok_and(|s| s.success()) {
        eprintln!("stack: building the fuzz targets failed");
        return false;
    }
    let targets = match std::fs::read_dir(root.join("fuzz/fuzz_targets")) {
        Ok(entries) => {
            let mut names: Vec<String> =
                entries.filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".rs").map(str::to_string)).collect();
            names.sort();
            names
        }
        Err(e) => {
            eprintln!("stack: reading fuzz/fuzz_targets: {e}");
            return false;
        }
    };
    let artifacts = root.join("target/fuzz-artifacts");
    for name in &targets {
        let corpus = root.join("target/fuzz-corpus").join(name);
        if let Err(e) = std::fs::create_dir_all(&corpus).and_then(|()| std::fs::create_dir_all(&artifacts)) {
            eprintln!("stack: creating {}: {e}", corpus.display());
            return false;
        }
        let started = Instant::now();
        let run = Command::new(target_dir.join(triple).join("release").join(name))
            .arg(&corpus)
            .arg(format!("-max_total_time={seconds}"))
            .args(["-rss_limit_mb=3072", "-timeout=30", "-max_len=65536", "-print_final_stats=1"])
            .arg(format!("-artifact_prefix={}/{name}-", artifacts.display()))
            .env("ASAN_OPTIONS", "detect_odr_violation=0:detect_leaks=1")
            .output();
        match run {
            Ok(out) if out.status.success() => {
                let stats = String::from_utf8_lossy(&out.stderr);
                let runs = stats.lines().find_map(|l| l.strip_prefix("stat::number_of_executed_units:")).unwrap_or("?");
                eprintln!(
                    "stack: fuzz target {name}: {} runs in {:.0} s, no failure",
                    runs.trim(),
                    started.elapsed().as_secs_f64()
                );
            }
            Ok(out) => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(40).collect();
                eprintln!("stack: fuzz target {name} failed ({}):", out.status);
                for line in tail.iter().rev() {
                    eprintln!("  {line}");
                }
                eprintln!("stack: the failing input is in {}", artifacts.display());
                return false;
            }
            Err(e) => {
                eprintln!("stack: running fuzz target {name}: {e}");
                return false;
            }
        }
    }
    eprintln!("stack: the fuzz pass ({} targets) succeeded in {:.0} s", targets.len(), t.elapsed().as_secs_f64());
    true
}

/// The seconds each fuzz target runs in the test command's fuzz pass (`TYPED_KAFKA_FUZZ_SECS`, default 60).
fn fuzz_seconds(arg: Option<&String>) -> Result<u64, String> {
    let text = arg.cloned().or_else(|| std::env::var("TYPED_KAFKA_FUZZ_SECS").ok());
    match text {
        None => Ok(60),
        Some(t) => t.parse().map_err(|_| format!("the fuzz time must be whole seconds, not {t:?}")),
    }
}

/// Starts the stack the environment does not point elsewhere, runs the AddressSanitizer pass, stops what it started.
fn asan() -> Result<ExitCode, StackError> {
    let session = typed_kafka_stack::Session::start()?;
    let passed = asan_pass();
    session.stop_started()?;
    Ok(if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Builds the tests first (so the JVMs do not compete with the compiler), checks that the fuzz targets (their own
/// workspace, run with nightly) and `typed-kafka`'s smaller feature sets still compile and that its docs for each
/// have no broken or unrendered link, starts the stack the
/// environment does not point elsewhere, runs `cargo test --workspace`, then the AddressSanitizer pass and the
/// fuzz pass (unless test arguments were given), then stops every service that was not running before.
fn test(stack: &Stack, extra: &[String]) -> Result<ExitCode, StackError> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    if !cargo_step("building the tests", &["test", "--workspace", "--no-run"], extra) {
        return Ok(ExitCode::FAILURE);
    }
    let root = typed_kafka_stack::workspace_root();
    let fuzz = root.join("fuzz/Cargo.toml");
    let target = root.join("target");
    if fuzz.exists() {
        let (fuzz, target) = (fuzz.to_string_lossy(), target.to_string_lossy());
        let args = ["check", "--quiet", "--bins", "--manifest-path", &fuzz, "--target-dir", &target];
        if !cargo_step("checking that the fuzz targets compile", &args, &[]) {
            return Ok(ExitCode::FAILURE);
        }
    }
    // The crate users depend on also builds without librdkafka, and without the registry client: nothing else
    // compiles those feature sets.
    for (what, features) in [("the codec only", None), ("the registry without librdkafka", Some("registry"))] {
        let mut args = vec!["check", "--quiet", "-p", "typed-kafka", "--no-default-features"];
        args.extend(features.map(|f| ["--features", f]).into_iter().flatten());
        if !cargo_step(&format!("checking typed-kafka with {what}"), &args, &[]) {
            return Ok(ExitCode::FAILURE);
        }
    }
    if !docs_check() {
        return Ok(ExitCode::FAILURE);
    }
    let running_before = stack.running().unwrap_or_default();
    let t = Instant::now();
    let session = typed_kafka_stack::Session::start()?;
    eprintln!(
        "stack test: kafka at {}, registry at {} (started {} in {:.1} s)",
        session.endpoints.bootstrap_servers,
        session.endpoints.registry_url,
        names(&session.started),
        t.elapsed().as_secs_f64()
    );
    let passed = match Command::new(&cargo).args(["test", "--workspace"]).args(extra).status() {
        // The AddressSanitizer and fuzz passes follow the whole suite only (they say why they failed themselves).
        Ok(s) if s.success() => !extra.is_empty() || (asan_pass() && fuzz_pass(fuzz_seconds(None).unwrap_or(60))),
        Ok(s) => {
            eprintln!("stack test: cargo test failed ({s})");
            false
        }
        Err(e) => {
            eprintln!("stack test: cannot run cargo: {e}");
            false
        }
    };
    let ours: Vec<Service> =
        stack.running().unwrap_or_default().into_iter().filter(|s| !running_before.contains(s)).collect();
    if !ours.is_empty() {
        let stopped = stack.down(&ours)?;
        eprintln!("stack test: stopped {}", names(&stopped));
    }
    Ok(if passed { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn run() -> Result<ExitCode, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stack = Stack::from_env().map_err(|e| e.to_string())?;
    let (cmd, rest) = args.split_first().map(|(c, r)| (c.as_str(), r)).unwrap_or(("help", &[]));
    let all = [Service::Registry, Service::Kafka, Service::Cluster];
    let outcome = match cmd {
        "up" => up(&stack, &services(rest, &[Service::Kafka, Service::Registry])?).map(|_| ExitCode::SUCCESS),
        "down" => stack.down(&services(rest, &all)?).map(|stopped| {
            eprintln!("stack: stopped {}", names(&stopped));
            ExitCode::SUCCESS
        }),
        "clean" => {
            let asked = services(rest, &all)?;
            let cleaned = Stack::cleaned_together(&asked);
            stack.clean(&asked).map(|_| {
                if cleaned.len() > asked.len() {
                    eprintln!(
                        "stack: the registry's schema IDs and the brokers' records go together: cleaning {} too",
                        names(&cleaned[asked.len()..])
                    );
                }
                eprintln!("stack: stopped and removed the data of {}", names(&cleaned));
                ExitCode::SUCCESS
            })
        }
        "status" => status(&stack).map(|_| ExitCode::SUCCESS),
        "env" => {
            print_env(&stack, &all);
            Ok(ExitCode::SUCCESS)
        }
        "test" => test(&stack, rest),
        "asan" => asan(),
        "docs" => return Ok(if docs_check() { ExitCode::SUCCESS } else { ExitCode::FAILURE }),
        "fuzz" => {
            let seconds = fuzz_seconds(rest.first())?;
            return Ok(if fuzz_pass(seconds) { ExitCode::SUCCESS } else { ExitCode::FAILURE });
        }
        _ => {
            eprintln!(
                "usage: cargo stack up|down|clean [kafka|cluster|registry ...] | status | env | test [cargo test args] | asan \
                 | fuzz [seconds] | docs"
            );
            Ok(if cmd == "help" || cmd == "--help" { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
    };
    outcome.map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("stack: {e}");
            ExitCode::FAILURE
        }
    }
}
