//! `clawops bench`: the figures an operator needs before trusting clawops with a fleet,
//! measured on this machine against the host farm (real SSH, a pretend OpenClaw behind
//! it), the fake Bot API and the simulated cloud — and beside them, the same checks the
//! way operators script them today (`ssh` per check per host, in a loop or `xargs -P 16`).
//! Prints a table and writes the rows as JSON.
//!
//! Owns measuring only: it starts its own clawops in a temporary folder and the farm in a
//! child process, and never touches a configured store.

pub mod farm_child;
mod rows;

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;
use thiserror::Error;

/// Why the bench could not finish.
#[derive(Debug, Error)]
pub enum BenchError {
    #[error("the host farm: {0}")]
    Farm(String),
    #[error("clawops would not start for the bench: {0}")]
    Start(String),
    #[error("{0}")]
    Step(String),
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct Options {
    /// Fleet sizes for the sweep rows, ascending (10, 100, 1,000).
    pub sizes: Vec<usize>,
    /// Run the `ssh` loops on every host instead of a sample scaled up.
    pub full: bool,
    /// Where to write the rows as JSON.
    pub json: Option<PathBuf>,
}

/// One measured figure.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub section: &'static str,
    pub what: String,
    pub value: f64,
    pub unit: &'static str,
    /// The goal, when the issue names one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub goal: String,
    /// How it was measured, when that matters (a sample scaled up, say).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Row {
    pub fn new(
        section: &'static str,
        what: impl Into<String>,
        value: f64,
        unit: &'static str,
    ) -> Row {
        Row {
            section,
            what: what.into(),
            value,
            unit,
            goal: String::new(),
            note: String::new(),
        }
    }

    pub fn goal(mut self, goal: &str) -> Row {
        self.goal = goal.into();
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }

    fn shown(&self) -> String {
        let v = self.value;
        if v.is_nan() {
            return "—".into();
        }
        match self.unit {
            "ms" if v >= 10_000.0 => format!("{:.1} s", v / 1000.0),
            "ms" => format!("{v:.1} ms"),
            "s" => format!("{v:.1} s"),
            "MiB" => format!("{v:.1} MiB"),
            "x" => format!("{v:.0}×"),
            "ratio" => format!("{v:.2}"),
            "" => format!("{v:.0}"),
            unit => format!("{v:.0} {unit}"),
        }
    }
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: String,
    pub version: &'static str,
    pub rows: Vec<Row>,
}

impl Report {
    /// The rows as a Markdown table, grouped by section.
    pub fn table(&self) -> String {
        let mut out = format!(
            "clawops {} bench on {}\n\n| section | figure | value | goal | note |\n| --- | --- | ---: | --- | --- |\n",
            self.version, self.machine
        );
        for r in &self.rows {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.section,
                r.what,
                r.shown(),
                r.goal,
                r.note
            ));
        }
        out
    }
}

/// Runs every measurement; rows are printed as they come (on standard error) and the
/// table at the end.
pub async fn run(options: &Options) -> Result<Report, BenchError> {
    crate::app::raise_open_files();
    let mut rows = Vec::new();
    // A group that cannot finish says why in its place; the others still run.
    let mut group = |section: &'static str, done: Result<Vec<Row>, BenchError>| match done {
        Ok(more) => rows.extend(more),
        Err(e) => rows.push(Row::new(section, "not measured", f64::NAN, "").note(e.to_string())),
    };
    group("process", rows::process_figures().await);
    group("deploys", rows::deploys().await);
    group("llm", rows::tokens().await);
    group("farm", rows::farm(options).await);
    let report = Report {
        machine: machine(),
        version: env!("CARGO_PKG_VERSION"),
        rows,
    };
    if let Some(path) = &options.json {
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| BenchError::Step(e.to_string()))?;
        std::fs::write(path, text)
            .map_err(|e| BenchError::Step(format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(report)
}

/// Resident and peak resident memory in MiB, from a `/proc/*/status` file.
pub fn memory(status_file: &str) -> (f64, f64) {
    let status = std::fs::read_to_string(status_file).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// This process's (resident, peak) memory in MiB.
pub fn own_memory() -> (f64, f64) {
    memory("/proc/self/status")
}

/// The CPU model, core count and memory of this machine.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, m)| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = memory_total_gib();
    format!("{cpu}, {cores} cores, {mem:.0} GiB")
}

fn memory_total_gib() -> f64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
        / 1024.0
        / 1024.0
}

/// The p-th quantile (0..=1) of sorted samples.
fn quantile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
