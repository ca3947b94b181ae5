//! A real host running the OpenClaw gateway, driven over SSH: the deploy's host steps
//! (each a check and an apply, scripts in `remote/scripts/`), the probes, and the
//! lifecycle commands (restart, logs, update with rollback, config, suspend/resume,
//! backup/restore, remove).
//!
//! Keys, pins and sessions are `access`'s; this module uses them. The gateway's config
//! file is `openclaw::config`'s, the deploy's host steps `openclaw::steps`'. Secrets reach the host
//! on stdin or in files written with mode 0600, never on a command line. Frequent reads
//! go over the gateway's RPC through an SSH tunnel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::cells::CellSpot;
use super::ssh::{Credential, Output, Session, SshError, Target, Tunnel, fingerprint};
use super::{EndUsers, Host, HostPlan, HostStep, Reading, RemoteError, Versions};
use crate::gateway::{self, LogLine, Rpc};

const PRELUDE: &str = include_str!("scripts/prelude.sh");
const PREPARE: &str = include_str!("scripts/prepare.sh");
const NODE: &str = include_str!("scripts/node.sh");
const OPENCLAW: &str = include_str!("scripts/openclaw.sh");
const SERVICE: &str = include_str!("scripts/service.sh");
const PROBE: &str = include_str!("scripts/probe.sh");
const REMOVE: &str = include_str!("scripts/remove.sh");
const BACKUP: &str = include_str!("scripts/backup.sh");
const FORGET_KEY: &str = include_str!("scripts/forget-key.sh");
const CELL_HOST: &str = include_str!("scripts/cellhost.sh");
const CELL: &str = include_str!("scripts/cell.sh");

/// How long a short command may take.
const SHORT: Duration = Duration::from_secs(120);
/// Node.js download and unpack.
const NODE_TIME: Duration = Duration::from_secs(900);
/// `npm install openclaw` (hundreds of MB).
const OPENCLAW_TIME: Duration = Duration::from_secs(1800);
/// From service start to a ready gateway.
const READY_TIME: Duration = Duration::from_secs(180);
/// The gateway's config file, relative to the service user's home.
const CONFIG_FILE: &str = ".openclaw/openclaw.json";
/// Where the gateway's log goes, relative to the home.
const LOG_FILE: &str = ".openclaw/logs/gateway.log";
/// The service user made by prepare-host when clawops logs in as root.
const SERVICE_USER: &str = "openclaw";

use super::access::state;

mod config;
mod steps;

pub use super::access::{Access, Bootstrap, cloud_host_key};

/// Whose SSH key a cell host logs in with (and whose cloud host key it was given).
pub fn cell_host_key(host: &str) -> String {
    format!("cellhost:{host}")
}
pub use crate::config::NodeSource;
pub use config::{
    changed_keys, get_dotted, managed_key, node_supported, remove_dotted, set_dotted, strip_channel,
};

/// What every host gets installed, from `[deploy]`.
#[derive(Debug, Clone)]
pub struct Runtime {
    pub node_version: String,
    pub node_source: NodeSource,
    pub npm_registry: String,
    pub npm_version: String,
    pub gateway_port: u16,
    /// The model failover chain: primary first.
    pub models: Vec<String>,
}

/// A writer that counts what passes through it.
struct Counted<'a> {
    inner: &'a mut (dyn std::io::Write + Send),
    bytes: u64,
}

impl std::io::Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// One instance's host.
pub struct OpenclawHost {
    access: Arc<Access>,
    runtime: Arc<Runtime>,
    instance: String,
    target: Target,
    /// A cloud server clawops created: it may still be booting (wait instead of failing),
    /// its host key is the one clawops gave it in cloud-init, and it never sees the
    /// bootstrap credential.
    cloud: bool,
    /// Whose SSH key logs in: the instance's own, or its cell host's.
    key_owner: String,
    /// The instance's cell, when it runs in one on a cell host (reached as root).
    cell: Option<CellSpot>,
}

impl OpenclawHost {
    pub fn new(
        access: Arc<Access>,
        runtime: Arc<Runtime>,
        instance: &str,
        target: Target,
        cloud: bool,
    ) -> OpenclawHost {
        OpenclawHost {
            access,
            runtime,
            instance: instance.to_string(),
            target,
            cloud,
            key_owner: instance.to_string(),
            cell: None,
        }
    }

    /// An instance in its cell on a cell host, reached with the host's key.
    pub fn in_cell(
        access: Arc<Access>,
        runtime: Arc<Runtime>,
        instance: &str,
        target: Target,
        cloud: bool,
        spot: CellSpot,
    ) -> OpenclawHost {
        OpenclawHost {
            key_owner: cell_host_key(&spot.host),
            cell: Some(spot),
            ..OpenclawHost::new(access, runtime, instance, target, cloud)
        }
    }

    /// The cell host itself (for preparing it and looking at all its cells).
    pub fn cell_host(
        access: Arc<Access>,
        runtime: Arc<Runtime>,
        host: &str,
        target: Target,
        cloud: bool,
    ) -> OpenclawHost {
        OpenclawHost::new(access, runtime, &cell_host_key(host), target, cloud)
    }

    /// Connects to this host with `credential`. A cloud server with no pin yet must offer
    /// the host key clawops gave it in cloud-init: that key is pinned before first contact.
    async fn connect(&self, credential: &Credential) -> Result<Session, RemoteError> {
        if self.cloud
            && self.access.pinned(&self.target).await?.is_none()
            && let Some(given) = self.access.given_host_key(&self.key_owner).await?
        {
            self.access.pin(&self.target, &given).await?;
        }
        self.access.connect(&self.target, credential).await
    }

    /// The bootstrap credential, if this host may be offered it: never a cloud server,
    /// and only a host you have that `[providers.ssh] bootstrap_hosts` names.
    fn bootstrap(&self) -> Option<&Credential> {
        if self.cloud {
            return None;
        }
        self.access.bootstrap_for(&self.target)
    }

    fn as_root(&self) -> bool {
        self.target.user == "root"
    }

    /// A logged-in session with the instance's key, reused while it stays open.
    async fn session(&self) -> Result<Arc<Session>, RemoteError> {
        let url = self.target.url();
        let pooled = self.access.sessions.lock().await.get(&url).cloned();
        if let Some(s) = pooled.filter(|s| !s.is_closed()) {
            return Ok(s);
        }
        // Connect without holding the pool: other hosts' commands go on meanwhile.
        let key = self.access.instance_key(&self.key_owner).await?;
        let session = Arc::new(self.connect(&Credential::Key(key)).await?);
        let mut sessions = self.access.sessions.lock().await;
        if let Some(raced) = sessions.get(&url).filter(|s| !s.is_closed()) {
            return Ok(raced.clone());
        }
        sessions.insert(url, session.clone());
        Ok(session)
    }

    async fn forget_session(&self) {
        self.access.drop_session(&self.target).await;
    }

    /// Runs `body` (after the prelude) with `sh -s -- ARGS` as the service user.
    async fn script(
        &self,
        body: &str,
        args: &[&str],
        limit: Duration,
    ) -> Result<Output, RemoteError> {
        self.script_as(body, args, limit, !self.as_root()).await
    }

    async fn script_as(
        &self,
        body: &str,
        args: &[&str],
        limit: Duration,
        login_user: bool,
    ) -> Result<Output, RemoteError> {
        let command = self.command_for(args, login_user)?;
        let script = format!("{PRELUDE}\n{body}");
        let session = self.session().await?;
        Ok(session
            .run(&command, Some(script.as_bytes()), limit)
            .await?)
    }

    /// `sh -s -- ARGS`, as the login user or (`login_user` false) the service user.
    fn command_for(&self, args: &[&str], login_user: bool) -> Result<String, RemoteError> {
        let quoted = shlex::try_join(args.iter().copied()).map_err(|e| {
            RemoteError::Refused(format!("a script argument cannot be quoted: {e}"))
        })?;
        let command = format!("sh -s -- {quoted}");
        if login_user {
            return Ok(command);
        }
        if self.cell.is_some() {
            return self.as_cell_user(&command);
        }
        Ok(format!(
            "su -s /bin/sh -l {SERVICE_USER} -c {}",
            shlex::try_quote(&command).map_err(|e| RemoteError::Refused(e.to_string()))?
        ))
    }

    /// `command` as the cell's own user, with its home and clawops' files for it (root
    /// logs in to a cell host; scripts never run as root over a tenant's files).
    fn as_cell_user(&self, command: &str) -> Result<String, RemoteError> {
        let Some(spot) = &self.cell else {
            return Ok(command.to_string());
        };
        let home = CellSpot::home(&self.instance);
        Ok(format!(
            "cd {home} && setpriv --reuid={uid} --regid={uid} --clear-groups env -i HOME={home} CLAWOPS_D={d} PATH=/usr/local/bin:/usr/bin:/bin sh -c {c}",
            uid = spot.uid(),
            d = CellSpot::clawops_dir(&self.instance),
            c = shlex::try_quote(command).map_err(|e| RemoteError::Refused(e.to_string()))?
        ))
    }

    /// Runs `cell.sh ACTION` as root for this instance's cell.
    async fn cell_script(&self, action: &str, extra: &str) -> Result<String, RemoteError> {
        let Some(spot) = &self.cell else {
            return Err(RemoteError::Refused(format!(
                "{} does not run in a cell",
                self.instance
            )));
        };
        let args = [
            action.to_string(),
            self.instance.clone(),
            spot.port.to_string(),
            spot.uid().to_string(),
            format!("{}", spot.cpus),
            spot.memory_mb.to_string(),
            spot.pids.to_string(),
            spot.disk_mb.map_or("-".into(), |d| d.to_string()),
            spot.image.clone().unwrap_or_else(|| "-".into()),
            self.runtime.gateway_port.to_string(),
            extra.to_string(),
        ];
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.script_as(CELL, &args, SHORT, true).await?;
        spot.stats.stale().await;
        if out.ok() {
            Ok(out.stdout_text().trim().to_string())
        } else {
            Err(self.failed("cell", &out))
        }
    }

    /// Runs `cellhost.sh ACTION ARGS` as root (with the Node and OpenClaw installers
    /// beside it): prepares a cell host, builds an image, looks at the cells.
    pub async fn cell_host_script(
        &self,
        action: &str,
        args: &[&str],
        limit: Duration,
    ) -> Result<String, RemoteError> {
        let quote = |body: &str| {
            shlex::try_quote(&format!("{PRELUDE}\n{body}"))
                .map(|q| q.into_owned())
                .map_err(|e| RemoteError::Refused(e.to_string()))
        };
        let body = format!(
            "NODE_SCRIPT={}\nOPENCLAW_SCRIPT={}\n{CELL_HOST}",
            quote(NODE)?,
            quote(OPENCLAW)?
        );
        let mut all = vec![action];
        all.extend_from_slice(args);
        let out = self.script_as(&body, &all, limit, true).await?;
        if out.ok() {
            Ok(out.stdout_text().trim().to_string())
        } else {
            Err(self.failed("cell-host", &out))
        }
    }

    /// The arguments `cellhost.sh image` takes for `version`.
    pub fn image_args(&self, version: &str) -> Vec<String> {
        let r = &self.runtime;
        vec![
            match r.node_source {
                NodeSource::Nodejs => "nodejs".into(),
                NodeSource::Npm => "npm".into(),
            },
            r.node_version.clone(),
            r.npm_registry.clone(),
            r.npm_version.clone(),
            version.to_string(),
            self.cell
                .as_ref()
                .and_then(|c| c.image.clone())
                .map(|i| i.replace("{version}", version))
                .unwrap_or_else(|| "-".into()),
        ]
    }

    /// Like [`Self::script`], but a non-zero exit is an error naming the step, the last
    /// lines of output, and how to look by hand.
    async fn script_ok(
        &self,
        step: &'static str,
        body: &str,
        args: &[&str],
        limit: Duration,
    ) -> Result<String, RemoteError> {
        let out = self.script(body, args, limit).await?;
        if out.ok() {
            return Ok(out.stdout_text().trim().to_string());
        }
        Err(self.failed(step, &out))
    }

    fn failed(&self, step: &'static str, out: &Output) -> RemoteError {
        let status = out
            .status
            .map_or("killed by a signal".to_string(), |s| format!("exit {s}"));
        RemoteError::StepFailed {
            step,
            message: format!(
                "{status}; last output:\n{}\nLook by hand: {}",
                crate::secrets::redact(&out.tail(8), &[]),
                self.hand()
            ),
        }
    }

    fn hand(&self) -> String {
        let by_hand = format!(
            "clawops key {name} && {}",
            self.target
                .hand_command(&format!("~/.ssh/clawops-{}", self.key_owner)),
            name = self.key_owner
        );
        match &self.cell {
            Some(_) => format!(
                "{by_hand}, then podman logs {}",
                CellSpot::container(&self.instance)
            ),
            None => by_hand,
        }
    }

    /// Writes `bytes` to `path` (relative to the service user's home) with mode 0600,
    /// atomically; the bytes travel on stdin.
    async fn upload(&self, path: &str, bytes: &[u8]) -> Result<(), RemoteError> {
        let inner = format!(
            "umask 077 && mkdir -p \"$(dirname {p})\" && t={p}.clawops-new.$$ && cat > \"$t\" && mv \"$t\" {p}",
            p = shlex::try_quote(path).map_err(|e| RemoteError::Refused(e.to_string()))?
        );
        let command = if self.cell.is_some() {
            self.as_cell_user(&format!("cd && {inner}"))?
        } else if self.as_root() {
            format!(
                "su -s /bin/sh -l {SERVICE_USER} -c {}",
                shlex::try_quote(&format!("cd && {inner}"))
                    .map_err(|e| RemoteError::Refused(e.to_string()))?
            )
        } else {
            format!("cd && {inner}")
        };
        let out = self
            .session()
            .await?
            .run(&command, Some(bytes), SHORT)
            .await?;
        if out.ok() {
            Ok(())
        } else {
            Err(self.failed("upload", &out))
        }
    }

    async fn tunnel(&self) -> Result<Tunnel, RemoteError> {
        let port = match &self.cell {
            Some(spot) => spot.port,
            None => self.runtime.gateway_port,
        };
        Ok(self.session().await?.forward(port).await?)
    }

    async fn service(&self, action: &str) -> Result<String, RemoteError> {
        if self.cell.is_some() {
            return self.cell_script(action, "").await;
        }
        let port = self.runtime.gateway_port.to_string();
        self.script_ok("service", SERVICE, &[action, &port], SHORT)
            .await
    }

    /// Polls the gateway's `/readyz` through the tunnel until it says ready.
    async fn wait_ready(&self, limit: Duration) -> Result<gateway::Probe, RemoteError> {
        let tunnel = self.tunnel().await?;
        let addr = tunnel.local.to_string();
        let started = Instant::now();
        loop {
            let probe = gateway::probe(&addr).await;
            if probe.live && probe.readiness.as_ref().is_some_and(|r| r.ready) {
                return Ok(probe);
            }
            if started.elapsed() >= limit {
                let tail = if self.cell.is_some() {
                    self.cell_script("logs", "8").await.unwrap_or_default()
                } else {
                    self.script(
                        "tail -n 8 \"$D/gateway.out\" 2>/dev/null || true",
                        &[],
                        SHORT,
                    )
                    .await
                    .map(|o| o.stdout_text())
                    .unwrap_or_default()
                };
                return Err(RemoteError::StepFailed {
                    step: "health-check",
                    message: format!(
                        "the gateway was not ready after {}s; its last output:\n{}\nLook by hand: {}",
                        limit.as_secs(),
                        crate::secrets::redact(tail.trim(), &[]),
                        self.hand()
                    ),
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// An RPC session with the gateway (and the tunnel it runs through).
    async fn rpc(&self) -> Result<(Tunnel, Rpc), RemoteError> {
        let tunnel = self.tunnel().await?;
        let token = self.gateway_token().await?;
        let rpc = Rpc::connect(&tunnel.local.to_string(), &token).await?;
        Ok((tunnel, rpc))
    }

    async fn installed_version(&self) -> Result<Option<String>, RemoteError> {
        let out = self
            .script(
                "node -p \"require('$D/openclaw/lib/node_modules/openclaw/package.json').version\" 2>/dev/null || true",
                &[],
                SHORT,
            )
            .await?;
        let v = out.stdout_text().trim().to_string();
        Ok((!v.is_empty()).then_some(v))
    }

    async fn node_version(&self) -> Result<Option<String>, RemoteError> {
        let out = self
            .script(
                "\"$D/node/bin/node\" --version 2>/dev/null || true",
                &[],
                SHORT,
            )
            .await?;
        let v = out.stdout_text().trim().to_string();
        Ok((!v.is_empty()).then_some(v))
    }

    async fn service_status(&self) -> Result<(bool, bool), RemoteError> {
        let status = self.service("status").await?;
        Ok((
            status.contains("running=yes"),
            status.contains("suspended=yes"),
        ))
    }

    async fn start_and_wait(&self, action: &str) -> Result<String, RemoteError> {
        let said = self.service(action).await?;
        let started = Instant::now();
        self.wait_ready(READY_TIME).await?;
        Ok(format!(
            "{said}; ready in {:.1}s",
            started.elapsed().as_secs_f64()
        ))
    }
}

impl OpenclawHost {
    /// The gateway and the host as the probe script and the gateway itself say.
    async fn probe_gateway(&self) -> Result<Reading, RemoteError> {
        let facts = self.script(PROBE, &[], SHORT).await?;
        // Reached, by whoever asked: a sweep's back-off for this host ends here.
        self.access.reached(&self.target);
        let text = facts.stdout_text();
        let field = |name: &str| -> Option<f64> {
            text.split_whitespace()
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.parse().ok())
        };
        let cores = field("cores").unwrap_or(1.0).max(1.0);
        let memory = match (field("mem_total"), field("mem_avail")) {
            (Some(t), Some(a)) if t > 0.0 => (1.0 - a / t) * 100.0,
            _ => 0.0,
        };
        let tunnel = self.tunnel().await?;
        let probe = gateway::probe(&tunnel.local.to_string()).await;
        let ready = probe.readiness.as_ref().is_some_and(|r| r.ready);
        // A channel that stopped while the process is up, from the gateway's own RPC.
        let mut config_rev = None;
        let mut last_inbound = None;
        let channels_stopped = if probe.live {
            match self.rpc().await {
                Ok((_tunnel, mut rpc)) => {
                    config_rev = rpc.config_rev.take();
                    let status = rpc.channels_status().await;
                    rpc.close().await;
                    match status {
                        Ok(v) => {
                            last_inbound = gateway::last_inbound(&v);
                            gateway::stopped_channels(&v)
                        }
                        Err(e) => {
                            tracing::debug!(instance = %self.instance, error = %e, "channels.status");
                            Vec::new()
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(instance = %self.instance, error = %e, "no RPC for channels.status");
                    Vec::new()
                }
            }
        } else {
            Vec::new()
        };
        let version = text
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("version="))
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        let readiness = probe.readiness.as_ref();
        let boot_id = text
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("boot="))
            .filter(|v| !v.is_empty())
            .map(str::to_string);
        let service_active = text
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix("service="))
            .and_then(|s| match s {
                "active" => Some(true),
                "unknown" | "" => None,
                _ => Some(false),
            });
        Ok(Reading {
            cell: None,
            users: EndUsers::from_probe(&text),
            config_rev,
            boot_id,
            service_active,
            service_restarts: field("restarts").map(|n| n as u64),
            failing: readiness
                .map(|r| {
                    r.failing
                        .iter()
                        .map(|f| match f {
                            serde_json::Value::String(s) => s.clone(),
                            other => other
                                .get("name")
                                .or_else(|| other.get("id"))
                                .and_then(|n| n.as_str())
                                .map(str::to_string)
                                .unwrap_or_else(|| other.to_string()),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            event_loop_degraded: readiness
                .and_then(|r| r.event_loop.as_ref())
                .is_some_and(|e| e.degraded),
            channels_stopped,
            last_inbound,
            gateway_up: probe.live,
            gateway_ready: ready,
            docker_up: !text.contains("docker=down"),
            cpu_percent: (field("load").unwrap_or(0.0) / cores * 100.0) as f32,
            memory_percent: memory as f32,
            disk_percent: field("disk").unwrap_or(0.0) as f32,
            openclaw_version: version,
            uptime_secs: probe
                .readiness
                .and_then(|r| r.uptime_ms)
                .map(|ms| ms / 1000),
        })
    }

    async fn gateway_logs(&self, lines: u32) -> Result<Vec<LogLine>, RemoteError> {
        match self.rpc().await {
            Ok((_tunnel, mut rpc)) => {
                let tail = rpc.logs_tail(lines).await?;
                rpc.close().await;
                Ok(tail.parsed())
            }
            Err(_) => {
                // The gateway is down: its log file still tells why.
                let out = self
                    .script(
                        "tail -n \"$1\" \"$HOME/.openclaw/logs/gateway.log\" 2>/dev/null || tail -n \"$1\" \"$D/gateway.out\" 2>/dev/null || true",
                        &[&lines.to_string()],
                        SHORT,
                    )
                    .await?;
                let tail = gateway::LogTail {
                    file: None,
                    lines: out.stdout_text().lines().map(str::to_string).collect(),
                };
                Ok(tail.parsed())
            }
        }
    }

    async fn gateway_versions(&self) -> Result<Versions, RemoteError> {
        let running = match self.rpc().await {
            Ok((_tunnel, rpc)) => {
                let v = rpc.server_version.clone();
                rpc.close().await;
                v
            }
            Err(_) => None,
        };
        Ok(Versions {
            installed: self.installed_version().await?,
            running,
            node: self.node_version().await?,
        })
    }

    /// Installs `version` beside the current one (a cell: its image, built on the host when
    /// missing), selects it, restarts and waits for ready; selects the previous version
    /// again when the new one does not come up ready.
    async fn update_version(&self, version: &str) -> Result<String, RemoteError> {
        let previous = self.installed_version().await?;
        let installed = self.install_version(version).await?;
        match self.start_and_wait("restart").await {
            Ok(ready) => Ok(format!(
                "{} → {version}{installed}; {ready}",
                previous.as_deref().unwrap_or("none")
            )),
            Err(failure) => {
                let Some(old) = previous.filter(|p| p != version) else {
                    return Err(failure);
                };
                self.select_version(&old).await?;
                let back = self.start_and_wait("restart").await;
                Err(RemoteError::StepFailed {
                    step: "update",
                    message: format!(
                        "{version} did not come up healthy ({failure}); rolled back to {old}: {}",
                        match back {
                            Ok(s) => s,
                            Err(e) => format!("the rollback failed too: {e}"),
                        }
                    ),
                })
            }
        }
    }

    /// `version` installed and selected; what to add to the update's answer.
    async fn install_version(&self, version: &str) -> Result<String, RemoteError> {
        if self.cell.is_none() {
            self.script_ok("update", OPENCLAW, &[version], OPENCLAW_TIME)
                .await?;
            return Ok(String::new());
        }
        let args = self.image_args(version);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let image = self.cell_host_script("image", &args, OPENCLAW_TIME).await?;
        self.select_version(version).await?;
        Ok(format!(" ({image})"))
    }

    /// Selects an installed `version` for the next start.
    async fn select_version(&self, version: &str) -> Result<String, RemoteError> {
        if self.cell.is_some() {
            return self.cell_script("switch", version).await;
        }
        self.script_ok(
            "rollback",
            "ln -sfn \"openclaw-$1\" \"$D/openclaw\"",
            &[version],
            SHORT,
        )
        .await
    }
}

/// A cell's reading: CPU and memory against its own limits (not the host's), whether its
/// container runs, the host's disk.
fn in_cell(reading: &mut Reading, spot: &CellSpot, look: &super::cells::HostLook, instance: &str) {
    let cell = look.cells.get(instance).cloned().unwrap_or_default();
    reading.cpu_percent = cell.cpu_percent / spot.cpus.max(0.01) as f32;
    reading.memory_percent = cell.memory_percent;
    reading.disk_percent = look.disk_percent;
    reading.service_active = Some(cell.state == "running");
    reading.docker_up = true;
    reading.cell = Some(super::CellUsage {
        cpus: spot.cpus,
        memory_mb: spot.memory_mb,
        pids: cell.pids,
        pids_limit: spot.pids,
    });
}

#[async_trait]
impl Host for OpenclawHost {
    async fn reachable(&self) -> Result<bool, RemoteError> {
        // First contact on a host you have may only have the bootstrap credential (and
        // only when bootstrap_hosts names the host): a bare login proves the host answers.
        let known = self
            .access
            .store
            .instance_key(&self.instance)
            .await
            .map_err(state)?
            .is_some();
        let credential = match self.bootstrap() {
            Some(b) if !known => b.clone(),
            _ => Credential::Key(self.access.instance_key(&self.instance).await?),
        };
        match self.connect(&credential).await {
            Ok(session) if self.cloud => {
                // A new cloud server answers SSH before cloud-init is done: wait for the
                // sentinel its first-boot script leaves.
                let done = session
                    .run("test -e /var/lib/clawops/first-boot-done", None, SHORT)
                    .await?;
                session.close().await;
                Ok(done.ok())
            }
            Ok(session) => {
                session.close().await;
                Ok(true)
            }
            Err(RemoteError::Ssh(SshError::AuthFailed { .. }))
                if matches!(credential, Credential::Key(_)) && self.bootstrap().is_some() =>
            {
                // Our key is not authorized yet (a resumed deploy): the bootstrap may be.
                let b = self.bootstrap().cloned().unwrap_or(credential);
                let session = self.connect(&b).await?;
                session.close().await;
                Ok(true)
            }
            Err(RemoteError::Ssh(SshError::AuthFailed { .. })) if !self.cloud => {
                // Not authorized yet and no bootstrap for this host: the next step says
                // what line to add by hand.
                Ok(true)
            }
            Err(e) if e.permanent() || !self.cloud => Err(e),
            Err(_) => Ok(false),
        }
    }

    async fn step_done(&self, step: HostStep, plan: &HostPlan) -> Result<bool, RemoteError> {
        self.step_is_done(step, plan).await
    }

    async fn apply_step(&self, step: HostStep, plan: &HostPlan) -> Result<String, RemoteError> {
        self.run_step(step, plan).await
    }

    async fn restart_gateway(&self) -> Result<String, RemoteError> {
        self.start_and_wait("restart").await
    }

    async fn restart_service(&self) -> Result<String, RemoteError> {
        self.start_and_wait("hard-restart").await
    }

    fn sweep_waits(&self) -> Option<String> {
        self.access
            .backing_off(&self.target)
            .map(|(failures, until)| {
                format!(
                    "not tried again before {}: the last {failures} sweeps could not reach it",
                    until.format("%H:%M:%S UTC")
                )
            })
    }

    fn sweep_reached(&self, reached: bool) {
        if reached {
            self.access.reached(&self.target);
        } else {
            self.access.unreached(&self.target);
        }
    }

    async fn probe(&self) -> Result<Reading, RemoteError> {
        let mut reading = self.probe_gateway().await?;
        if let Some(spot) = &self.cell {
            let look = spot
                .stats
                .get(|| async { self.cell_host_script("stats", &[], SHORT).await })
                .await?;
            in_cell(&mut reading, spot, &look, &self.instance);
        }
        Ok(reading)
    }

    async fn logs(&self, lines: u32) -> Result<Vec<LogLine>, RemoteError> {
        self.gateway_logs(lines).await
    }

    async fn versions(&self) -> Result<Versions, RemoteError> {
        self.gateway_versions().await
    }

    async fn update(&self, version: &str) -> Result<String, RemoteError> {
        self.update_version(version).await
    }

    async fn config(&self) -> Result<Value, RemoteError> {
        Ok(self.read_config().await?.1.unwrap_or_else(|| json!({})))
    }

    async fn set_config(&self, key: &str, value: Value) -> Result<String, RemoteError> {
        self.change_config(key, value).await
    }

    async fn unset_config(&self, key: &str) -> Result<String, RemoteError> {
        self.remove_config(key).await
    }

    async fn suspend(&self) -> Result<String, RemoteError> {
        self.service("stop").await
    }

    async fn resume(&self) -> Result<String, RemoteError> {
        self.start_and_wait("start").await
    }

    async fn backup(&self, sink: &mut (dyn std::io::Write + Send)) -> Result<u64, RemoteError> {
        let command = self.command_for(&[], !self.as_root())?;
        let script = format!("{PRELUDE}\n{BACKUP}");
        let mut counted = Counted {
            inner: sink,
            bytes: 0,
        };
        let (status, stderr) = self
            .session()
            .await?
            .run_to(
                &command,
                Some(script.as_bytes()),
                &mut counted,
                super::BACKUP_CAP,
                OPENCLAW_TIME,
            )
            .await?;
        if status != Some(0) {
            let out = Output {
                status,
                stdout: Vec::new(),
                stderr,
            };
            return Err(self.failed("backup", &out));
        }
        Ok(counted.bytes)
    }

    async fn restore(&self, archive: &[u8]) -> Result<String, RemoteError> {
        let members = super::archive::check(archive)
            .map_err(|why| RemoteError::Refused(format!("the backup is not restored: {why}")))?;
        tracing::debug!(members, "backup archive checked");
        self.service("stop").await?;
        let staged = ".clawops-restore.tar.gz";
        self.upload(staged, archive).await?;
        self.script_ok(
            "restore",
            "cd \"$HOME\" && rm -rf .openclaw.before-restore && { [ ! -e .openclaw ] || mv .openclaw .openclaw.before-restore; } && tar xzf .clawops-restore.tar.gz && rm -f .clawops-restore.tar.gz",
            &[],
            SHORT,
        )
        .await?;
        // The restored config carries the old instance's port and token: put this one's back.
        // Its bot token too: this instance's own, or none — never the source's (two
        // gateways must never poll one bot).
        let (home, current) = self.read_config().await?;
        let mut config = self.managed_config(&home, current.clone()).await?;
        if self.bot_token().await?.is_none() {
            config::strip_channel(&mut config);
        }
        self.write_config(&config, current.as_ref()).await?;
        let ready = self.start_and_wait("start").await?;
        Ok(format!(
            "restored (the previous state is kept in ~/.openclaw.before-restore); {ready}"
        ))
    }

    async fn pairing_requests(
        &self,
        channel: &str,
    ) -> Result<Vec<crate::store::SeenRequest>, RemoteError> {
        let (_tunnel, mut rpc) = self.rpc().await?;
        let listed = rpc.pairing_list(channel).await;
        rpc.close().await;
        Ok(listed?
            .requests
            .iter()
            .filter_map(gateway::PairingRequest::seen)
            .collect())
    }

    async fn decide_pairing(
        &self,
        channel: &str,
        account: &str,
        request: &str,
        approve: bool,
    ) -> Result<String, RemoteError> {
        let (_tunnel, mut rpc) = self.rpc().await?;
        let decided = if approve {
            rpc.pairing_approve(channel, account, request).await
        } else {
            rpc.pairing_dismiss(channel, account, request).await
        };
        rpc.close().await;
        let answer = decided?;
        Ok(match answer.get("notification").and_then(|n| n.as_str()) {
            Some("sent") => "the bot told them".to_string(),
            Some(other) => format!("the bot's notice: {other}"),
            None => "done".to_string(),
        })
    }

    async fn send_message(&self, to: &str, text: &str) -> Result<String, RemoteError> {
        let (channel, id) = to.split_once(':').unwrap_or(("telegram", to));
        let key = format!(
            "clawops-{}",
            hex::encode(rand::RngExt::random::<[u8; 8]>(&mut rand::rng()))
        );
        let (_tunnel, mut rpc) = self.rpc().await?;
        let sent = rpc.send(channel, id, text, &key).await;
        rpc.close().await;
        let answer = sent?;
        Ok(match answer.get("messageId").or_else(|| answer.get("id")) {
            Some(id) => format!(
                "delivered (message {})",
                id.as_str().map_or_else(|| id.to_string(), str::to_string)
            ),
            None => "delivered".to_string(),
        })
    }

    async fn doctor_fix(&self) -> Result<String, RemoteError> {
        // Not interactive: no TTY, stdin closed; its exit status is its verdict. In a cell
        // it runs inside the container (it loads the tenant's plugins: never on the host).
        let out = match &self.cell {
            Some(spot) => {
                self.script_as(
                    "podman exec --user \"$1\" \"$2\" node /opt/openclaw/lib/node_modules/openclaw/openclaw.mjs doctor --fix </dev/null 2>&1",
                    &[&spot.uid().to_string(), &CellSpot::container(&self.instance)],
                    SHORT,
                    true,
                )
                .await?
            }
            None => {
                self.script("openclaw doctor --fix </dev/null 2>&1", &[], SHORT)
                    .await?
            }
        };
        // What it could not fix (a service manager it does not find, say) is reported,
        // not fatal: the repair's own steps follow.
        let said = crate::secrets::redact(&out.tail(4), &[]);
        Ok(match out.status {
            Some(0) => said,
            Some(code) => format!("exit {code}: {said}"),
            None => format!("killed by a signal: {said}"),
        })
    }

    async fn normalise_config(&self) -> Result<Vec<String>, RemoteError> {
        let (home, current) = self.read_config().await?;
        let config = self.managed_config(&home, current.clone()).await?;
        let changed = config::changed_keys(current.as_ref().unwrap_or(&Value::Null), &config);
        if !changed.is_empty() {
            self.write_config(&config, current.as_ref()).await?;
        }
        Ok(changed)
    }

    async fn drop_channel(&self) -> Result<String, RemoteError> {
        self.access
            .store
            .forget_instance_secret(&self.instance, "telegram-token")
            .await
            .map_err(state)?;
        let (home, current) = self.read_config().await?;
        let mut config = self.managed_config(&home, current.clone()).await?;
        config::strip_channel(&mut config);
        self.write_config(&config, current.as_ref()).await?;
        match self.service_status().await? {
            (true, false) => Ok(format!(
                "channel taken off; {}",
                self.start_and_wait("restart").await?
            )),
            _ => Ok("channel taken off; the gateway is stopped".into()),
        }
    }

    async fn remove(&self) -> Result<String, RemoteError> {
        if self.cell.is_some() {
            // The host and its key stay: they carry other cells.
            return self.cell_script("remove", "").await;
        }
        let stopped = self.service("remove").await?;
        let key = self.access.instance_key(&self.instance).await?;
        let public = key
            .public_key()
            .to_openssh()
            .map_err(|e| RemoteError::State(e.to_string()))?;
        let removed = self.script_ok("remove", REMOVE, &[], SHORT).await?;
        // The key goes from the file it was added to: the login user's (root's, when
        // clawops logs in as root), last, since it is how clawops gets in.
        let out = self.script_as(FORGET_KEY, &[&public], SHORT, true).await?;
        if !out.ok() {
            return Err(self.failed("remove", &out));
        }
        self.forget_session().await;
        Ok(format!(
            "{stopped}; {removed}; {}",
            out.stdout_text().trim()
        ))
    }

    fn hand_command(&self) -> Option<String> {
        Some(self.hand())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_versions_openclaw_accepts() {
        assert!(node_supported("v24.21.0"));
        assert!(node_supported("v24.16.0"));
        assert!(!node_supported("v24.15.9"));
        assert!(!node_supported("v25.2.0"));
        assert!(node_supported("v26.1.0"));
        assert!(!node_supported("v20.20.2"));
        assert!(!node_supported(""));
    }

    #[test]
    fn dotted_keys_set_and_get() {
        let mut c = json!({"gateway": {"port": 1}});
        set_dotted(&mut c, "channels.telegram.dmPolicy", json!("pairing")).unwrap();
        set_dotted(&mut c, "gateway.port", json!(18789)).unwrap();
        assert_eq!(
            get_dotted(&c, "channels.telegram.dmPolicy"),
            Some(&json!("pairing"))
        );
        assert_eq!(get_dotted(&c, "gateway.port"), Some(&json!(18789)));
        assert!(set_dotted(&mut c, "gateway.port.x", json!(1)).is_err());
        assert!(set_dotted(&mut c, "a..b", json!(1)).is_err());
    }
}
