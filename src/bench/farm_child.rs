//! The host farm in its own process (`clawops farm --hosts N`), so that the bench's memory
//! figures are clawops' alone: its manifest arrives as the first line of its standard
//! output, and each control line written to its standard input is answered by one line.

use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::BenchError;
use crate::farm::{Counts, Listed};

/// A running `clawops farm`.
pub struct FarmChild {
    child: Child,
    stdin: ChildStdin,
    lines: Lines<BufReader<ChildStdout>>,
    pub hosts: Vec<Listed>,
}

impl FarmChild {
    /// Starts `count` farm hosts in a child process of this binary.
    pub async fn start(count: usize, gateway_port: u16) -> Result<FarmChild, BenchError> {
        let exe = std::env::current_exe().map_err(|e| BenchError::Farm(e.to_string()))?;
        let mut child = Command::new(exe)
            .args([
                "farm",
                "--hosts",
                &count.to_string(),
                "--gateway-port",
                &gateway_port.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| BenchError::Farm(format!("cannot start the farm: {e}")))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(BenchError::Farm("the farm has no pipes".into()));
        };
        let mut lines = BufReader::new(stdout).lines();
        let first = lines
            .next_line()
            .await
            .map_err(|e| BenchError::Farm(e.to_string()))?
            .ok_or_else(|| BenchError::Farm("the farm ended before its manifest".into()))?;
        let hosts: Vec<Listed> = serde_json::from_str(&first)
            .map_err(|e| BenchError::Farm(format!("the farm's manifest: {e}")))?;
        Ok(FarmChild {
            child,
            stdin,
            lines,
            hosts,
        })
    }

    /// Sends one control line; its answer.
    pub async fn tell(&mut self, line: &str) -> Result<String, BenchError> {
        let farm = |e: std::io::Error| BenchError::Farm(e.to_string());
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .map_err(farm)?;
        self.stdin.flush().await.map_err(farm)?;
        let answer = self
            .lines
            .next_line()
            .await
            .map_err(farm)?
            .ok_or_else(|| BenchError::Farm("the farm ended".into()))?;
        match answer.strip_prefix("error: ") {
            Some(why) => Err(BenchError::Farm(format!("{line:?}: {why}"))),
            None => Ok(answer),
        }
    }

    pub async fn counts(&mut self) -> Result<Counts, BenchError> {
        let line = self.tell("counts").await?;
        serde_json::from_str(&line).map_err(|e| BenchError::Farm(e.to_string()))
    }

    /// The farm process's resident memory now, in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.child
            .id()
            .map(|pid| super::memory(&format!("/proc/{pid}/status")).0)
            .unwrap_or(0.0)
    }
}

/// `clawops farm`: plays `count` hosts until standard input ends.
pub async fn serve(count: usize, gateway_port: u16) -> Result<(), BenchError> {
    let farm = crate::farm::Farm::start(count, "farm", gateway_port)
        .await
        .map_err(|e| BenchError::Farm(e.to_string()))?;
    let mut out = tokio::io::stdout();
    let io = |e: std::io::Error| BenchError::Farm(e.to_string());
    let manifest =
        serde_json::to_string(&farm.manifest()).map_err(|e| BenchError::Farm(e.to_string()))?;
    out.write_all(format!("{manifest}\n").as_bytes())
        .await
        .map_err(io)?;
    out.flush().await.map_err(io)?;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await.map_err(io)? {
        let answer = match farm.obey(&line).await {
            Ok(a) => a,
            Err(e) => format!("error: {e}"),
        };
        out.write_all(format!("{answer}\n").as_bytes())
            .await
            .map_err(io)?;
        out.flush().await.map_err(io)?;
    }
    Ok(())
}
