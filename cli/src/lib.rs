//! `cargo contracts`: schema contracts in the repository (`schemas/`) and their evolution checks, for CI.
//!
//! - [`contracts`]: the directory layout, the hand-written config and the generated lock.
//! - [`check`]: the offline check and the pairwise check, as findings with a rule ID, a path and a fix.
//! - [`render`]: findings as text, JSON or GitHub annotations (with the full list in the step summary).
#![warn(missing_docs)]

pub mod check;
pub mod contracts;
pub mod history;
pub mod registry;
pub mod render;

/// Exit code: compatible.
pub const EXIT_OK: i32 = 0;
/// Exit code: incompatible versions.
pub const EXIT_INCOMPATIBLE: i32 = 1;
/// Exit code: the lock or an approval does not match the files (run `bless`).
pub const EXIT_DRIFT: i32 = 2;
/// Exit code: a committed version was edited, deleted or renumbered.
pub const EXIT_HISTORY_EDITED: i32 = 3;
/// Exit code: usage or configuration error (sysexits `EX_USAGE`).
pub const EXIT_USAGE: i32 = 64;
/// Exit code: a registry could not be reached (sysexits `EX_UNAVAILABLE`); never reported as incompatible.
pub const EXIT_UNAVAILABLE: i32 = 69;
