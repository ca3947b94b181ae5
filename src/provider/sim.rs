//! The simulated cloud: regions, sizes and prices shaped like Hetzner's, servers that take
//! a while to boot, hosts whose deploy steps are simulated, and failures injected on
//! request. It keeps its state in the store, so it survives a restart like a real cloud.
//! It never touches a network; its addresses come from a documentation range.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{
    Cloud, NewServer, PowerState, ProviderError, Region, Server, Size, Snapshot, labels_for,
};
use crate::clock::Clock;
use crate::config::SimConfig;
use crate::remote::{EndUsers, Host, HostPlan, HostStep, Reading, RemoteError, Versions};
use crate::store::{SimServerRow, Store};

/// Hetzner's locations (the sim is shaped like Hetzner, and Hetzner uses the same table).
pub(super) const REGIONS: &[Region] = &[
    Region {
        code: "nbg1",
        city: "Nuremberg",
        country: "DE",
    },
    Region {
        code: "fsn1",
        city: "Falkenstein",
        country: "DE",
    },
    Region {
        code: "hel1",
        city: "Helsinki",
        country: "FI",
    },
    Region {
        code: "ash",
        city: "Ashburn, VA",
        country: "US",
    },
    Region {
        code: "hil",
        city: "Hillsboro, OR",
        country: "US",
    },
    Region {
        code: "sin",
        city: "Singapore",
        country: "SG",
    },
];

/// Hetzner's shared-vCPU sizes with their monthly EUR prices.
pub(super) const SIZES: &[Size] = &[
    Size {
        code: "cx22",
        vcpus: 2,
        memory_gb: 4,
        disk_gb: 40,
        monthly_cents: 379,
    },
    Size {
        code: "cx32",
        vcpus: 4,
        memory_gb: 8,
        disk_gb: 80,
        monthly_cents: 680,
    },
    Size {
        code: "cx42",
        vcpus: 8,
        memory_gb: 16,
        disk_gb: 160,
        monthly_cents: 1640,
    },
    Size {
        code: "cx52",
        vcpus: 16,
        memory_gb: 32,
        disk_gb: 320,
        monthly_cents: 3240,
    },
];

/// The simulated cloud.
pub struct SimCloud {
    store: Store,
    clock: Clock,
    config: SimConfig,
}

impl SimCloud {
    /// A simulated cloud keeping its state in `store`.
    pub fn new(store: Store, clock: Clock, config: SimConfig) -> SimCloud {
        SimCloud {
            store,
            clock,
            config,
        }
    }

    fn api(&self, e: impl std::fmt::Display) -> ProviderError {
        ProviderError::Api {
            provider: self.display_name().to_string(),
            message: e.to_string(),
        }
    }

    fn to_server(&self, row: &SimServerRow) -> Result<Server, ProviderError> {
        let labels: BTreeMap<String, String> =
            serde_json::from_str(&row.labels).map_err(|e| self.api(e))?;
        let boots_at =
            crate::store::parse_ts("sim boot time", &row.boots_at).map_err(|e| self.api(e))?;
        let state = if self.clock.now() >= boots_at {
            PowerState::Running
        } else {
            PowerState::Starting
        };
        Ok(Server {
            id: row.id.to_string(),
            name: row.name.clone(),
            region: row.region.clone(),
            size: row.size.clone(),
            state,
            ipv4: Some(row.ipv4.clone()),
            labels,
        })
    }

    fn parse_id(&self, id: &str) -> Result<i64, ProviderError> {
        id.parse().map_err(|_| ProviderError::NoServer {
            provider: self.display_name().to_string(),
            id: id.to_string(),
        })
    }
}

#[async_trait]
impl Cloud for SimCloud {
    fn name(&self) -> &str {
        "sim"
    }
    fn display_name(&self) -> &str {
        "hetzner-sim"
    }
    fn currency(&self) -> &str {
        "€"
    }
    fn regions(&self) -> &[Region] {
        REGIONS
    }
    fn sizes(&self) -> &[Size] {
        SIZES
    }

    async fn create_server(&self, new: &NewServer) -> Result<Server, ProviderError> {
        self.region(&new.region)?;
        self.size(&new.size)?;
        let now = self.clock.now();
        let boots_at = now + chrono::Duration::from_std(self.config.boot_time).unwrap_or_default();
        let labels = serde_json::to_string(&new.labels).map_err(|e| self.api(e))?;
        let row = self
            .store
            .sim_create_server(&new.name, &labels, &new.region, &new.size, now, boots_at)
            .await
            .map_err(|e| self.api(e))?;
        self.to_server(&row)
    }

    async fn find_servers(&self, instance: &str) -> Result<Vec<Server>, ProviderError> {
        let wanted = labels_for(instance);
        let mut found = Vec::new();
        for row in self
            .store
            .sim_servers_of(instance)
            .await
            .map_err(|e| self.api(e))?
        {
            let server = self.to_server(&row)?;
            if wanted.iter().all(|(k, v)| server.labels.get(k) == Some(v)) {
                found.push(server);
            }
        }
        Ok(found)
    }

    async fn managed_servers(&self) -> Result<Vec<Server>, ProviderError> {
        let (key, value) = super::MANAGED_BY;
        let mut found = Vec::new();
        for row in self.store.sim_servers().await.map_err(|e| self.api(e))? {
            let server = self.to_server(&row)?;
            if server.labels.get(key).map(String::as_str) == Some(value) {
                found.push(server);
            }
        }
        Ok(found)
    }

    /// The server is down for the boot time; its gateway service starts with it.
    async fn reboot(&self, id: &str) -> Result<(), ProviderError> {
        let sid = self.parse_id(id)?;
        let boots_at = self.clock.now()
            + chrono::Duration::from_std(self.config.boot_time).unwrap_or_default();
        if !self
            .store
            .sim_reboot(sid, boots_at)
            .await
            .map_err(|e| self.api(e))?
        {
            return Err(ProviderError::NoServer {
                provider: self.display_name().to_string(),
                id: id.to_string(),
            });
        }
        let host = SimHost {
            store: self.store.clone(),
            clock: self.clock.clone(),
            config: self.config.clone(),
            server_id: sid,
        };
        let (_, mut state) = host.state().await.map_err(|e| self.api(e))?;
        if state.openclaw_version.is_some() && !state.suspended {
            state.needs_reboot = false;
            state.hung = false;
            state.start(boots_at, "gateway started with the server (reboot)");
            host.save(&state).await.map_err(|e| self.api(e))?;
        }
        Ok(())
    }

    /// Resized like Hetzner's (the disk grows with the size); simulated as a size change
    /// and a boot.
    fn resize_rule(&self) -> Option<super::ResizeRule> {
        Some(super::ResizeRule {
            disk_grows: true,
            shrinks: true,
            downtime: "about 1-3 minutes",
        })
    }

    async fn resize(&self, id: &str, size: &str) -> Result<(), ProviderError> {
        let sid = self.parse_id(id)?;
        self.size(size)?;
        if !self
            .store
            .sim_set_size(sid, size)
            .await
            .map_err(|e| self.api(e))?
        {
            return Err(ProviderError::NoServer {
                provider: self.display_name().to_string(),
                id: id.to_string(),
            });
        }
        self.reboot(id).await
    }

    /// A simulated snapshot, stored at once; priced like Hetzner's.
    async fn snapshot(&self, id: &str, description: &str) -> Result<Snapshot, ProviderError> {
        let found = self.existing_server(id).await?;
        let snap = self
            .store
            .sim_add_snapshot(self.parse_id(id)?, description, self.clock.now())
            .await
            .map_err(|e| self.api(e))?;
        Ok(Snapshot {
            id: format!("sim-snapshot-{snap}"),
            monthly_cents: self.snapshot_monthly_cents(&found.size).unwrap_or(0),
        })
    }

    fn snapshot_millicents_per_gb(&self) -> Option<i64> {
        Some(1190)
    }

    async fn server(&self, id: &str) -> Result<Option<Server>, ProviderError> {
        let id = self.parse_id(id)?;
        match self.store.sim_server(id).await.map_err(|e| self.api(e))? {
            Some(row) => Ok(Some(self.to_server(&row)?)),
            None => Ok(None),
        }
    }

    async fn delete_server(&self, id: &str) -> Result<(), ProviderError> {
        let sid = self.parse_id(id)?;
        if self
            .store
            .sim_delete_server(sid)
            .await
            .map_err(|e| self.api(e))?
        {
            Ok(())
        } else {
            Err(ProviderError::NoServer {
                provider: self.display_name().to_string(),
                id: id.to_string(),
            })
        }
    }

    fn simulated(&self) -> bool {
        true
    }

    fn host(&self, _instance: &str, server_id: &str, _address: Option<&str>) -> Arc<dyn Host> {
        Arc::new(SimHost {
            store: self.store.clone(),
            clock: self.clock.clone(),
            config: self.config.clone(),
            server_id: server_id.parse().unwrap_or(-1),
        })
    }
}

/// What a simulated host has installed, kept as JSON in the sim's server row.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SimHostState {
    /// Host steps done.
    #[serde(default)]
    pub done: Vec<String>,
    /// Steps that already failed once (an injected failure fails only once).
    #[serde(default)]
    pub failed_once: Vec<String>,
    #[serde(default)]
    pub openclaw_version: Option<String>,
    #[serde(default)]
    pub gateway_started_at: Option<DateTime<Utc>>,
    /// For demos and tests: the host is under pressure (CPU, memory and disk high).
    #[serde(default)]
    pub pressure: bool,
    /// For demos and tests: the gateway process has died.
    #[serde(default)]
    pub gateway_down: bool,
    /// For demos and tests: the host does not answer at all (network, kernel panic).
    #[serde(default)]
    pub unreachable: bool,
    /// For demos and tests: the disk is full.
    #[serde(default)]
    pub disk_full: bool,
    /// For demos and tests: the gateway runs but its Telegram channel stopped polling.
    #[serde(default)]
    pub channel_stopped: bool,
    /// For demos and tests: when its channel last received a message.
    #[serde(default)]
    pub last_inbound: Option<DateTime<Utc>>,
    /// For demos and tests: the host is nearly idle (CPU and memory far below its size).
    #[serde(default)]
    pub light: bool,
    /// For demos and tests: the channel's session was logged out (a person must scan
    /// its QR code again).
    #[serde(default)]
    pub channel_logged_out: bool,
    /// For demos and tests: the gateway hangs; a polite restart does not mend it, its
    /// service killed and started does.
    #[serde(default)]
    pub hung: bool,
    /// For demos and tests: only a reboot of the server mends the gateway.
    #[serde(default)]
    pub needs_reboot: bool,
    /// For demos and tests: the gateway crashes as soon as it starts (on this version);
    /// an update to another version ends it.
    #[serde(default)]
    pub crash_loop: bool,
    /// For demos and tests: versions the gateway crashes on (an update to one leaves it in
    /// a crash loop; an update to another ends it).
    #[serde(default)]
    pub bad_versions: Vec<String>,
    /// For demos and tests: config values the gateway crashes on, as `key=JSON`
    /// (`agents.defaults.model.primary="nope"`); it crashes while the config holds one.
    #[serde(default)]
    pub bad_config: Vec<String>,
    /// The service's own restarts of the gateway so far.
    #[serde(default)]
    pub restarts: u64,
    /// For demos and tests: pending pairing requests, as the gateway's RPC lists them.
    #[serde(default)]
    pub pairing: Vec<serde_json::Value>,
    /// Senders approved through pairing.
    #[serde(default)]
    pub approved: Vec<String>,
    /// What the bot told end users (approval notices).
    #[serde(default)]
    pub told: Vec<String>,
    /// Stopped by /suspend until /resume.
    #[serde(default)]
    pub suspended: bool,
    /// The gateway's config file.
    #[serde(default)]
    pub config: serde_json::Value,
    /// The gateway's log, oldest first (the newest 200 lines).
    #[serde(default)]
    pub log: Vec<String>,
}

impl SimHostState {
    /// The `bad_config` entry the config holds now, if any.
    fn breaking_config(&self) -> Option<&str> {
        self.bad_config.iter().map(String::as_str).find(|entry| {
            entry.split_once('=').is_some_and(|(key, raw)| {
                let bad: serde_json::Value = serde_json::from_str(raw)
                    .unwrap_or_else(|_| serde_json::Value::String(raw.to_string()));
                crate::remote::openclaw::get_dotted(&self.config, key) == Some(&bad)
            })
        })
    }

    fn note(&mut self, now: DateTime<Utc>, message: &str) {
        self.log.push(
            serde_json::json!({
                "time": now.to_rfc3339(),
                "_meta": {"logLevelName": "INFO"},
                "message": message,
            })
            .to_string(),
        );
        let excess = self.log.len().saturating_sub(200);
        self.log.drain(..excess);
    }

    fn start(&mut self, now: DateTime<Utc>, what: &str) {
        self.gateway_started_at = Some(now);
        self.gateway_down = false;
        self.suspended = false;
        self.note(now, what);
    }
}

/// A simulated host.
pub struct SimHost {
    store: Store,
    clock: Clock,
    config: SimConfig,
    server_id: i64,
}

impl SimHost {
    async fn row(&self) -> Result<SimServerRow, RemoteError> {
        self.store
            .sim_server(self.server_id)
            .await
            .map_err(|e| RemoteError::State(e.to_string()))?
            .ok_or_else(|| RemoteError::Unreachable(format!("server {} is gone", self.server_id)))
    }

    async fn state(&self) -> Result<(SimServerRow, SimHostState), RemoteError> {
        let row = self.row().await?;
        let state =
            serde_json::from_str(&row.host).map_err(|e| RemoteError::State(e.to_string()))?;
        Ok((row, state))
    }

    async fn save(&self, state: &SimHostState) -> Result<(), RemoteError> {
        let json = serde_json::to_string(state).map_err(|e| RemoteError::State(e.to_string()))?;
        self.store
            .sim_set_host(self.server_id, &json)
            .await
            .map_err(|e| RemoteError::State(e.to_string()))
    }

    async fn booted(&self, row: &SimServerRow) -> Result<bool, RemoteError> {
        let boots_at = crate::store::parse_ts("sim boot time", &row.boots_at)
            .map_err(|e| RemoteError::State(e.to_string()))?;
        Ok(self.clock.now() >= boots_at)
    }

    /// The state of a booted host that has OpenClaw installed.
    async fn ready_state(&self) -> Result<(SimServerRow, SimHostState), RemoteError> {
        let (row, state) = self.state().await?;
        if !self.booted(&row).await? {
            return Err(RemoteError::Unreachable("the server is booting".into()));
        }
        if state.unreachable {
            return Err(RemoteError::Unreachable(
                "no answer (simulated: unreachable)".into(),
            ));
        }
        if state.openclaw_version.is_none() {
            return Err(RemoteError::Refused(
                "OpenClaw is not installed on this host: finish its deploy first".into(),
            ));
        }
        Ok((row, state))
    }

    async fn work(&self) {
        tokio::time::sleep(self.config.step_time).await;
    }
}

#[async_trait]
impl Host for SimHost {
    async fn reachable(&self) -> Result<bool, RemoteError> {
        let row = self.row().await?;
        self.booted(&row).await
    }

    async fn step_done(&self, step: HostStep, plan: &HostPlan) -> Result<bool, RemoteError> {
        let (_, state) = self.state().await?;
        let done = state.done.iter().any(|s| s == step.id());
        Ok(match step {
            HostStep::InstallOpenclaw => {
                done && state.openclaw_version.as_deref() == Some(&plan.openclaw_version)
            }
            HostStep::StartGateway => done && !state.gateway_down,
            _ => done,
        })
    }

    async fn apply_step(&self, step: HostStep, plan: &HostPlan) -> Result<String, RemoteError> {
        self.work().await;
        let (row, mut state) = self.state().await?;
        if !self.booted(&row).await? {
            return Err(RemoteError::Unreachable(
                "the server is still booting".into(),
            ));
        }
        if state.unreachable {
            return Err(RemoteError::Unreachable(
                "no answer (simulated: unreachable)".into(),
            ));
        }
        if self.config.fail_once_at.as_deref() == Some(step.id())
            && !state.failed_once.iter().any(|s| s == step.id())
        {
            state.failed_once.push(step.id().to_string());
            self.save(&state).await?;
            return Err(RemoteError::StepFailed {
                step: step.id(),
                message: "injected failure ([providers.sim] fail_once_at): run the deploy again with --resume".into(),
            });
        }
        let output = match step {
            HostStep::AuthorizeKey => "the sim has no SSH keys to authorize".to_string(),
            HostStep::PrepareHost => "user openclaw, ufw allow 22/tcp only, fail2ban, unattended-upgrades, docker: done (simulated)".to_string(),
            HostStep::InstallNode => "node v24.16.0 (simulated)".to_string(),
            HostStep::InstallOpenclaw => {
                state.openclaw_version = Some(plan.openclaw_version.clone());
                format!("openclaw@{} (simulated)", plan.openclaw_version)
            }
            HostStep::ConfigureGateway => {
                state.config = serde_json::json!({
                    "gateway": {"mode": "local", "port": 18789, "bind": "loopback",
                                "auth": {"mode": "token", "token": "sim-gateway-token"}},
                });
                "gateway bind loopback:18789, token set, telegram dmPolicy pairing (simulated)".to_string()
            }
            HostStep::StartGateway => {
                state.start(self.clock.now(), "gateway started (simulated)");
                "openclaw-gateway.service active (simulated)".to_string()
            }
        };
        if !state.done.iter().any(|s| s == step.id()) {
            state.done.push(step.id().to_string());
        }
        self.save(&state).await?;
        Ok(output)
    }

    async fn restart_gateway(&self) -> Result<String, RemoteError> {
        self.work().await;
        let (row, mut state) = self.state().await?;
        if !self.booted(&row).await? {
            return Err(RemoteError::Unreachable(
                "the server is still booting".into(),
            ));
        }
        if !state
            .done
            .iter()
            .any(|s| s == HostStep::InstallOpenclaw.id())
        {
            return Err(RemoteError::StepFailed {
                step: "restart",
                message: "OpenClaw is not installed on this host: finish its deploy first".into(),
            });
        }
        state.start(self.clock.now(), "gateway restarted (simulated)");
        self.save(&state).await?;
        Ok("openclaw-gateway.service restarted (simulated)".into())
    }

    async fn restart_service(&self) -> Result<String, RemoteError> {
        let said = self.restart_gateway().await?;
        let (_, mut state) = self.state().await?;
        state.hung = false;
        self.save(&state).await?;
        Ok(format!(
            "{said}; the service was killed and started (simulated)"
        ))
    }

    async fn probe(&self) -> Result<Reading, RemoteError> {
        let (row, state) = self.state().await?;
        if !self.booted(&row).await? {
            return Err(RemoteError::Unreachable("the server is booting".into()));
        }
        if state.unreachable {
            return Err(RemoteError::Unreachable(
                "no answer (simulated: unreachable)".into(),
            ));
        }
        let up = state.gateway_started_at.is_some()
            && !state.gateway_down
            && !state.suspended
            && !state.hung
            && !state.needs_reboot
            && !state.crash_loop;
        let (cpu, mem, mut disk) = if state.pressure {
            (95.0, 91.0, 88.0)
        } else if state.light {
            (2.0, 9.0, 11.0)
        } else {
            (7.0, 38.0, 21.0)
        };
        if state.disk_full {
            disk = 99.0;
        }
        Ok(Reading {
            gateway_up: up,
            gateway_ready: up && !state.pressure,
            docker_up: state.done.iter().any(|s| s == HostStep::PrepareHost.id()),
            cpu_percent: cpu,
            memory_percent: mem,
            disk_percent: disk,
            openclaw_version: state.openclaw_version.clone(),
            last_inbound: state.last_inbound,
            channels_stopped: if state.channel_logged_out && up {
                vec![format!(
                    "whatsapp:default (needs a person: {})",
                    crate::gateway::needs_a_person("logged out").unwrap_or_default()
                )]
            } else if state.channel_stopped && up {
                vec!["telegram:default".into()]
            } else {
                Vec::new()
            },
            uptime_secs: state
                .gateway_started_at
                .filter(|_| up)
                .map(|t| (self.clock.now() - t).num_seconds().max(0) as u64),
            config_rev: up.then(|| sim_rev(&state.config)),
            service_restarts: Some(state.restarts),
            service_active: Some(
                state.gateway_started_at.is_some()
                    && !state.gateway_down
                    && !state.suspended
                    && !state.crash_loop
                    && !state.needs_reboot,
            ),
            // A reboot gives the server a new boot time, as a real host a new boot id.
            boot_id: Some(row.boots_at.chars().filter(char::is_ascii_digit).collect()),
            users: Some(EndUsers::Counted {
                count: state.approved.len() as u32,
                owner: state.approved.first().map(|s| format!("telegram:{s}")),
            }),
            ..Reading::default()
        })
    }

    async fn logs(&self, lines: u32) -> Result<Vec<crate::gateway::LogLine>, RemoteError> {
        let (_, state) = self.ready_state().await?;
        let tail = crate::gateway::LogTail {
            file: None,
            lines: state.log[state.log.len().saturating_sub(lines as usize)..].to_vec(),
        };
        Ok(tail.parsed())
    }

    async fn versions(&self) -> Result<Versions, RemoteError> {
        let (_, state) = self.ready_state().await?;
        let up = state.gateway_started_at.is_some() && !state.gateway_down && !state.suspended;
        Ok(Versions {
            installed: state.openclaw_version.clone(),
            running: state.openclaw_version.clone().filter(|_| up),
            node: Some("v24.16.0".into()),
        })
    }

    async fn update(&self, version: &str) -> Result<String, RemoteError> {
        self.work().await;
        let (_, mut state) = self.ready_state().await?;
        let before = state.openclaw_version.replace(version.to_string());
        state.crash_loop = state.bad_versions.iter().any(|v| v == version);
        state.start(
            self.clock.now(),
            &format!("gateway restarted on {version} (simulated)"),
        );
        self.save(&state).await?;
        Ok(format!(
            "{} → {version}, gateway ready (simulated)",
            before.as_deref().unwrap_or("none")
        ))
    }

    async fn config(&self) -> Result<serde_json::Value, RemoteError> {
        Ok(self.ready_state().await?.1.config)
    }

    async fn set_config(&self, key: &str, value: serde_json::Value) -> Result<String, RemoteError> {
        let (_, mut state) = self.ready_state().await?;
        crate::remote::openclaw::set_dotted(&mut state.config, key, value)
            .map_err(RemoteError::Refused)?;
        if !state.bad_config.is_empty() {
            state.crash_loop = state.breaking_config().is_some();
        }
        state.note(self.clock.now(), &format!("config change: {key}"));
        self.save(&state).await?;
        Ok(format!("{key} set (simulated; the gateway reloads it)"))
    }

    async fn unset_config(&self, key: &str) -> Result<String, RemoteError> {
        let (_, mut state) = self.ready_state().await?;
        let removed = crate::remote::openclaw::remove_dotted(&mut state.config, key);
        if removed && !state.bad_config.is_empty() {
            state.crash_loop = state.breaking_config().is_some();
        }
        state.note(self.clock.now(), &format!("config change: {key} removed"));
        self.save(&state).await?;
        Ok(format!("{key} removed (simulated)"))
    }

    async fn pairing_requests(
        &self,
        _channel: &str,
    ) -> Result<Vec<crate::store::SeenRequest>, RemoteError> {
        let (_, state) = self.ready_state().await?;
        let now = self.clock.now();
        Ok(state
            .pairing
            .iter()
            .filter_map(|v| {
                serde_json::from_value::<crate::gateway::PairingRequest>(v.clone()).ok()
            })
            .filter_map(|r| r.seen())
            // The gateway prunes what expired before it answers.
            .filter(|r| {
                r.expires_at
                    .as_deref()
                    .and_then(|t| crate::store::parse_ts("expiry", t).ok())
                    .is_none_or(|t| t > now)
            })
            .collect())
    }

    async fn send_message(&self, to: &str, text: &str) -> Result<String, RemoteError> {
        let (_, mut state) = self.ready_state().await?;
        if state.gateway_down || state.suspended || state.hung {
            return Err(RemoteError::Refused(
                "the gateway does not answer (simulated)".into(),
            ));
        }
        let id = to.split_once(':').map_or(to, |(_, id)| id);
        state.told.push(format!("{id}: {text}"));
        self.save(&state).await?;
        Ok("delivered (simulated)".into())
    }

    async fn decide_pairing(
        &self,
        _channel: &str,
        _account: &str,
        request: &str,
        approve: bool,
    ) -> Result<String, RemoteError> {
        let (_, mut state) = self.ready_state().await?;
        let Some(i) = state
            .pairing
            .iter()
            .position(|v| v["requestId"].as_str() == Some(request))
        else {
            return Err(RemoteError::Refused(
                "pending DM access request no longer exists".into(),
            ));
        };
        let taken = state.pairing.remove(i);
        let sender = taken["senderId"].as_str().unwrap_or_default().to_string();
        if approve {
            state.approved.push(sender.clone());
            state.told.push(format!(
                "{sender}: ✅ OpenClaw access approved. Send a message to start chatting."
            ));
        }
        self.save(&state).await?;
        Ok(if approve {
            "the bot told them (simulated)".into()
        } else {
            "dismissed (simulated)".into()
        })
    }

    /// Simulated: the doctor fixes a channel that stopped polling; a logged-out session
    /// still needs a person.
    async fn doctor_fix(&self) -> Result<String, RemoteError> {
        let (_, mut state) = self.ready_state().await?;
        let fixed = std::mem::take(&mut state.channel_stopped);
        state.note(self.clock.now(), "openclaw doctor --fix");
        self.save(&state).await?;
        Ok(if fixed {
            "doctor: restarted the stalled channel poller (simulated)".into()
        } else {
            "doctor: nothing to fix (simulated)".into()
        })
    }

    async fn normalise_config(&self) -> Result<Vec<String>, RemoteError> {
        let (_, mut state) = self.ready_state().await?;
        let before = state.config.clone();
        if before.pointer("/channels/telegram/botToken").is_some() {
            let telegram = &mut state.config["channels"]["telegram"];
            telegram["enabled"] = serde_json::json!(true);
            if telegram.get("dmPolicy").is_none() {
                telegram["dmPolicy"] = serde_json::json!("pairing");
            }
        }
        let changed = crate::remote::openclaw::changed_keys(&before, &state.config);
        if !changed.is_empty() {
            state.note(self.clock.now(), "config normalised");
            self.save(&state).await?;
        }
        Ok(changed)
    }

    async fn drop_channel(&self) -> Result<String, RemoteError> {
        let (_, mut state) = self.ready_state().await?;
        crate::remote::openclaw::strip_channel(&mut state.config);
        state.note(self.clock.now(), "channel taken off");
        self.save(&state).await?;
        Ok("channel taken off (simulated)".into())
    }

    async fn suspend(&self) -> Result<String, RemoteError> {
        self.work().await;
        let (_, mut state) = self.ready_state().await?;
        state.suspended = true;
        state.note(self.clock.now(), "gateway stopped by clawops (suspend)");
        self.save(&state).await?;
        Ok("gateway stopped; data kept (simulated)".into())
    }

    async fn resume(&self) -> Result<String, RemoteError> {
        self.work().await;
        let (_, mut state) = self.ready_state().await?;
        state.start(self.clock.now(), "gateway started by clawops (resume)");
        self.save(&state).await?;
        Ok("gateway started and ready (simulated)".into())
    }

    async fn backup(&self, sink: &mut (dyn std::io::Write + Send)) -> Result<u64, RemoteError> {
        self.work().await;
        let (_, state) = self.ready_state().await?;
        let bytes =
            serde_json::to_vec(&state.config).map_err(|e| RemoteError::State(e.to_string()))?;
        sink.write_all(&bytes)
            .map_err(|e| RemoteError::State(format!("cannot keep the backup: {e}")))?;
        Ok(bytes.len() as u64)
    }

    async fn restore(&self, archive: &[u8]) -> Result<String, RemoteError> {
        let (_, mut state) = self.ready_state().await?;
        let mut config: serde_json::Value = serde_json::from_slice(archive).map_err(|_| {
            RemoteError::Refused("this backup was not made on the simulated cloud".into())
        })?;
        // As on a real host: this instance's own gateway settings and bot token (or none),
        // never the source's.
        let own = state.config.pointer("/channels/telegram/botToken").cloned();
        if let Some(gateway) = state.config.get("gateway").cloned() {
            config["gateway"] = gateway;
        }
        match own {
            Some(token) => config["channels"]["telegram"]["botToken"] = token,
            None => crate::remote::openclaw::strip_channel(&mut config),
        }
        state.config = config;
        state.start(
            self.clock.now(),
            "gateway started on restored data (simulated)",
        );
        self.save(&state).await?;
        Ok("state restored, gateway started (simulated)".into())
    }

    async fn remove(&self) -> Result<String, RemoteError> {
        let (_, mut state) = self.ready_state().await?;
        state = SimHostState {
            failed_once: state.failed_once,
            ..Default::default()
        };
        self.save(&state).await?;
        Ok("gateway service and data removed (simulated)".into())
    }
}

/// The sim's config revision: a short hash of the config, as the gateway's own is opaque.
fn sim_rev(config: &serde_json::Value) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(config.to_string().as_bytes()))[..12].to_string()
}
