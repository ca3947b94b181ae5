//! `/deploy NAME [REGION] [--size SIZE] [--provider P] [--resume]`: create an instance and
//! run its deploy steps, or resume a deploy that failed or was interrupted.

use serde::{Deserialize, Serialize};

use super::existing;
use crate::chat::{Message, Replier};
use crate::config::Role;
use crate::deploy::{Params, steps_for};
use crate::ops::catalogue::{ArgError, Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::provider::cell::Limits;
use crate::provider::money;
use crate::remote::RemoteError;
use crate::remote::ssh::{CONNECT_TIMEOUT, Session, SshError, Target, fingerprint};
use crate::store::{DeployState, InstanceStatus, NewInstance};
use russh::keys::PublicKey;

/// Deploy a new instance, or resume a stopped deploy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Deploy {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default)]
    pub resume: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openclaw: Option<String>,
    /// Deploy it as the standby of this primary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub standby_for: Option<String>,
    /// The bot's command owner: a Telegram user id (or `telegram:ID`); otherwise the first
    /// end user approved through pairing becomes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The customer's Telegram bot token (`--telegram-token`): checked with the Bot API's
    /// `getMe` before anything is bought, kept sealed, the channel set to pairing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telegram_token: Option<String>,
    /// In a cell on a cell host (`--cell`), rather than on a server of its own.
    #[serde(default)]
    pub cell: bool,
    /// The cell host (default: the least-loaded one with room).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cell_host: Option<String>,
    /// The cell's CPUs (default `[cells] cpus`), e.g. 0.5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<String>,
    /// The cell's memory in MB (default `[cells] memory_mb`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u64>,
    /// The cell's processes (default `[cells] pids`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<u64>,
    /// On a host you have: the host key it offered when the question was asked (OpenSSH
    /// text), pinned when the deploy is confirmed. Set by the door, never by arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_key: Option<String>,
}

impl Command for Deploy {
    const SPEC: Spec = Spec {
        name: "deploy",
        summary: "Deploy a new OpenClaw instance (or --resume a stopped deploy)",
        params: &[
            Param {
                name: "name",
                meta: "NAME",
                kind: Kind::Name,
                flag: false,
                required: true,
                help: "the instance's name: lowercase letters, digits, dashes",
            },
            Param {
                name: "region",
                meta: "REGION",
                kind: Kind::Place,
                flag: false,
                required: false,
                help: "where to put it, e.g. nbg1, or a host you have: ssh://root@203.0.113.5 (default from [deploy] region)",
            },
            Param {
                name: "size",
                meta: "SIZE",
                kind: Kind::Word,
                flag: true,
                required: false,
                help: "server size, e.g. cx32 (default from [deploy] size)",
            },
            Param {
                name: "provider",
                meta: "PROVIDER",
                kind: Kind::Word,
                flag: true,
                required: false,
                help: "which cloud (default from [deploy] provider)",
            },
            Param {
                name: "resume",
                meta: "",
                kind: Kind::Switch,
                flag: true,
                required: false,
                help: "continue a deploy that failed or was interrupted, from its stopped step",
            },
            Param {
                name: "openclaw",
                meta: "VERSION",
                kind: Kind::Version,
                flag: true,
                required: false,
                help: "the OpenClaw version (default from [deploy] openclaw_version; a resume may change it)",
            },
            Param {
                name: "standby_for",
                meta: "PRIMARY",
                kind: Kind::Name,
                flag: true,
                required: false,
                help: "deploy it as the standby of this primary (a primary is not destroyed while its standby is unhealthy)",
            },
            Param {
                name: "owner",
                meta: "USER_ID",
                kind: Kind::Text,
                flag: true,
                required: false,
                help: "the bot's owner (Telegram user id)",
            },
            Param {
                name: "telegram_token",
                meta: "TOKEN",
                kind: Kind::Secret,
                flag: true,
                required: false,
                help: "the customer's bot token from @BotFather: checked first, kept sealed, its chat set to pairing",
            },
            Param {
                name: "cell",
                meta: "",
                kind: Kind::Switch,
                flag: true,
                required: false,
                help: "in a cell: its own limited container on a shared cell host (/hosts)",
            },
            Param {
                name: "cell_host",
                meta: "HOST",
                kind: Kind::Name,
                flag: true,
                required: false,
                help: "the cell host (default: the least-loaded one with room)",
            },
            Param {
                name: "cpus",
                meta: "N",
                kind: Kind::Word,
                flag: true,
                required: false,
                help: "the cell's CPUs, e.g. 0.5 (default from [cells])",
            },
            Param {
                name: "memory",
                meta: "MB",
                kind: Kind::Number {
                    min: 256,
                    max: 262_144,
                },
                flag: true,
                required: false,
                help: "the cell's memory in MB (default from [cells])",
            },
            Param {
                name: "pids",
                meta: "N",
                kind: Kind::Number {
                    min: 32,
                    max: 1_000_000,
                },
                flag: true,
                required: false,
                help: "the cell's processes (default from [cells])",
            },
        ],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/deploy alice-bot nbg1 --size cx22",
    };

    fn check(&self) -> Result<(), ArgError> {
        let limits = self.cell_host.is_some()
            || self.cpus.is_some()
            || self.memory.is_some()
            || self.pids.is_some();
        if limits && !self.cell {
            return Err(ArgError::Invalid(
                "--cell-host, --cpus, --memory and --pids go with --cell".into(),
            ));
        }
        if self.cell && (self.size.is_some() || self.region.is_some() || self.provider.is_some()) {
            return Err(ArgError::Invalid(
                "a cell takes no region, size or provider: its host is the place (--cell-host HOST) and its limits the size (--cpus, --memory, --pids)".into(),
            ));
        }
        self.cpus_wanted().map(|_| ())
    }
}

impl Deploy {
    fn cpus_wanted(&self) -> Result<Option<f64>, ArgError> {
        let Some(text) = &self.cpus else {
            return Ok(None);
        };
        match text.parse::<f64>() {
            Ok(n) if (0.1..=256.0).contains(&n) => Ok(Some(n)),
            _ => Err(ArgError::Invalid(format!(
                "--cpus takes a number of CPUs from 0.1 to 256, e.g. 0.5 or 2; not {text:?}"
            ))),
        }
    }

    /// A cell's limits: the flags, then `[cells]`.
    fn limits(&self, ctx: &Ctx) -> Result<Limits, OpsError> {
        let cpus = self
            .cpus_wanted()
            .map_err(|e| OpsError::Refused(e.to_string()))?;
        Ok(ctx.cells()?.limits(
            cpus,
            self.memory.map(|m| m as u32),
            self.pids.map(|p| p as u32),
        ))
    }
    /// One new instance, at its size's monthly price. On a host you have, always a
    /// question: it shows the address and the host key that will be pinned.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let mut radius = self.cost(ctx).await?;
        if let Some(target) = self.host_target(ctx).await? {
            radius.details = self.host_lines(ctx, &target).await?;
            let pinned = ctx.store.host_key(&target.url()).await?.is_some();
            if !self.resume || !pinned {
                radius.press = Some(format!(
                    "clawops will log in to {target}, an address given in chat, with its own credentials"
                ));
            }
        }
        Ok(radius)
    }

    async fn cost(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        if self.resume {
            // Nothing new is bought: the server (if any) exists already.
            let row = existing(&ctx.store, &self.name).await?;
            return Ok(BlastRadius {
                instances: vec![(row.name.clone(), super::place(&row))],
                reversible: true,
                ..BlastRadius::default()
            });
        }
        let params = self.params(ctx)?;
        let cloud = ctx.providers.get(&params.provider)?;
        if self.cell {
            let limits = self.limits(ctx)?;
            let (cents, currency) = ctx.cells()?.price(&params.region, limits.memory_mb);
            return Ok(BlastRadius {
                instances: vec![(self.name.clone(), format!("cell on {}", params.region))],
                monthly_cents: cents,
                currency,
                reversible: true,
                details: vec![format!(
                    "Cell on {}: {limits} (its share of the host's price)",
                    params.region
                )],
                ..BlastRadius::default()
            });
        }
        let size = cloud.size(&params.size)?;
        Ok(BlastRadius {
            instances: vec![(
                self.name.clone(),
                format!("{} {}", cloud.display_name(), params.region),
            )],
            end_users: 0,
            monthly_cents: size.monthly_cents,
            currency: cloud.currency().to_string(),
            reversible: true,
            loss: None,
            billed: !cloud.simulated(),
            ..BlastRadius::default()
        })
    }

    /// Whether this deploy goes onto a host you have (`ssh://…`).
    pub async fn on_host(&self, ctx: &Ctx) -> bool {
        self.host_target(ctx).await.ok().flatten().is_some()
    }

    /// The host a deploy onto a host you have logs in to; None on a cloud.
    async fn host_target(&self, ctx: &Ctx) -> Result<Option<Target>, OpsError> {
        let region = if self.resume {
            let Some(row) = ctx.store.instance(&self.name).await? else {
                return Ok(None);
            };
            row.region
        } else {
            let params = self.params(ctx)?;
            if !ctx.providers.get(&params.provider)?.existing_hosts() {
                return Ok(None);
            }
            params.region
        };
        Ok(Target::parse(&region)
            .ok()
            .filter(|_| region.starts_with("ssh://")))
    }

    /// This deploy with the key its host offers now, when it goes onto a host you have
    /// whose key is not pinned yet. A host already carrying another instance is refused
    /// here, before any question.
    pub async fn observed(&self, ctx: &Ctx) -> Result<Deploy, OpsError> {
        if let Some(owner) = &self.owner {
            owner_id(owner)?;
        }
        // A bot token Telegram refuses, or one another instance carries, is refused
        // before the question (and checked again when the deploy runs).
        if let Some(token) = &self.telegram_token {
            super::onboarding::check(ctx, &self.name, token).await?;
        }
        let mut seen = Deploy {
            host_key: None,
            ..self.clone()
        };
        let Some(target) = self.host_target(ctx).await? else {
            return Ok(seen);
        };
        let offered = Session::host_key_of(&target, CONNECT_TIMEOUT)
            .await
            .map_err(RemoteError::from)?;
        check_pin(ctx, &target, &offered).await?;
        if ctx.store.host_key(&target.url()).await?.is_none() {
            seen.host_key = Some(key_text(&offered)?);
        }
        if let Some(other) = tenant(ctx, &self.name, &target, &offered).await? {
            return Err(carries(&target, &other));
        }
        Ok(seen)
    }

    /// What the question says about the host: its address, its key and how the first
    /// login happens.
    async fn host_lines(&self, ctx: &Ctx, target: &Target) -> Result<Vec<String>, OpsError> {
        let key = match (&self.host_key, ctx.store.host_key(&target.url()).await?) {
            (_, Some(row)) => format!(
                "Host key: {} (pinned since {}; the host offered it again now)",
                row.fingerprint, row.first_seen
            ),
            (Some(text), None) => format!(
                "Host key: {} (first contact: pinned when you confirm; any other key is refused later)",
                fingerprint(&parse_key(text)?)
            ),
            (None, None) => "Host key: not read yet".to_string(),
        };
        let bootstrap = ctx.config.providers.ssh.as_ref().is_some_and(|s| {
            (s.bootstrap_key_file.is_some() || s.bootstrap_password_env.is_some())
                && s.bootstrap_allowed(target)
        });
        let login = if bootstrap {
            "First login: the bootstrap credential (bootstrap_hosts names this host), then the instance's own key"
        } else {
            "First login: the instance's own key only (bootstrap_hosts does not name this host: you add the key by hand)"
        };
        Ok(vec![
            format!("Host: {}@{}:{}", target.user, target.host, target.port),
            key,
            login.to_string(),
        ])
    }

    /// On a host you have, right before the deploy runs: the key shown in the question is
    /// pinned (or the pin checked), and the host must not carry another instance.
    async fn claim_host(&self, ctx: &Ctx, region: &str) -> Result<(), OpsError> {
        let Some(target) = Target::parse(region)
            .ok()
            .filter(|_| region.starts_with("ssh://"))
        else {
            return Ok(());
        };
        let url = target.url();
        let key = match (&self.host_key, ctx.store.host_key(&url).await?) {
            (_, Some(row)) => parse_key(&row.public_key)?,
            (Some(text), None) => {
                let key = parse_key(text)?;
                ctx.store
                    .pin_host_key(&url, &key_text(&key)?, &fingerprint(&key), ctx.clock.now())
                    .await?;
                key
            }
            (None, None) => {
                return Err(OpsError::Refused(format!(
                    "the host key of {url} was not read before this deploy: send /deploy again"
                )));
            }
        };
        if let Some(other) = tenant(ctx, &self.name, &target, &key).await? {
            return Err(carries(&target, &other));
        }
        Ok(())
    }

    /// What to build: an `ssh://` address as the region means the `ssh` provider (a host
    /// you already have); otherwise the flags, then `[deploy]`.
    fn params(&self, ctx: &Ctx) -> Result<Params, OpsError> {
        let d = &ctx.config.deploy;
        if self.cell {
            let cells = ctx.cells()?;
            // A cell that has its host already (a deploy asked again) keeps it.
            let host = match cells.cell(&self.name) {
                Some(c) if self.cell_host.as_ref().is_none_or(|h| *h == c.host) => c.host,
                _ => cells
                    .place(&self.limits(ctx)?, self.cell_host.as_deref())
                    .map_err(|e| OpsError::Refused(e.to_string()))?,
            };
            return Ok(Params {
                instance: self.name.clone(),
                provider: "cell".into(),
                region: host,
                size: "cell".into(),
                openclaw_version: self
                    .openclaw
                    .clone()
                    .unwrap_or_else(|| d.openclaw_version.clone()),
                server_name: None,
            });
        }
        let on_host = self
            .region
            .as_deref()
            .is_some_and(|r| r.starts_with("ssh://"));
        // `hetzner/hel1` names the provider with the region.
        let (named, region) = match self.region.as_deref().and_then(|r| r.split_once('/')) {
            Some((p, r)) if !on_host => (Some(p.to_string()), Some(r.to_string())),
            _ => (None, self.region.clone()),
        };
        let provider = match (self.provider.clone().or(named), on_host) {
            (Some(p), _) => p,
            (None, true) => "ssh".to_string(),
            (None, false) => d.provider.clone(),
        };
        let cloud = ctx.providers.get(&provider)?;
        // The configured size where this provider has it, else its smallest.
        let size = match &self.size {
            Some(s) => s.clone(),
            None if cloud.size(&d.size).is_ok() => d.size.clone(),
            None => cloud
                .sizes()
                .first()
                .map(|s| s.code.to_string())
                .unwrap_or_default(),
        };
        // The provider's own spelling of the size (chat lowercases words).
        let size = cloud
            .size(&size)
            .map(|s| s.code.to_string())
            .unwrap_or(size);
        let region = region.unwrap_or_else(|| d.region.clone());
        let region = match crate::remote::ssh::Target::parse(&region) {
            Ok(t) if cloud.existing_hosts() => t.url(),
            _ => region,
        };
        Ok(Params {
            instance: self.name.clone(),
            provider,
            region,
            size,
            openclaw_version: self
                .openclaw
                .clone()
                .unwrap_or_else(|| d.openclaw_version.clone()),
            server_name: None,
        })
    }

    /// Runs the deploy; progress goes to `out` as one view edited in place.
    pub async fn run(&self, ctx: &Ctx, out: &dyn Replier) -> Result<Message, OpsError> {
        // A customer's bot token is checked before anything is bought, then kept sealed
        // for the config step.
        let bot = match &self.telegram_token {
            Some(token) => {
                let bot = super::onboarding::check(ctx, &self.name, token).await?;
                super::onboarding::keep(ctx, &self.name, token).await?;
                Some(bot)
            }
            None => None,
        };
        let (id, params) = if self.resume {
            self.reopen(ctx).await?
        } else {
            self.start(ctx).await?
        };
        let cloud = ctx.providers.get(&params.provider)?;
        let summary = ctx.deployer().run(id, &params, cloud.clone(), out).await?;
        let row = existing(&ctx.store, &self.name).await?;
        if let (Some(token), Some(server)) = (&self.telegram_token, row.server_id.as_deref()) {
            let host = cloud.host(&row.name, server, row.ipv4.as_deref());
            super::onboarding::ensure_channel(host.as_ref(), token).await?;
        }
        let region = cloud.region(&row.region)?;
        let place = if cloud.existing_hosts() {
            row.region.clone()
        } else {
            format!("{} {} ({})", cloud.display_name(), region.code, region.city)
        };
        let mut said = Message::default()
            .heading(format!("✓ {} is ready", row.name))
            .table(
                &["id", "region", "size", "price/month", "IP"],
                vec![vec![
                    format!("server {}", summary.server_id),
                    place,
                    row.size.clone(),
                    money(row.monthly_cents, &row.currency),
                    summary.ipv4.unwrap_or_else(|| "-".into()),
                ]],
            )
            .para(format!(
                "{} steps run, {} already done, in {:.1}s. /status {} shows its health.",
                summary.steps_run,
                summary.steps_skipped,
                summary.elapsed.as_secs_f64(),
                row.name
            ));
        if let Some(bot) = bot {
            said = said.para(format!(
                "Telegram: @{u} answers for {} (pairing). DM @{u} to pair: the first request arrives in the ops channel with an Approve button.",
                row.name,
                u = bot.username
            ));
        }
        Ok(said)
    }

    async fn start(&self, ctx: &Ctx) -> Result<(i64, Params), OpsError> {
        if let Some(row) = ctx.store.instance(&self.name).await? {
            let hint = match row.status {
                InstanceStatus::Destroyed => None,
                InstanceStatus::Failed | InstanceStatus::Interrupted => Some(format!(
                    "the last deploy of {} stopped ({}): /deploy {} --resume continues it, /destroy {} removes it",
                    row.name, row.status, row.name, row.name
                )),
                InstanceStatus::Deploying => {
                    Some(format!("{} is being deployed right now", row.name))
                }
                _ => Some(format!(
                    "{} already exists ({}, {}): pick another name, or /destroy it first",
                    row.name,
                    row.status,
                    super::place(&row)
                )),
            };
            if let Some(hint) = hint {
                return Err(OpsError::Refused(hint));
            }
        }
        let primary = self.primary(ctx).await?;
        let params = self.params(ctx)?;
        let cloud = ctx.providers.get(&params.provider)?;
        cloud.region(&params.region)?;
        if cloud.existing_hosts() {
            self.claim_host(ctx, &params.region).await?;
        }
        if ctx.store.instance(&self.name).await?.is_some() {
            // A destroyed name deployed again starts fresh: nothing of the old one's.
            ctx.store.forget_instance_secrets(&self.name).await?;
        }
        let size = cloud.size(&params.size)?.clone();
        let (monthly_cents, currency) = if self.cell {
            let limits = self.limits(ctx)?;
            let cells = ctx.cells()?;
            cells.reserve(&self.name, &params.region, &limits).await?;
            cells.price(&params.region, limits.memory_mb)
        } else {
            (size.monthly_cents, cloud.currency().to_string())
        };
        let owner = self.owner.as_deref().map(owner_id).transpose()?;
        let now = ctx.clock.now();
        ctx.store
            .upsert_deploying(
                &NewInstance {
                    name: &self.name,
                    provider: cloud.display_name(),
                    region: &params.region,
                    size: &params.size,
                    monthly_cents,
                    currency: &currency,
                    owner: owner.as_deref(),
                },
                now,
            )
            .await?;
        if let Some(primary) = &primary {
            ctx.store.set_standby_of(&self.name, primary, now).await?;
        }
        let json = serde_json::to_string(&params)
            .map_err(|e| OpsError::Refused(format!("cannot record the deploy: {e}")))?;
        let steps: Vec<&str> = steps_for(cloud.as_ref()).iter().map(|s| s.id()).collect();
        let id = ctx
            .store
            .start_deploy(&self.name, &json, &steps, now)
            .await?;
        Ok((id, params))
    }

    /// With --standby-for: the primary, which must exist and not be a standby itself.
    async fn primary(&self, ctx: &Ctx) -> Result<Option<String>, OpsError> {
        let Some(name) = &self.standby_for else {
            return Ok(None);
        };
        if name == &self.name {
            return Err(OpsError::Refused(format!(
                "{name} cannot be its own standby"
            )));
        }
        let primary = existing(&ctx.store, name).await?;
        if let Some(of) = &primary.standby_of {
            return Err(OpsError::Refused(format!(
                "{name} is itself the standby of {of}: pick a primary"
            )));
        }
        Ok(Some(primary.name))
    }

    async fn reopen(&self, ctx: &Ctx) -> Result<(i64, Params), OpsError> {
        // A deploy that belongs to a plan (a migration's new server) is the plan's to
        // finish: resumed alone it would make a server without the instance's state.
        if let Some(plan) = ctx
            .store
            .open_plans()
            .await?
            .into_iter()
            .find(|p| p.subject == self.name)
        {
            return Err(OpsError::Refused(format!(
                "{} is part of an unfinished /{} (plan {}, {}): that plan finishes or rolls back its deploy; clawops resumes it at start-up",
                self.name,
                plan.kind,
                plan.id,
                plan.state.as_str()
            )));
        }
        let Some(last) = ctx.store.latest_deploy(&self.name).await? else {
            return Err(OpsError::Refused(format!(
                "{} has no deploy to resume: /deploy {} starts one",
                self.name, self.name
            )));
        };
        if !ctx.store.reopen_deploy(last.id).await? {
            return Err(OpsError::Refused(match last.state {
                DeployState::Running => format!("the deploy of {} is running right now", self.name),
                _ => format!(
                    "the last deploy of {} finished ({}); nothing to resume",
                    self.name,
                    last.state.as_str()
                ),
            }));
        }
        let mut params: Params = serde_json::from_str(&last.params).map_err(|e| {
            OpsError::Refused(format!(
                "the stored deploy of {} cannot be read: {e}",
                self.name
            ))
        })?;
        if ctx.providers.get(&params.provider)?.existing_hosts() {
            self.claim_host(ctx, &params.region).await?;
        }
        // A resume picks up the version given now, else the one pinned in the config, so a
        // wrong version can be fixed and the deploy resumed.
        params.openclaw_version = self
            .openclaw
            .clone()
            .unwrap_or_else(|| ctx.config.deploy.openclaw_version.clone());
        ctx.store
            .set_instance_status(&self.name, InstanceStatus::Deploying, ctx.clock.now())
            .await?;
        Ok((last.id, params))
    }
}

/// The refusal for a host that already carries `other`.
fn carries(target: &Target, other: &str) -> OpsError {
    OpsError::Refused(format!(
        "{target} already carries {other}: a host runs one instance (for many, make it a cell host: /hosts add). Pick another host, or /destroy {other} first"
    ))
}

/// The live instance other than `name` already on the host at `target`: the same
/// address, or any address whose pinned key is `key` (a host's identity is its key, not
/// the address or the user it is reached as).
pub(super) async fn tenant(
    ctx: &Ctx,
    name: &str,
    target: &Target,
    key: &PublicKey,
) -> Result<Option<String>, OpsError> {
    let url = target.url();
    // A cell host carries its cells: it is no instance's own host.
    for host in ctx.cells.iter().flat_map(|c| c.hosts()) {
        let same_key = match ctx.store.host_key(&host.target).await? {
            Some(pin) => parse_key(&pin.public_key)?.key_data() == key.key_data(),
            None => false,
        };
        if host.target == url || same_key {
            return Ok(Some(format!("the cell host {}", host.name)));
        }
    }
    for row in ctx.store.fleet().await? {
        if row.name == name {
            continue;
        }
        let mut places: Vec<String> = [row.server_id.clone(), Some(row.region.clone())]
            .into_iter()
            .flatten()
            .filter(|p| p.starts_with("ssh://"))
            .collect();
        if let Some(ip) = &row.ipv4 {
            places.push(super::destroy::cloud_target(ip));
        }
        for place in places {
            if *place == url {
                return Ok(Some(row.name));
            }
            if let Some(pin) = ctx.store.host_key(&place).await?
                && parse_key(&pin.public_key)?.key_data() == key.key_data()
            {
                return Ok(Some(row.name));
            }
        }
    }
    Ok(None)
}

/// The pin of `target`, checked against the key it offers now.
pub(super) async fn check_pin(
    ctx: &Ctx,
    target: &Target,
    offered: &PublicKey,
) -> Result<(), OpsError> {
    if let Some(row) = ctx.store.host_key(&target.url()).await? {
        let pinned = parse_key(&row.public_key)?;
        if pinned.key_data() != offered.key_data() {
            return Err(RemoteError::from(SshError::HostKeyChanged {
                target: target.url(),
                pinned: fingerprint(&pinned),
                offered: fingerprint(offered),
            })
            .into());
        }
    }
    Ok(())
}

pub(super) fn parse_key(text: &str) -> Result<PublicKey, OpsError> {
    PublicKey::from_openssh(text)
        .map_err(|e| OpsError::Refused(format!("a stored host key cannot be read: {e}")))
}

/// A public key as `ALGORITHM BASE64`, without a comment.
pub(super) fn key_text(key: &PublicKey) -> Result<String, OpsError> {
    let mut plain = key.clone();
    plain.set_comment("");
    plain
        .to_openssh()
        .map_err(|e| OpsError::Refused(format!("a host key cannot be written: {e}")))
}

/// `--owner`: a Telegram user id, bare or as `telegram:ID`, as OpenClaw's
/// `commands.ownerAllowFrom` writes it.
pub fn owner_id(given: &str) -> Result<String, OpsError> {
    let id = given.strip_prefix("telegram:").unwrap_or(given);
    if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(format!("telegram:{id}"))
    } else {
        Err(OpsError::Refused(format!(
            "--owner {given:?} is not a Telegram user id: give the number (e.g. --owner 4242), as the user's profile or @userinfobot shows it"
        )))
    }
}
