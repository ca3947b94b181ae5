//! Shared helpers for the integration tests: a temporary working folder with a config,
//! and the real `clawops` binary driven through pipes, always with a time limit.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_clawops"))
}

/// A config for a fast simulated cloud, with a store in `dir`.
pub fn fast_config(dir: &Path, boot: &str, step: &str, extra: &str) -> PathBuf {
    let path = dir.join("clawops.toml");
    let text = format!(
        r#"
[store]
path = "{}"

[[operators]]
platform = "telegram"
user_id = "111"
role = "operator"

[[operators]]
platform = "telegram"
user_id = "222"
role = "viewer"

[safety]
confirm_bulk_over = 3
confirm_end_users_over = 10
confirmation_ttl = "5m"

[providers.sim]
enabled = true
boot_time = "{boot}"
step_time = "{step}"
{extra}

# These runs count audit rows and output lines: no scheduled job may tick meanwhile
# (a minute boundary during a run would add its row).
[[jobs]]
name = "health-sweep"
schedule = "* * * * *"
enabled = false
[[jobs]]
name = "pairing-poll"
schedule = "* * * * *"
enabled = false
[[jobs]]
name = "standby-sync"
schedule = "30 3 * * *"
enabled = false
"#,
        dir.join("data/clawops.db").display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `clawops ARGS` in `dir` with `input` on stdin; returns (exit code, stdout, stderr).
/// Killed after `limit`.
pub fn run(dir: &Path, args: &[&str], input: &str, limit: Duration) -> (i32, String, String) {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start clawops");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let (tx, rx) = mpsc::channel();
    let pid = child.id();
    std::thread::spawn(move || {
        let out = child.wait_with_output();
        let _ = tx.send(out);
    });
    let out = match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait for clawops"),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
            panic!("clawops {args:?} did not finish within {limit:?}");
        }
    };
    let _ = writer.join();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A running console whose stdout is read line by line.
pub struct Live {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Live {
    /// Starts `clawops console` in `dir` with the config at `config`.
    pub fn start(dir: &Path, config: &Path) -> Live {
        let mut child = Command::new(bin())
            .args(["--config", config.to_str().unwrap(), "console"])
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start clawops");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Live {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Sends one line.
    pub fn say(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Reads lines until one contains `needle`; panics after `limit`.
    pub fn wait_for(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line containing {needle:?} within {limit:?}; saw:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// SIGKILL, as a crash or an OOM killer would.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        let _ = self.child.wait();
    }
}
