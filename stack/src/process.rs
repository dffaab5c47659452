//! Server processes: spawning them detached, recording them in pid files, checking that a recorded pid is still the
//! process we started, and stopping exactly that process.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::StackError;

/// A process recorded in a pid file: its pid and its start time (clock ticks since boot, from `/proc/<pid>/stat`),
/// which tells it apart from a later process that reuses the pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recorded {
    pub(crate) pid: u32,
    pub(crate) start_ticks: u64,
}

/// The fields of `/proc/<pid>/stat` we need: state and start time. `None` when there is no such process.
fn proc_stat(pid: u32) -> Option<(char, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: parse after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // Field 22 overall is starttime; `rest` starts at field 3.
    let start = fields.get(22 - 3)?.parse().ok()?;
    Some((state, start))
}

impl Recorded {
    /// Whether the recorded process still runs (and is the one we started, not a reuse of its pid).
    pub(crate) fn alive(self) -> bool {
        matches!(proc_stat(self.pid), Some((state, start)) if start == self.start_ticks && state != 'Z' && state != 'X')
    }

    /// Resident memory in KiB, if the process is alive.
    pub(crate) fn rss_kib(self) -> Option<u64> {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

/// Reads a pid file; `None` if it is missing or unreadable garbage.
pub(crate) fn read_pid_file(path: &Path) -> Option<Recorded> {
    let text = fs::read_to_string(path).ok()?;
    let mut parts = text.split_whitespace();
    let pid = parts.next()?.parse().ok()?;
    let start_ticks = parts.next()?.parse().ok()?;
    Some(Recorded { pid, start_ticks })
}

/// The recorded process behind a pid file if it is still alive; a stale pid file is removed.
pub(crate) fn live_process(pid_file: &Path) -> Result<Option<Recorded>, StackError> {
    match read_pid_file(pid_file) {
        Some(rec) if rec.alive() => Ok(Some(rec)),
        Some(_) | None if pid_file.exists() => {
            fs::remove_file(pid_file).map_err(StackError::io("removing a stale pid file", pid_file))?;
            Ok(None)
        }
        _ => Ok(None),
    }
}

/// Spawns `command` in its own process group (so it outlives the caller and a terminal's Ctrl-C), with stdin closed
/// and stdout/stderr appended to `log`, and records it in `pid_file`.
pub(crate) fn spawn(mut command: Command, log: &Path, pid_file: &Path) -> Result<Recorded, StackError> {
    let out = File::options().create(true).append(true).open(log).map_err(StackError::io("opening the log", log))?;
    let err = out.try_clone().map_err(StackError::io("opening the log", log))?;
    command.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
    let program = command.get_program().to_string_lossy().into_owned();
    let child = command.spawn().map_err(|source| StackError::MissingTool { tool: program, source })?;
    let pid = child.id();
    // Dropping `child` neither waits for nor kills it; the process is reparented when we exit.
    drop(child);
    let start_ticks = proc_stat(pid).map(|(_, s)| s).unwrap_or(0);
    let rec = Recorded { pid, start_ticks };
    fs::write(pid_file, format!("{pid} {start_ticks}\n")).map_err(StackError::io("writing the pid file", pid_file))?;
    Ok(rec)
}

pub(crate) fn signal(pid: u32, sig: &str) -> Result<(), String> {
    let out = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .output()
        .map_err(|e| format!("cannot run kill: {e}"))?;
    if out.status.success() { Ok(()) } else { Err(String::from_utf8_lossy(&out.stderr).trim().to_string()) }
}

/// Stops the recorded processes: TERM to all of them, then KILL to any still alive after `grace`.
pub(crate) fn stop_all(procs: &[(String, Recorded)], grace: Duration) -> Result<(), StackError> {
    for (name, rec) in procs {
        if rec.alive() {
            signal(rec.pid, "TERM").map_err(|reason| StackError::Stop {
                service: name.clone(),
                pid: rec.pid,
                reason,
            })?;
        }
    }
    let deadline = Instant::now() + grace;
    while procs.iter().any(|(_, r)| r.alive()) && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(100));
    }
    for (name, rec) in procs {
        if rec.alive() {
            signal(rec.pid, "KILL").map_err(|reason| StackError::Stop {
                service: name.clone(),
                pid: rec.pid,
                reason,
            })?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while rec.alive() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(50));
            }
            if rec.alive() {
                return Err(StackError::Stop {
                    service: name.clone(),
                    pid: rec.pid,
                    reason: "still alive after KILL".into(),
                });
            }
        }
    }
    Ok(())
}

/// The last `lines` lines of a log file (reading at most its last 64 KiB).
pub(crate) fn tail(path: &Path, lines: usize) -> String {
    let Ok(mut file) = File::open(path) else {
        return format!("(no log at {})", path.display());
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)));
    let mut buf = Vec::new();
    let _ = file.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Whether something accepts connections on `127.0.0.1:port`.
pub(crate) fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300)).is_ok()
}

/// Runs `command` with `input` on its standard input; its standard output, or a failure with its standard error's
/// tail.
pub(crate) fn run_with_input(command: &mut Command, input: &[u8]) -> Result<Vec<u8>, StackError> {
    use std::io::Write as _;
    let program = command.get_program().to_string_lossy().into_owned();
    let line = format!("{program} {}", command.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "));
    let missing = |source| StackError::MissingTool { tool: program.clone(), source };
    let mut child =
        command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().map_err(missing)?;
    // A child that exits without reading its input closes the pipe: what it says on exit tells why.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    let out = child.wait_with_output().map_err(missing)?;
    if out.status.success() {
        return Ok(out.stdout);
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = text.lines().collect();
    Err(StackError::Command {
        command: line,
        status: out.status.to_string(),
        output: lines[lines.len().saturating_sub(40)..].join("\n"),
    })
}

/// Runs a short command to completion, failing with its output's tail if it fails.
pub(crate) fn run(mut command: Command, cwd: Option<&Path>) -> Result<String, StackError> {
    if let Some(dir) = cwd {
        command.current_dir(dir);
    }
    let line = format!(
        "{} {}",
        command.get_program().to_string_lossy(),
        command
            .get_args()
            .map(|a| {
                // SCRAM users are given as `name=u,password=p`: a failed command's message must not show p.
                let a = a.to_string_lossy();
                match a.find("password=") {
                    Some(i) => format!("{}password=***]", &a[..i]),
                    None => a.into_owned(),
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    );
    let program = command.get_program().to_string_lossy().into_owned();
    let out =
        command.stdin(Stdio::null()).output().map_err(|source| StackError::MissingTool { tool: program, source })?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() {
        Ok(text)
    } else {
        let lines: Vec<&str> = text.lines().collect();
        Err(StackError::Command {
            command: line,
            status: out.status.to_string(),
            output: lines[lines.len().saturating_sub(40)..].join("\n"),
        })
    }
}

/// Writes `contents` to `path` only if it differs, creating parent directories.
pub(crate) fn write_if_changed(path: &Path, contents: &str) -> Result<(), StackError> {
    if fs::read_to_string(path).ok().as_deref() == Some(contents) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(StackError::io("creating a directory", parent))?;
    }
    fs::write(path, contents).map_err(StackError::io("writing a file", path))
}

/// `path` made absolute against the current directory.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
