//! Reaching a host: the operations the deploy's shared steps, the lifecycle commands and
//! the probes need from a server, behind one trait. The simulated cloud implements it
//! without any network; an SSH implementation drives real hosts.
//!
//! Owns host access only: it must not touch the store's fleet tables or chat.

use async_trait::async_trait;
use thiserror::Error;

/// Why a host could not do what was asked.
#[derive(Debug, Error)]
pub enum RemoteError {
    #[error("the host is not reachable yet: {0}")]
    Unreachable(String),
    #[error("{step} failed on the host: {message}")]
    StepFailed { step: &'static str, message: String },
    #[error("the host's state cannot be read: {0}")]
    State(String),
}

/// The deploy steps that run on the host itself, shared by every provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostStep {
    /// Service user, firewall (SSH only), fail2ban, unattended upgrades, Docker.
    PrepareHost,
    /// Node.js of the version OpenClaw requires.
    InstallNode,
    /// OpenClaw at the pinned version.
    InstallOpenclaw,
    /// Gateway token, bind loopback, channel and model configuration.
    ConfigureGateway,
    /// The gateway service, enabled and started.
    StartGateway,
}

impl HostStep {
    /// The step's id in the deploy log.
    pub fn id(self) -> &'static str {
        match self {
            HostStep::PrepareHost => "prepare-host",
            HostStep::InstallNode => "install-node",
            HostStep::InstallOpenclaw => "install-openclaw",
            HostStep::ConfigureGateway => "configure-gateway",
            HostStep::StartGateway => "start-gateway",
        }
    }
}

/// What the host steps need to know.
#[derive(Debug, Clone, PartialEq)]
pub struct HostPlan {
    pub instance: String,
    pub openclaw_version: String,
}

/// What one look at a host found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reading {
    /// The gateway answered `/health`.
    pub gateway_up: bool,
    /// The gateway answered `/readyz` with ready.
    pub gateway_ready: bool,
    pub docker_up: bool,
    pub cpu_percent: f32,
    pub memory_percent: f32,
    pub disk_percent: f32,
    pub openclaw_version: Option<String>,
    /// Seconds since the gateway last started.
    pub uptime_secs: Option<u64>,
}

/// One host, as the deploy and the lifecycle commands see it.
#[async_trait]
pub trait Host: Send + Sync {
    /// Whether the host answers (SSH up and first-boot set-up finished).
    async fn reachable(&self) -> Result<bool, RemoteError>;
    /// Whether a host step is already done.
    async fn step_done(&self, step: HostStep, plan: &HostPlan) -> Result<bool, RemoteError>;
    /// Does a host step; returns its output for the deploy log.
    async fn apply_step(&self, step: HostStep, plan: &HostPlan) -> Result<String, RemoteError>;
    /// Restarts the gateway service; returns its output.
    async fn restart_gateway(&self) -> Result<String, RemoteError>;
    /// Looks at the host and its gateway.
    async fn probe(&self) -> Result<Reading, RemoteError>;
}
