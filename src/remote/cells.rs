//! Cells on a host: what the OpenClaw host needs to drive one instance's container (its
//! port, user id and limits), and the look at all cells of a host at once that the sweep
//! shares between them (one exec per host: each container's CPU over a second, memory
//! against its limit, processes, state).
//!
//! Owns the reading of `cellhost.sh stats`; the scripts themselves are in `scripts/`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::RemoteError;

/// How long one look at a host's cells serves the cells' probes (a sweep probes them
/// within this; each sweep starts with a new look).
pub const STATS_FRESH: Duration = Duration::from_secs(20);

/// The user ids cells run as: this plus the cell's port, distinct per cell on a host.
pub const UID_BASE: u32 = 200_000;

/// One instance's cell, as its host drives it.
#[derive(Debug, Clone)]
pub struct CellSpot {
    /// The cell host's name (its SSH key is `cellhost:NAME`'s).
    pub host: String,
    /// The gateway's port on the host's loopback.
    pub port: u16,
    pub cpus: f64,
    pub memory_mb: u32,
    pub pids: u32,
    pub disk_mb: Option<u32>,
    /// The image to run (`{version}` replaced); `None`: the one built on the host.
    pub image: Option<String>,
    /// The shared look at the host's cells.
    pub stats: Arc<HostStats>,
}

impl CellSpot {
    /// The cell's user id on the host and in its container.
    pub fn uid(&self) -> u32 {
        UID_BASE + u32::from(self.port)
    }

    /// The cell's home on the host (its only volume).
    pub fn home(instance: &str) -> String {
        format!("/var/lib/clawops/cells/{instance}/home")
    }

    /// clawops' own files for the cell, beside its home.
    pub fn clawops_dir(instance: &str) -> String {
        format!("/var/lib/clawops/cells/{instance}/.clawops")
    }

    pub fn container(instance: &str) -> String {
        format!("clawops-cell-{instance}")
    }
}

/// One container as the host's look found it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CellUse {
    /// CPU over the sampled second, in percent of one CPU.
    pub cpu_percent: f32,
    /// Memory in percent of the cell's limit.
    pub memory_percent: f32,
    pub pids: Option<u32>,
    /// `running`, `exited`, `created`, … (podman's word).
    pub state: String,
}

/// One look at a cell host.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostLook {
    /// By instance name.
    pub cells: HashMap<String, CellUse>,
    pub disk_percent: f32,
    pub load: f32,
    pub cpus: u32,
    pub memory_mb: u64,
}

impl HostLook {
    /// From `cellhost.sh stats`.
    pub fn parse(text: &str) -> HostLook {
        let mut look = HostLook::default();
        let word = |line: &str, name: &str| -> Option<String> {
            line.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .map(str::to_string)
        };
        for line in text.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some(name) = first.strip_prefix("clawops-cell-") {
                let cell = look.cells.entry(name.to_string()).or_default();
                if let Some(cpu) = word(line, "cpu").and_then(|v| v.parse().ok()) {
                    cell.cpu_percent = cpu;
                }
                if let Some(mem) = word(line, "mem").and_then(|v| v.parse().ok()) {
                    cell.memory_percent = mem;
                }
                if let Some(p) = word(line, "pids").and_then(|v| v.parse().ok()) {
                    cell.pids = Some(p);
                }
                if let Some(s) = word(line, "state") {
                    cell.state = s;
                }
            } else if first == "host" {
                look.load = word(line, "load")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0);
                look.disk_percent = word(line, "disk")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0.0);
            } else if let Some(c) = word(line, "cpus").and_then(|v| v.parse().ok()) {
                look.cpus = c;
                look.memory_mb = word(line, "memory_mb")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
            }
        }
        look
    }
}

/// The newest look at one host, shared by its cells: a look younger than
/// [`STATS_FRESH`] serves every cell; one look runs at a time.
#[derive(Debug, Default)]
pub struct HostStats {
    last: tokio::sync::Mutex<Option<(Instant, Arc<HostLook>)>>,
}

impl HostStats {
    /// The fresh look, or a new one taken with `take`.
    pub async fn get<F, Fut>(&self, take: F) -> Result<Arc<HostLook>, RemoteError>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<String, RemoteError>>,
    {
        let mut last = self.last.lock().await;
        if let Some((at, look)) = last.as_ref()
            && at.elapsed() < STATS_FRESH
        {
            return Ok(look.clone());
        }
        let look = Arc::new(HostLook::parse(&take().await?));
        *last = Some((Instant::now(), look.clone()));
        Ok(look)
    }

    /// Forgets the look (a cell started or stopped since).
    pub async fn stale(&self) {
        *self.last.lock().await = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_look_reads_every_cell_and_the_host() {
        let look = HostLook::parse(
            "clawops-cell-alice cpu=97.5 mem=61.20 pids=29\n\
             clawops-cell-alice state=running\n\
             clawops-cell-bob state=exited\n\
             host load=1.25 disk=41\n\
             cpus=8 memory_mb=15990\n",
        );
        assert_eq!(look.cells.len(), 2);
        let alice = &look.cells["alice"];
        assert_eq!(alice.cpu_percent, 97.5);
        assert_eq!(alice.memory_percent, 61.2);
        assert_eq!(alice.pids, Some(29));
        assert_eq!(alice.state, "running");
        assert_eq!(look.cells["bob"].state, "exited");
        assert_eq!(look.cells["bob"].cpu_percent, 0.0);
        assert_eq!((look.cpus, look.memory_mb), (8, 15990));
        assert_eq!(look.disk_percent, 41.0);
    }
}
