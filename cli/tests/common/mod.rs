//! What both test binaries of `cargo contracts` share.

use std::path::Path;
use std::process::Command;

/// Runs `cargo-contracts <args> --dir <dir>`: its exit code, and its standard output and error together.
pub(crate) fn run_in(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cargo-contracts"))
        .args(args)
        .arg("--dir")
        .arg(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .expect("running cargo-contracts");
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}
