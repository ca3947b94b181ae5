//! Reaching a host: the operations the deploy's shared steps, the lifecycle commands and
//! the probes need from a server, behind one trait. The simulated cloud implements it
//! without any network; an SSH implementation drives real hosts.
//!
//! Owns host access only: it must not touch the store's fleet tables or chat.
//! `ssh` is the wire, `access` holds what every host shares (keys, pins, sessions, the
//! bootstrap), `openclaw` drives a real host through them, `archive` checks backups.

pub mod access;
pub mod archive;
pub mod cells;
pub mod openclaw;
pub mod ssh;

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
    #[error(transparent)]
    Ssh(#[from] ssh::SshError),
    #[error(transparent)]
    Gateway(#[from] crate::gateway::GatewayError),
    #[error("{0}")]
    Refused(String),
}

impl RemoteError {
    /// Whether waiting will not help (a changed host key, a refused login, a bad request).
    pub fn permanent(&self) -> bool {
        matches!(
            self,
            RemoteError::Ssh(ssh::SshError::HostKeyChanged { .. })
                | RemoteError::Ssh(ssh::SshError::AuthFailed { .. })
                | RemoteError::Refused(_)
        )
    }
}

/// The largest backup clawops takes or restores.
pub const BACKUP_CAP: usize = 2 << 30;

/// The deploy steps that run on the host itself, shared by every provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HostStep {
    /// The instance's own SSH key authorized on the host (hosts you already have).
    AuthorizeKey,
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
            HostStep::AuthorizeKey => "authorize-key",
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
    /// The gateway's own readiness checks that fail (`/readyz` `failing`).
    pub failing: Vec<String>,
    /// The gateway says its event loop is degraded (`/readyz` `eventLoop.degraded`).
    pub event_loop_degraded: bool,
    /// The newest message any channel account received (`channels.status`
    /// `lastInboundAt`), when the gateway says.
    pub last_inbound: Option<chrono::DateTime<chrono::Utc>>,
    /// Channel accounts that stopped while the gateway is up (RPC `channels.status`:
    /// not running, or a stopped or failed lifecycle), as `channel:account`.
    pub channels_stopped: Vec<String>,
    /// How often the service (systemd unit or clawops' supervisor) restarted the gateway
    /// on its own; compared between readings, a growing count is a crash loop.
    pub service_restarts: Option<u64>,
    /// The revision of the config the gateway runs with (its own opaque hash, shortened).
    pub config_rev: Option<String>,
    /// The host's boot: another id after every reboot.
    pub boot_id: Option<String>,
    /// Whether the gateway's service says its process runs (systemd unit active, or the
    /// supervisor's gateway process alive); with no answer from the gateway, it hangs.
    pub service_active: Option<bool>,
    /// The instance's end users as OpenClaw keeps them; `None` when not looked at.
    pub users: Option<EndUsers>,
    /// In a cell: its limits and processes (CPU and memory above are against the limits).
    pub cell: Option<CellUsage>,
}

/// A cell's limits beside what it uses, for `/status`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CellUsage {
    pub cpus: f64,
    pub memory_mb: u32,
    pub pids: Option<u32>,
    pub pids_limit: u32,
}

/// An instance's end users: the senders OpenClaw approved through pairing (kept in its
/// state database), and the sender it made the bot's command owner.
#[derive(Debug, Clone, PartialEq)]
pub enum EndUsers {
    Counted {
        count: u32,
        /// `channel:id`, e.g. `telegram:4242` (`commands.ownerAllowFrom`).
        owner: Option<String>,
    },
    /// The state could not be read as clawops expects (another schema version, say):
    /// "unknown" rather than a wrong number.
    Unknown(String),
}

impl EndUsers {
    /// From the probe's `users=N owner=X` or `users=unknown why=X` words.
    pub fn from_probe(text: &str) -> Option<EndUsers> {
        let word = |name: &str| {
            text.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .filter(|v| !v.is_empty())
        };
        match word("users")? {
            "unknown" => Some(EndUsers::Unknown(
                word("why").unwrap_or("unreadable").replace('-', " "),
            )),
            n => Some(EndUsers::Counted {
                count: n.parse().ok()?,
                owner: word("owner").map(str::to_string),
            }),
        }
    }
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
    /// Kills the gateway and starts its service again without asking it to stop (a hung
    /// process ignores a polite stop); returns its output.
    async fn restart_service(&self) -> Result<String, RemoteError> {
        self.restart_gateway().await
    }
    /// Looks at the host and its gateway.
    async fn probe(&self) -> Result<Reading, RemoteError>;
    /// For the sweep: why this host is not tried now (its back-off after sweeps that
    /// could not reach it), if so. A person's command always tries.
    fn sweep_waits(&self) -> Option<String> {
        None
    }
    /// For the sweep: whether its probe reached the host (ends or grows the back-off).
    fn sweep_reached(&self, _reached: bool) {}
    /// The newest `lines` lines of the gateway's log, oldest first (not yet redacted).
    async fn logs(&self, lines: u32) -> Result<Vec<crate::gateway::LogLine>, RemoteError>;
    /// The OpenClaw version installed, and the one the running gateway reports.
    async fn versions(&self) -> Result<Versions, RemoteError>;
    /// Installs `version` beside the current one, switches, restarts and checks health;
    /// switches back to the previous version when the check fails.
    async fn update(&self, version: &str) -> Result<String, RemoteError>;
    /// The gateway's config as written (secrets not yet masked).
    async fn config(&self) -> Result<serde_json::Value, RemoteError>;
    /// Sets one dotted key of the gateway's config; the previous file is restored when the
    /// gateway rejects the result.
    async fn set_config(&self, key: &str, value: serde_json::Value) -> Result<String, RemoteError>;
    /// Removes one dotted key from the gateway's config (a rollout putting back a key it
    /// added); the previous file is restored when the gateway rejects the result.
    async fn unset_config(&self, key: &str) -> Result<String, RemoteError>;
    /// The pending pairing requests of `channel` (the gateway's RPC, never the CLI).
    async fn pairing_requests(
        &self,
        channel: &str,
    ) -> Result<Vec<crate::store::SeenRequest>, RemoteError>;
    /// Approves (the gateway tells the requester) or dismisses one; returns what the
    /// gateway said.
    async fn decide_pairing(
        &self,
        channel: &str,
        account: &str,
        request: &str,
        approve: bool,
    ) -> Result<String, RemoteError>;
    /// The bot sends `text` to `to` (`channel:id`, e.g. `telegram:4242`) through the
    /// instance's own channel; returns what the gateway said.
    async fn send_message(&self, to: &str, text: &str) -> Result<String, RemoteError>;
    /// Takes the Telegram channel off this instance: its kept bot token forgotten, the
    /// token out of the config and the channel disabled, the gateway restarted when it
    /// runs. Two gateways must never poll one bot.
    async fn drop_channel(&self) -> Result<String, RemoteError>;
    /// `openclaw doctor --fix`: OpenClaw repairs what it knows (config drift, its
    /// service); returns the last lines it said.
    async fn doctor_fix(&self) -> Result<String, RemoteError> {
        Err(RemoteError::Refused(
            "this host does not run OpenClaw's doctor".into(),
        ))
    }
    /// Puts the keys clawops manages back where they drifted (the gateway block; the
    /// Telegram channel: enabled, the sealed bot token, `dmPolicy`), keeping everything
    /// else, such as what OpenClaw wrote itself (the command owner). Returns the keys
    /// it changed; they apply at the next restart.
    async fn normalise_config(&self) -> Result<Vec<String>, RemoteError> {
        Err(RemoteError::Refused(
            "this host's config is not one clawops manages".into(),
        ))
    }
    /// Stops the gateway and keeps it stopped (data kept): the kill switch.
    async fn suspend(&self) -> Result<String, RemoteError>;
    /// Starts a suspended gateway again and waits until it is ready.
    async fn resume(&self) -> Result<String, RemoteError>;
    /// Writes a tar.gz of the instance's OpenClaw state (`~/.openclaw`; logs, caches and
    /// temporary files left out) to `sink` as it arrives, at most [`BACKUP_CAP`] bytes;
    /// returns how many bytes were written.
    async fn backup(&self, sink: &mut (dyn std::io::Write + Send)) -> Result<u64, RemoteError>;
    /// Replaces the instance's OpenClaw state with `archive`, keeps this instance's own
    /// gateway settings, and starts the gateway.
    async fn restore(&self, archive: &[u8]) -> Result<String, RemoteError>;
    /// Stops the gateway for good and removes its service, its data and the runtime clawops
    /// installed (destroy on a host clawops did not create).
    async fn remove(&self) -> Result<String, RemoteError>;
    /// How an operator looks at the host by hand, when there is a way.
    fn hand_command(&self) -> Option<String> {
        None
    }
}

/// The OpenClaw versions of one host.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Versions {
    /// What the host has installed and selected.
    pub installed: Option<String>,
    /// What the running gateway says it is.
    pub running: Option<String>,
    /// Node.js on the host.
    pub node: Option<String>,
}

#[cfg(test)]
mod end_user_tests {
    use super::EndUsers;

    #[test]
    fn the_probe_says_how_many_end_users_or_why_it_cannot_count_them() {
        assert_eq!(
            EndUsers::from_probe("boot=ab12 users=3 owner=telegram:4242"),
            Some(EndUsers::Counted {
                count: 3,
                owner: Some("telegram:4242".into())
            })
        );
        assert_eq!(
            EndUsers::from_probe("users=0"),
            Some(EndUsers::Counted {
                count: 0,
                owner: None
            })
        );
        // Another schema than the one clawops reads: unknown, never a guess.
        assert_eq!(
            EndUsers::from_probe("users=unknown why=state-schema-19-(clawops-reads-18)"),
            Some(EndUsers::Unknown(
                "state schema 19 (clawops reads 18)".into()
            ))
        );
        assert_eq!(EndUsers::from_probe("service=active restarts=0"), None);
        assert_eq!(EndUsers::from_probe("users=lots"), None);
    }
}
