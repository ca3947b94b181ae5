//! A real host running the OpenClaw gateway, driven over SSH: the deploy's host steps
//! (each a check and an apply, scripts in `remote/scripts/`), the probes, and the
//! lifecycle commands (restart, logs, update with rollback, config, suspend/resume,
//! backup/restore, remove).
//!
//! Keys, pins and sessions are `access`'s; this module uses them. Secrets reach the host
//! on stdin or in files written with mode 0600, never on a command line. Frequent reads
//! go over the gateway's RPC through an SSH tunnel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::{Value, json};

use super::ssh::{Credential, Output, Session, SshError, Target, Tunnel, fingerprint};
use super::{Host, HostPlan, HostStep, Reading, RemoteError, Versions};
use crate::gateway::{self, LogLine, Rpc};

const PRELUDE: &str = include_str!("scripts/prelude.sh");
const PREPARE: &str = include_str!("scripts/prepare.sh");
const NODE: &str = include_str!("scripts/node.sh");
const OPENCLAW: &str = include_str!("scripts/openclaw.sh");
const SERVICE: &str = include_str!("scripts/service.sh");
const PROBE: &str = include_str!("scripts/probe.sh");
const REMOVE: &str = include_str!("scripts/remove.sh");
const FORGET_KEY: &str = include_str!("scripts/forget-key.sh");

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
pub use super::access::{Access, Bootstrap, cloud_host_key};
pub use crate::config::NodeSource;

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
        }
    }

    /// Connects to this host with `credential`. A cloud server with no pin yet must offer
    /// the host key clawops gave it in cloud-init: that key is pinned before first contact.
    async fn connect(&self, credential: &Credential) -> Result<Session, RemoteError> {
        if self.cloud
            && self.access.pinned(&self.target).await?.is_none()
            && let Some(given) = self.access.given_host_key(&self.instance).await?
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
        let key = self.access.instance_key(&self.instance).await?;
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
        Ok(format!(
            "su -s /bin/sh -l {SERVICE_USER} -c {}",
            shlex::try_quote(&command).map_err(|e| RemoteError::Refused(e.to_string()))?
        ))
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
        format!(
            "clawops key {name} && {}",
            self.target
                .hand_command(&format!("~/.ssh/clawops-{}", self.instance)),
            name = self.instance
        )
    }

    /// Writes `bytes` to `path` (relative to the service user's home) with mode 0600,
    /// atomically; the bytes travel on stdin.
    async fn upload(&self, path: &str, bytes: &[u8]) -> Result<(), RemoteError> {
        let inner = format!(
            "umask 077 && mkdir -p \"$(dirname {p})\" && t={p}.clawops-new.$$ && cat > \"$t\" && mv \"$t\" {p}",
            p = shlex::try_quote(path).map_err(|e| RemoteError::Refused(e.to_string()))?
        );
        let command = if self.as_root() {
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
        Ok(self
            .session()
            .await?
            .forward(self.runtime.gateway_port)
            .await?)
    }

    /// The gateway token of this instance, made and sealed on first need.
    async fn gateway_token(&self) -> Result<String, RemoteError> {
        self.secret_or_new("gateway-token").await
    }

    async fn secret_or_new(&self, name: &str) -> Result<String, RemoteError> {
        let purpose = format!("{name}:{}", self.instance);
        let store = &self.access.store;
        if let Some(sealed) = store
            .instance_secret(&self.instance, name)
            .await
            .map_err(state)?
        {
            let token = self
                .access
                .vault
                .open_text(&purpose, &sealed)
                .map_err(|e| RemoteError::State(e.to_string()))?;
            crate::secrets::register(&token);
            return Ok(token);
        }
        let bytes: [u8; 24] = rand::RngExt::random(&mut rand::rng());
        let token = hex::encode(bytes);
        crate::secrets::register(&token);
        let sealed = self.access.vault.seal_text(&purpose, &token);
        store
            .set_instance_secret(&self.instance, name, &sealed, self.access.clock.now())
            .await
            .map_err(state)?;
        Ok(token)
    }

    /// The instance's Telegram bot token, when the operator gave one.
    async fn bot_token(&self) -> Result<Option<String>, RemoteError> {
        let purpose = format!("telegram-token:{}", self.instance);
        let sealed = self
            .access
            .store
            .instance_secret(&self.instance, "telegram-token")
            .await
            .map_err(state)?;
        let token = sealed
            .map(|s| self.access.vault.open_text(&purpose, &s))
            .transpose()
            .map_err(|e| RemoteError::State(e.to_string()))?;
        if let Some(t) = &token {
            crate::secrets::register(t);
        }
        Ok(token)
    }

    /// The service user's home and the gateway config file as it is now.
    async fn read_config(&self) -> Result<(String, Option<Value>), RemoteError> {
        let out = self
            .script(
                "echo \"$HOME\"; cat \"$HOME/.openclaw/openclaw.json\" 2>/dev/null || true",
                &[],
                SHORT,
            )
            .await?;
        let text = out.stdout_text();
        let (home, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        let config = if body.trim().is_empty() {
            None
        } else {
            Some(serde_json::from_str(body).map_err(|e| {
                RemoteError::Refused(format!(
                    "~/.openclaw/openclaw.json on the host is not plain JSON ({e}); clawops manages JSON configs: fix or move it by hand"
                ))
            })?)
        };
        Ok((home.trim().to_string(), config))
    }

    /// `current` with clawops' managed keys set.
    async fn managed_config(
        &self,
        home: &str,
        current: Option<Value>,
    ) -> Result<Value, RemoteError> {
        let bot = self.bot_token().await?;
        self.managed_config_with(home, current, bot).await
    }

    /// `current` with clawops' managed keys set, and `bot` as the Telegram bot token.
    async fn managed_config_with(
        &self,
        home: &str,
        current: Option<Value>,
        bot: Option<String>,
    ) -> Result<Value, RemoteError> {
        let mut config = current.unwrap_or_else(|| json!({}));
        let token = self.gateway_token().await?;
        let managed = [
            ("gateway.mode", json!("local")),
            ("gateway.port", json!(self.runtime.gateway_port)),
            ("gateway.bind", json!("loopback")),
            ("gateway.auth.mode", json!("token")),
            ("gateway.auth.token", json!(token)),
            ("logging.file", json!(format!("{home}/{LOG_FILE}"))),
        ];
        for (key, value) in managed {
            set_dotted(&mut config, key, value).map_err(RemoteError::Refused)?;
        }
        if let Some(bot) = bot {
            set_dotted(&mut config, "channels.telegram.enabled", json!(true))
                .map_err(RemoteError::Refused)?;
            set_dotted(&mut config, "channels.telegram.botToken", json!(bot))
                .map_err(RemoteError::Refused)?;
            set_dotted(&mut config, "channels.telegram.dmPolicy", json!("pairing"))
                .map_err(RemoteError::Refused)?;
        }
        if let Some((primary, fallbacks)) = self.runtime.models.split_first() {
            set_dotted(&mut config, "agents.defaults.model.primary", json!(primary))
                .map_err(RemoteError::Refused)?;
            set_dotted(
                &mut config,
                "agents.defaults.model.fallbacks",
                json!(fallbacks),
            )
            .map_err(RemoteError::Refused)?;
        }
        Ok(config)
    }

    /// Writes `config`, has OpenClaw validate it, and puts `previous` back when invalid.
    async fn write_config(
        &self,
        config: &Value,
        previous: Option<&Value>,
    ) -> Result<(), RemoteError> {
        let text =
            serde_json::to_string_pretty(config).map_err(|e| RemoteError::State(e.to_string()))?;
        self.upload(CONFIG_FILE, text.as_bytes()).await?;
        let check = self
            .script("openclaw config validate 2>&1", &[], SHORT)
            .await?;
        if check.ok() {
            return Ok(());
        }
        match previous {
            Some(old) => {
                let old = serde_json::to_string_pretty(old)
                    .map_err(|e| RemoteError::State(e.to_string()))?;
                self.upload(CONFIG_FILE, old.as_bytes()).await?;
            }
            None => {
                self.script("rm -f \"$HOME/.openclaw/openclaw.json\"", &[], SHORT)
                    .await?;
            }
        }
        Err(RemoteError::Refused(format!(
            "OpenClaw rejects that config; the previous one is back in place:\n{}",
            crate::secrets::redact(&check.tail(6), &[])
        )))
    }

    async fn service(&self, action: &str) -> Result<String, RemoteError> {
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
                let tail = self
                    .script(
                        "tail -n 8 \"$D/gateway.out\" 2>/dev/null || true",
                        &[],
                        SHORT,
                    )
                    .await
                    .map(|o| o.stdout_text())
                    .unwrap_or_default();
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

    async fn authorize_key(&self) -> Result<String, RemoteError> {
        let key = self.access.instance_key(&self.instance).await?;
        let public = key
            .public_key()
            .to_openssh()
            .map_err(|e| RemoteError::State(e.to_string()))?;
        let Some(bootstrap) = self.bootstrap().cloned() else {
            let why = if self.access.bootstrap.is_some() {
                "[providers.ssh] bootstrap_hosts does not name this host, so the bootstrap credential is not offered to it"
            } else {
                "there is no bootstrap credential ([providers.ssh] bootstrap_key_file or bootstrap_password_env, with bootstrap_hosts)"
            };
            return Err(RemoteError::Refused(format!(
                "clawops cannot log in to {} yet: {why}. Add this line to ~{}/.ssh/authorized_keys on the host and resume:\n{public}",
                self.target, self.target.user
            )));
        };
        let session = self.connect(&bootstrap).await?;
        let add = "umask 077; mkdir -p ~/.ssh; touch ~/.ssh/authorized_keys; grep -qxF \"$1\" ~/.ssh/authorized_keys || printf '%s\\n' \"$1\" >> ~/.ssh/authorized_keys";
        let command = format!(
            "sh -c {} authorize {}",
            shlex::try_quote(add).map_err(|e| RemoteError::Refused(e.to_string()))?,
            shlex::try_quote(&public).map_err(|e| RemoteError::Refused(e.to_string()))?
        );
        let out = session.run(&command, None, SHORT).await?;
        session.close().await;
        if !out.ok() {
            return Err(self.failed("authorize-key", &out));
        }
        self.forget_session().await;
        self.session().await?;
        Ok(format!(
            "instance key {} authorized for {}; host key {} pinned",
            fingerprint(key.public_key()),
            self.target.user,
            self.pinned_fingerprint().await?
        ))
    }

    async fn pinned_fingerprint(&self) -> Result<String, RemoteError> {
        Ok(self
            .access
            .store
            .host_key(&self.target.url())
            .await
            .map_err(state)?
            .map(|r| r.fingerprint)
            .unwrap_or_else(|| "(none)".into()))
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

/// Config keys clawops manages: a key equal to one, inside one or a parent of one is
/// refused by /config set.
const MANAGED: &[&str] = &["gateway", "logging.file"];
/// Where the gateway keeps the Telegram bot token.
const BOT_TOKEN_KEY: &str = "channels.telegram.botToken";

/// The managed key that `key` is, is inside, or is a parent of, if any.
pub fn managed_key(key: &str) -> Option<&'static str> {
    MANAGED.iter().copied().find(|m| overlaps(key, m))
}

/// Whether dotted `key` is `other`, inside it, or a parent of it.
fn overlaps(key: &str, other: &str) -> bool {
    key == other
        || key.strip_prefix(other).is_some_and(|r| r.starts_with('.'))
        || other.strip_prefix(key).is_some_and(|r| r.starts_with('.'))
}

/// Whether `version` (like `v24.21.0`) is a Node.js OpenClaw runs on: >=24.16 <25, or >=26.1.
pub fn node_supported(version: &str) -> bool {
    let mut parts = version.trim().trim_start_matches('v').split('.');
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major == 24 && minor >= 16) || (major == 26 && minor >= 1) || major > 26
}

/// Sets `key` (dotted, like `channels.telegram.dmPolicy`) in `config` to `value`.
pub fn set_dotted(config: &mut Value, key: &str, value: Value) -> Result<(), String> {
    let parts: Vec<&str> = key.split('.').collect();
    if key.is_empty() || parts.iter().any(|p| p.is_empty()) {
        return Err(format!(
            "{key:?} is not a config key; write it like gateway.port"
        ));
    }
    if !config.is_object() {
        *config = json!({});
    }
    let mut node = config;
    for part in &parts[..parts.len() - 1] {
        let map = node
            .as_object_mut()
            .ok_or_else(|| format!("{key}: {part} is not a section"))?;
        let next = map.entry(part.to_string()).or_insert_with(|| json!({}));
        if !next.is_object() {
            return Err(format!("{key}: {part} holds a value, not a section"));
        }
        node = next;
    }
    node.as_object_mut()
        .ok_or_else(|| format!("{key} is not inside a section"))?
        .insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// The value at dotted `key`.
pub fn get_dotted<'a>(config: &'a Value, key: &str) -> Option<&'a Value> {
    key.split('.').try_fold(config, |node, part| node.get(part))
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
        match step {
            HostStep::AuthorizeKey => {
                let key = self.access.instance_key(&self.instance).await?;
                match self.connect(&Credential::Key(key)).await {
                    Ok(s) => {
                        s.close().await;
                        Ok(true)
                    }
                    Err(RemoteError::Ssh(SshError::AuthFailed { .. })) => Ok(false),
                    Err(e) => Err(e),
                }
            }
            HostStep::PrepareHost => {
                if !self.as_root() {
                    return Ok(false);
                }
                let out = self
                    .script_as(
                        "test -e /var/lib/clawops/prepared && echo yes || true",
                        &[],
                        SHORT,
                        true,
                    )
                    .await?;
                Ok(out.stdout_text().trim() == "yes")
            }
            HostStep::InstallNode => Ok(self
                .node_version()
                .await?
                .is_some_and(|v| node_supported(&v))),
            HostStep::InstallOpenclaw => {
                Ok(self.installed_version().await?.as_deref()
                    == Some(plan.openclaw_version.as_str()))
            }
            HostStep::ConfigureGateway => {
                let (home, current) = self.read_config().await?;
                let Some(current) = current else {
                    return Ok(false);
                };
                Ok(self.managed_config(&home, Some(current.clone())).await? == current)
            }
            HostStep::StartGateway => {
                let (running, suspended) = self.service_status().await?;
                if !running || suspended {
                    return Ok(false);
                }
                let tunnel = self.tunnel().await?;
                let probe = gateway::probe(&tunnel.local.to_string()).await;
                Ok(probe.readiness.is_some_and(|r| r.ready))
            }
        }
    }

    async fn apply_step(&self, step: HostStep, plan: &HostPlan) -> Result<String, RemoteError> {
        match step {
            HostStep::AuthorizeKey => self.authorize_key().await,
            HostStep::PrepareHost => {
                let out = self.script_as(PREPARE, &[], NODE_TIME, true).await?;
                if out.ok() {
                    Ok(out.stdout_text().trim().to_string())
                } else {
                    Err(self.failed("prepare-host", &out))
                }
            }
            HostStep::InstallNode => {
                let r = &self.runtime;
                let source = match r.node_source {
                    NodeSource::Nodejs => "nodejs",
                    NodeSource::Npm => "npm",
                };
                self.script_ok(
                    "install-node",
                    NODE,
                    &[source, &r.node_version, &r.npm_registry, &r.npm_version],
                    NODE_TIME,
                )
                .await
            }
            HostStep::InstallOpenclaw => {
                self.script_ok(
                    "install-openclaw",
                    OPENCLAW,
                    &[&plan.openclaw_version],
                    OPENCLAW_TIME,
                )
                .await
            }
            HostStep::ConfigureGateway => {
                let (home, current) = self.read_config().await?;
                let config = self.managed_config(&home, current.clone()).await?;
                self.write_config(&config, current.as_ref()).await?;
                Ok(format!(
                    "gateway on 127.0.0.1:{} (loopback only), token auth, log {home}/{LOG_FILE}{}",
                    self.runtime.gateway_port,
                    if self.bot_token().await?.is_some() {
                        ", Telegram with dmPolicy pairing"
                    } else {
                        "; no Telegram bot token yet (/config NAME set channels.telegram.botToken …)"
                    }
                ))
            }
            HostStep::StartGateway => {
                let (running, _) = self.service_status().await?;
                self.start_and_wait(if running { "restart" } else { "start" })
                    .await
            }
        }
    }

    async fn restart_gateway(&self) -> Result<String, RemoteError> {
        self.start_and_wait("restart").await
    }

    async fn probe(&self) -> Result<Reading, RemoteError> {
        let facts = self.script(PROBE, &[], SHORT).await?;
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
        Ok(Reading {
            gateway_up: probe.live,
            gateway_ready: ready,
            docker_up: !text.contains("docker=down"),
            cpu_percent: (field("load").unwrap_or(0.0) / cores * 100.0) as f32,
            memory_percent: memory as f32,
            disk_percent: field("disk").unwrap_or(0.0) as f32,
            openclaw_version: self.installed_version().await?,
            uptime_secs: probe
                .readiness
                .and_then(|r| r.uptime_ms)
                .map(|ms| ms / 1000),
        })
    }

    async fn logs(&self, lines: u32) -> Result<Vec<LogLine>, RemoteError> {
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

    async fn versions(&self) -> Result<Versions, RemoteError> {
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

    async fn update(&self, version: &str) -> Result<String, RemoteError> {
        let previous = self.installed_version().await?;
        self.script_ok("update", OPENCLAW, &[version], OPENCLAW_TIME)
            .await?;
        match self.start_and_wait("restart").await {
            Ok(ready) => Ok(format!(
                "{} → {version}; {ready}",
                previous.as_deref().unwrap_or("none")
            )),
            Err(failure) => {
                let Some(old) = previous.filter(|p| p != version) else {
                    return Err(failure);
                };
                self.script_ok(
                    "rollback",
                    "ln -sfn \"openclaw-$1\" \"$D/openclaw\"",
                    &[&old],
                    SHORT,
                )
                .await?;
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

    async fn config(&self) -> Result<Value, RemoteError> {
        Ok(self.read_config().await?.1.unwrap_or_else(|| json!({})))
    }

    async fn set_config(&self, key: &str, value: Value) -> Result<String, RemoteError> {
        if crate::secrets::holds_marker(&value) {
            return Err(RemoteError::Refused(format!(
                "the value for {key} holds {} or {}, which stand for a hidden secret: give the real value",
                crate::secrets::REDACTED,
                crate::secrets::MASK
            )));
        }
        if let Some(managed) = managed_key(key) {
            return Err(RemoteError::Refused(format!(
                "{key} is managed by clawops ({managed}: gateway port, bind, token and log file); change [deploy] instead"
            )));
        }
        let (home, current) = self.read_config().await?;
        let mut config = current.clone().unwrap_or_else(|| json!({}));
        set_dotted(&mut config, key, value).map_err(RemoteError::Refused)?;
        // A bot token given at its key or inside a parent (channels.telegram {...}) is the
        // new one; otherwise the kept one stays in place.
        let given = if overlaps(key, BOT_TOKEN_KEY) {
            match get_dotted(&config, BOT_TOKEN_KEY) {
                Some(Value::String(t)) => Some(t.clone()),
                Some(_) => {
                    return Err(RemoteError::Refused(
                        "a bot token is text, like 123456:ABC…".into(),
                    ));
                }
                None => None,
            }
        } else {
            None
        };
        if let Some(token) = &given {
            crate::secrets::register(token);
        }
        let bot = match &given {
            Some(t) => Some(t.clone()),
            None => self.bot_token().await?,
        };
        let config = self.managed_config_with(&home, Some(config), bot).await?;
        self.write_config(&config, current.as_ref()).await?;
        // Kept (sealed) only once OpenClaw accepted the config that carries it.
        if let Some(token) = given {
            let purpose = format!("telegram-token:{}", self.instance);
            let sealed = self.access.vault.seal_text(&purpose, &token);
            self.access
                .store
                .set_instance_secret(
                    &self.instance,
                    "telegram-token",
                    &sealed,
                    self.access.clock.now(),
                )
                .await
                .map_err(state)?;
        }
        // Not every key is hot-reloaded (a new channel needs a start): restart to apply.
        match self.service_status().await? {
            (true, false) => Ok(format!(
                "applied by a gateway restart: {}",
                self.start_and_wait("restart").await?
            )),
            _ => Ok("the gateway is stopped; it applies on its next start".into()),
        }
    }

    async fn suspend(&self) -> Result<String, RemoteError> {
        self.service("stop").await
    }

    async fn resume(&self) -> Result<String, RemoteError> {
        self.start_and_wait("start").await
    }

    async fn backup(&self, sink: &mut (dyn std::io::Write + Send)) -> Result<u64, RemoteError> {
        let body = "cd \"$HOME\" && tar czf - --exclude=.openclaw/logs --exclude=.openclaw/cache --exclude=.openclaw/tmp .openclaw";
        let command = self.command_for(&[], !self.as_root())?;
        let script = format!("{PRELUDE}\n{body}");
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
        let staged = ".clawops/restore.tar.gz";
        self.upload(staged, archive).await?;
        self.script_ok(
            "restore",
            "cd \"$HOME\" && rm -rf .openclaw.before-restore && { [ ! -e .openclaw ] || mv .openclaw .openclaw.before-restore; } && tar xzf \"$D/restore.tar.gz\" && rm -f \"$D/restore.tar.gz\"",
            &[],
            SHORT,
        )
        .await?;
        // The restored config carries the old instance's port and token: put this one's back.
        let (home, current) = self.read_config().await?;
        let config = self.managed_config(&home, current.clone()).await?;
        self.write_config(&config, current.as_ref()).await?;
        let ready = self.start_and_wait("start").await?;
        Ok(format!(
            "restored (the previous state is kept in ~/.openclaw.before-restore); {ready}"
        ))
    }

    async fn remove(&self) -> Result<String, RemoteError> {
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
