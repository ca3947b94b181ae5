//! The lifecycle of one running instance: `/logs`, `/version`, `/update`, `/config`,
//! `/suspend` and `/resume`. Each reaches the instance's host through its provider; what
//! comes back from the host is redacted before it is shown.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{INSTANCE, SELECTOR_PARAMS, Selector, existing, place};
use crate::chat::Message;
use crate::config::Role;
use crate::ops::catalogue::{ArgError, Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::rollout::{Change, Pace, Rollout};
use crate::ops::{BlastRadius, OpsError};
use crate::remote::Host;
use crate::remote::openclaw::get_dotted;
use crate::store::{InstanceRow, InstanceStatus};

/// The host of an instance that has finished deploying (ready or suspended).
pub(super) async fn host_of(
    ctx: &Ctx,
    name: &str,
) -> Result<(InstanceRow, Arc<dyn Host>), OpsError> {
    let row = existing(&ctx.store, name).await?;
    if !matches!(
        row.status,
        InstanceStatus::Ready | InstanceStatus::Suspended
    ) {
        return Err(OpsError::Refused(format!(
            "{name} is {}: finish its deploy first (/deploy {name} --resume)",
            row.status
        )));
    }
    let server = row
        .server_id
        .clone()
        .ok_or_else(|| OpsError::Refused(format!("{name} has no server recorded")))?;
    let host = ctx
        .providers
        .get(&row.provider)?
        .host(&row.name, &server, row.ipv4.as_deref());
    Ok((row, host))
}

/// One instance, its end users, nothing added to the bill.
pub(super) async fn one(ctx: &Ctx, name: &str) -> Result<BlastRadius, OpsError> {
    let row = existing(&ctx.store, name).await?;
    Ok(BlastRadius {
        end_users: row.end_users.max(0) as u32,
        instances: vec![(row.name.clone(), place(&row))],
        monthly_cents: 0,
        currency: String::new(),
        reversible: true,
        loss: None,
        billed: false,
        ..BlastRadius::default()
    })
}

/// Host output as it may be shown: every secret shape and every secret the process
/// knows cut out.
fn redacted(text: &str) -> String {
    crate::secrets::redact(text, &[])
}

/// Probes after a change and records the health.
async fn recheck(ctx: &Ctx, row: &InstanceRow, host: &dyn Host) -> Result<String, OpsError> {
    let p = super::probe_host(ctx, &row.name, host).await?;
    Ok(format!("{} ({}/100)", p.state.as_str(), p.score))
}

/// The gateway log tail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logs {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lines: Option<u64>,
}

impl Command for Logs {
    const SPEC: Spec = Spec {
        name: "logs",
        summary: "Show the newest lines of an instance's gateway log (secrets redacted)",
        params: &[
            INSTANCE,
            Param {
                name: "lines",
                meta: "LINES",
                kind: Kind::Number { min: 1, max: 200 },
                flag: false,
                required: false,
                help: "how many lines (default 20)",
            },
        ],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/logs alice-bot 50",
    };
}

impl Logs {
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let (row, host) = host_of(ctx, &self.name).await?;
        let lines = self.lines.unwrap_or(20) as u32;
        let log = host.logs(lines).await?;
        if log.is_empty() {
            return Ok(Message::text(format!(
                "{}: the gateway log is empty.",
                row.name
            )));
        }
        let text: Vec<String> = log
            .iter()
            .map(|l| {
                let time = l.time.get(11..19).unwrap_or(&l.time);
                format!("{time} {:<5} {}", l.level, l.message)
                    .trim()
                    .to_string()
            })
            .collect();
        Ok(Message::default()
            .heading(format!("{} — last {} log lines", row.name, log.len()))
            .pre(redacted(&text.join("\n"))))
    }
}

/// The OpenClaw and Node.js versions of an instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    pub name: String,
}

impl Command for Version {
    const SPEC: Spec = Spec {
        name: "version",
        summary: "Show the OpenClaw version installed and running on an instance",
        params: &[INSTANCE],
        risk: Risk::Read,
        role: Role::Viewer,
        example: "/version alice-bot",
    };
}

impl Version {
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let (row, host) = host_of(ctx, &self.name).await?;
        let v = host.versions().await?;
        let pinned = &ctx.config.deploy.openclaw_version;
        let installed = v.installed.clone().unwrap_or_else(|| "none".into());
        let mut m = Message::default()
            .heading(format!("{} — OpenClaw {installed}", row.name))
            .table(
                &["", "version"],
                vec![
                    vec!["installed".into(), installed.clone()],
                    vec![
                        "running".into(),
                        v.running
                            .clone()
                            .unwrap_or_else(|| "(gateway not answering)".into()),
                    ],
                    vec!["pinned in [deploy]".into(), pinned.clone()],
                    vec!["node".into(), v.node.clone().unwrap_or_else(|| "-".into())],
                ],
            );
        if &installed != pinned {
            m = m.para(format!(
                "/update {} {pinned} brings it to the pinned version.",
                row.name
            ));
        }
        Ok(m)
    }
}

/// The bulk form shared by `/update` and `/config`: which instances (a selector or
/// `--all`, never a NAME) and how the rollout goes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Bulk {
    #[serde(flatten)]
    pub selector: Selector,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<String>,
    /// The instances the confirmation showed, bound by the door when it asks: the
    /// rollout acts on those that still match, never on ones added since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asked: Option<Vec<String>>,
}

/// The bulk parameters, after each command's own.
const BULK_PARAMS: [Param; 7] = [
    SELECTOR_PARAMS[0],
    SELECTOR_PARAMS[1],
    SELECTOR_PARAMS[2],
    SELECTOR_PARAMS[3],
    Param {
        name: "all",
        meta: "",
        kind: Kind::Switch,
        flag: true,
        required: false,
        help: "every ready instance (a rollout)",
    },
    Param {
        name: "batch",
        meta: "N",
        kind: Kind::Number { min: 1, max: 100 },
        flag: true,
        required: false,
        help: "instances per batch after the canary (default [rollouts] batch)",
    },
    Param {
        name: "pause",
        meta: "D",
        kind: Kind::Word,
        flag: true,
        required: false,
        help: "wait between batches, e.g. 2m (default [rollouts] pause)",
    },
];

/// The one-instance parameter of commands that also have a bulk form.
const ONE_OR_BULK: Param = Param {
    name: "instance",
    required: false,
    help: "one instance (or filters, or --all: a rollout)",
    ..INSTANCE
};

impl Bulk {
    /// Whether this is a bulk form.
    pub fn is_bulk(&self) -> bool {
        self.all || !self.selector.is_empty()
    }

    /// One instance, or a selector, or --all; batch and pause only for a rollout.
    fn check(&self, instance: Option<&String>) -> Result<(), ArgError> {
        let ways = usize::from(instance.is_some())
            + usize::from(!self.selector.is_empty())
            + usize::from(self.all);
        match ways {
            0 => {
                return Err(ArgError::Invalid(
                    "name an instance, or give filters (--status, --region, --provider, --name) or --all for a rollout".into(),
                ));
            }
            1 => {}
            _ => {
                return Err(ArgError::Invalid(
                    "give either an instance name, filters, or --all — not several".into(),
                ));
            }
        }
        if instance.is_some() && (self.batch.is_some() || self.pause.is_some()) {
            return Err(ArgError::Invalid(
                "--batch and --pause are for rollouts (with filters or --all)".into(),
            ));
        }
        if let Some(pause) = &self.pause {
            humantime::parse_duration(pause).map_err(|_| ArgError::Bad {
                meta: "D",
                value: pause.chars().take(20).collect(),
                why: "write a duration like 30s, 2m or 1h".into(),
            })?;
        }
        Ok(())
    }

    /// The ready instances it picks now (those the question showed, once bound),
    /// healthiest first so that the canary is a typical instance.
    pub async fn targets(&self, ctx: &Ctx) -> Result<Vec<InstanceRow>, OpsError> {
        let mut rows: Vec<InstanceRow> = self
            .selector
            .pick(&ctx.store)
            .await?
            .into_iter()
            .filter(|r| r.status == InstanceStatus::Ready)
            .filter(|r| self.asked.as_ref().is_none_or(|a| a.contains(&r.name)))
            .collect();
        rows.sort_by_key(|r| (r.health.as_deref() != Some("healthy"), r.name.clone()));
        Ok(rows)
    }

    /// How the rollout goes: flags, else `[rollouts]`.
    pub fn pace(&self, ctx: &Ctx) -> Pace {
        let config = &ctx.config.rollouts;
        Pace {
            batch: self.batch.unwrap_or(config.batch),
            pause: self
                .pause
                .as_deref()
                .and_then(|p| humantime::parse_duration(p).ok())
                .unwrap_or(config.pause),
            error_budget: config.error_budget,
        }
    }

    /// Bound to the instances the question showed.
    pub fn bound(&self, radius: &BlastRadius) -> Bulk {
        Bulk {
            asked: Some(radius.instances.iter().map(|(n, _)| n.clone()).collect()),
            ..self.clone()
        }
    }

    /// The rollout of `change` it makes, and the question's radius.
    async fn rollout(
        &self,
        ctx: &Ctx,
        change: Change,
        actor: &str,
    ) -> Result<(Rollout, BlastRadius), OpsError> {
        let rows = self.targets(ctx).await?;
        let rollout = Rollout::new(change, &rows, self.pace(ctx), actor);
        let radius = crate::ops::rollout::radius(ctx, &rollout, &rows);
        Ok((rollout, radius))
    }
}

/// Update OpenClaw on one instance, with rollback; or on many, as a rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Update {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(flatten)]
    pub bulk: Bulk,
    /// Set only by a heal: back to the version the instance ran before a crash loop
    /// began (the one update the system may make).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub rollback: bool,
}

const UPDATE_PARAMS: [Param; 9] = [
    ONE_OR_BULK,
    Param {
        name: "version",
        meta: "VERSION",
        kind: Kind::Version,
        flag: false,
        required: false,
        help: "the OpenClaw version (default: the one pinned in [deploy])",
    },
    BULK_PARAMS[0],
    BULK_PARAMS[1],
    BULK_PARAMS[2],
    BULK_PARAMS[3],
    BULK_PARAMS[4],
    BULK_PARAMS[5],
    BULK_PARAMS[6],
];

impl Command for Update {
    const SPEC: Spec = Spec {
        name: "update",
        summary: "Update OpenClaw on an instance (health-checked; rolls back on failure)",
        params: &UPDATE_PARAMS,
        risk: Risk::Change,
        role: Role::Operator,
        example: "/update --all --version 2026.9.6 --batch 10",
    };

    fn check(&self) -> Result<(), ArgError> {
        self.bulk.check(self.instance.as_ref())
    }
}

impl Update {
    /// The heal's roll-back of `name` to `version`.
    pub fn roll_back(name: &str, version: &str) -> Update {
        Update {
            instance: Some(name.to_string()),
            version: Some(version.to_string()),
            bulk: Bulk::default(),
            rollback: true,
        }
    }

    /// The instance of the one-instance form.
    fn name(&self) -> Result<&str, OpsError> {
        self.instance
            .as_deref()
            .ok_or_else(|| OpsError::Refused("name an instance".into()))
    }

    fn change(&self, ctx: &Ctx) -> Change {
        Change::Update {
            version: self
                .version
                .clone()
                .unwrap_or_else(|| ctx.config.deploy.openclaw_version.clone()),
        }
    }

    /// The rollout this bulk form starts, as `actor`.
    pub async fn rollout(&self, ctx: &Ctx, actor: &str) -> Result<Rollout, OpsError> {
        Ok(self.bulk.rollout(ctx, self.change(ctx), actor).await?.0)
    }

    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        if self.bulk.is_bulk() {
            return Ok(self.bulk.rollout(ctx, self.change(ctx), "").await?.1);
        }
        one(ctx, self.name()?).await
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let (row, host) = host_of(ctx, self.name()?).await?;
        let version = self
            .version
            .clone()
            .unwrap_or_else(|| ctx.config.deploy.openclaw_version.clone());
        let said = host.update(&version).await?;
        let health = recheck(ctx, &row, host.as_ref()).await?;
        Ok(Message::default()
            .heading(format!("✓ {} runs OpenClaw {version}", row.name))
            .para(redacted(&said))
            .para(format!("Health after the update: {health}")))
    }
}

/// Read or change an instance's gateway config; or push one key to many, as a rollout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Config {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// `get` or `set`; absent shows the whole config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verb: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(flatten)]
    pub bulk: Bulk,
}

const CONFIG_PARAMS: [Param; 11] = [
    ONE_OR_BULK,
    Param {
        name: "verb",
        meta: "get|set",
        kind: Kind::Word,
        flag: false,
        required: false,
        help: "get KEY, or set KEY VALUE; nothing shows the whole config",
    },
    Param {
        name: "key",
        meta: "KEY",
        kind: Kind::Key,
        flag: false,
        required: false,
        help: "a dotted key, e.g. channels.telegram.dmPolicy",
    },
    Param {
        name: "value",
        meta: "VALUE",
        kind: Kind::Text,
        flag: false,
        required: false,
        help: "the new value (JSON, or plain text for a string)",
    },
    BULK_PARAMS[0],
    BULK_PARAMS[1],
    BULK_PARAMS[2],
    BULK_PARAMS[3],
    BULK_PARAMS[4],
    BULK_PARAMS[5],
    BULK_PARAMS[6],
];

impl Command for Config {
    const SPEC: Spec = Spec {
        name: "config",
        summary: "Show an instance's gateway config, or get/set one key (secrets masked)",
        params: &CONFIG_PARAMS,
        risk: Risk::Change,
        role: Role::Operator,
        example: "/config alice-bot set channels.telegram.dmPolicy pairing",
    };

    fn check(&self) -> Result<(), ArgError> {
        self.bulk.check(self.instance.as_ref())?;
        if self.bulk.is_bulk() {
            return self.bulk_problem();
        }
        match (self.verb.as_deref(), &self.key, &self.value) {
            (Some("set"), Some(key), Some(raw)) => set_problem(key, raw),
            (None, None, None) | (Some("get"), _, None) => Ok(()),
            (Some("set"), _, _) => Err(ArgError::Invalid("set takes a KEY and a VALUE".into())),
            (Some("get"), _, Some(_)) => Err(ArgError::Invalid("get takes only a KEY".into())),
            _ => Err(ArgError::Invalid(
                "write /config NAME, /config NAME get KEY or /config NAME set KEY VALUE".into(),
            )),
        }
    }
}

/// Why `/config NAME set KEY VALUE` cannot be done, checked before anything runs: a key
/// clawops manages (or a parent of one), or a value holding a mask or redaction marker
/// (writing it back would replace a real secret with the marker).
fn set_problem(key: &str, raw: &str) -> Result<(), ArgError> {
    if let Some(managed) = crate::remote::openclaw::managed_key(key) {
        return Err(ArgError::Invalid(format!(
            "{key} is managed by clawops ({managed}: gateway port, bind, token and log file); change [deploy] instead"
        )));
    }
    if crate::secrets::holds_marker(&config_value(raw)) {
        return Err(ArgError::Invalid(format!(
            "the value holds {} or {}, which stand for a hidden secret: give the real value",
            crate::secrets::REDACTED,
            crate::secrets::MASK
        )));
    }
    Ok(())
}

/// A value typed for /config: JSON when it parses, else plain text.
pub fn config_value(raw: &str) -> serde_json::Value {
    serde_json::from_str(raw).unwrap_or_else(|_| serde_json::Value::String(raw.to_string()))
}

impl Config {
    /// Whether this /config sets a secret (at the key, or anywhere inside its value).
    pub fn carries_secret(&self) -> bool {
        match (self.verb.as_deref(), &self.key, &self.value) {
            (Some("set"), Some(key), Some(raw)) => {
                crate::secrets::config_carries_secret(key, &config_value(raw))
            }
            _ => false,
        }
    }

    /// Why a bulk form is not a config push this can do.
    fn bulk_problem(&self) -> Result<(), ArgError> {
        let (Some("set"), Some(key), Some(raw)) = (self.verb.as_deref(), &self.key, &self.value)
        else {
            return Err(ArgError::Invalid(
                "with filters or --all, /config pushes one key: /config --all set KEY VALUE".into(),
            ));
        };
        set_problem(key, raw)?;
        if crate::secrets::secret_key(key)
            || crate::secrets::config_carries_secret(key, &config_value(raw))
        {
            return Err(ArgError::Invalid(
                "a secret is set one instance at a time (/config NAME set …): each bot has its own"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The instance of the one-instance form.
    fn name(&self) -> Result<&str, OpsError> {
        self.instance
            .as_deref()
            .ok_or_else(|| OpsError::Refused("name an instance".into()))
    }

    /// The key and value a bulk set pushes.
    fn change(&self) -> Result<Change, OpsError> {
        match (&self.key, &self.value) {
            (Some(key), Some(raw)) => Ok(Change::Config {
                key: key.clone(),
                value: config_value(raw),
            }),
            _ => Err(OpsError::Refused(
                "a config push sets a KEY to a VALUE".into(),
            )),
        }
    }

    /// The rollout this bulk form starts, as `actor`.
    pub async fn rollout(&self, ctx: &Ctx, actor: &str) -> Result<Rollout, OpsError> {
        Ok(self.bulk.rollout(ctx, self.change()?, actor).await?.0)
    }

    /// Reading is free; a set touches one instance; a push, many.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        if self.bulk.is_bulk() {
            return Ok(self.bulk.rollout(ctx, self.change()?, "").await?.1);
        }
        if self.verb.as_deref() == Some("set") {
            one(ctx, self.name()?).await
        } else {
            Ok(BlastRadius {
                reversible: true,
                ..BlastRadius::default()
            })
        }
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let (row, host) = host_of(ctx, self.name()?).await?;
        match (self.verb.as_deref(), &self.key, &self.value) {
            (Some("set"), Some(key), Some(raw)) => {
                let value = config_value(raw);
                let shown = crate::secrets::shown(key, &value);
                let mut given = serde_json::json!({});
                let token = crate::remote::openclaw::set_dotted(&mut given, key, value.clone())
                    .ok()
                    .and_then(|()| get_dotted(&given, "channels.telegram.botToken").cloned())
                    .and_then(|t| t.as_str().map(str::to_string));
                let said = host.set_config(key, value).await?;
                // Accepted: the bot token is kept sealed as this instance's, whatever
                // kind of host holds it (a failover moves it from here).
                if let Some(token) = token {
                    super::failover::keep_token(ctx, &row.name, &token).await?;
                }
                Ok(Message::text(format!(
                    "✓ {}: {key} = {shown}. {said}",
                    row.name
                )))
            }
            (_, key, _) => {
                let mut config = host.config().await?;
                crate::secrets::mask(&mut config);
                let shown = match key {
                    Some(k) => get_dotted(&config, k).cloned().ok_or_else(|| {
                        OpsError::Refused(format!("{} has no config key {k}", row.name))
                    })?,
                    None => config,
                };
                let text = serde_json::to_string_pretty(&shown).unwrap_or_default();
                Ok(Message::default()
                    .heading(format!(
                        "{} — {}",
                        row.name,
                        key.as_deref().unwrap_or("gateway config")
                    ))
                    .pre(redacted(&text)))
            }
        }
    }
}

/// The kill switch: stop an instance's gateway, keep its data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suspend {
    pub name: String,
    /// Set by the cell watch only: a cell over its limits for `[cells]
    /// auto_suspend_sweeps` sweeps (the one suspend the system may do).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub over_limits: bool,
}

impl Command for Suspend {
    const SPEC: Spec = Spec {
        name: "suspend",
        summary: "Stop an instance's gateway and keep it stopped (data kept) — the kill switch",
        params: &[INSTANCE],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/suspend alice-bot",
    };
}

impl Suspend {
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        one(ctx, &self.name).await
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let (row, host) = host_of(ctx, &self.name).await?;
        if row.status == InstanceStatus::Suspended {
            return Ok(Message::text(format!(
                "{} is already suspended; /resume {} starts it.",
                row.name, row.name
            )));
        }
        let said = host.suspend().await?;
        ctx.store
            .set_instance_status(&row.name, InstanceStatus::Suspended, ctx.clock.now())
            .await?;
        Ok(Message::text(format!(
            "⏸ {} suspended: {said}. Its data is kept; /resume {} starts it again.",
            row.name, row.name
        )))
    }
}

/// Start a suspended instance again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resume {
    pub name: String,
}

impl Command for Resume {
    const SPEC: Spec = Spec {
        name: "resume",
        summary: "Start a suspended instance's gateway again and check its health",
        params: &[INSTANCE],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/resume alice-bot",
    };
}

impl Resume {
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        one(ctx, &self.name).await
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let (row, host) = host_of(ctx, &self.name).await?;
        let said = host.resume().await?;
        ctx.store
            .set_instance_status(&row.name, InstanceStatus::Ready, ctx.clock.now())
            .await?;
        let health = recheck(ctx, &row, host.as_ref()).await?;
        Ok(Message::text(format!(
            "▶ {} resumed: {said}. Health: {health}",
            row.name
        )))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_secret_value_never_reaches_the_command_line() {
        let action = crate::command::parse(
            "/config alice-bot set channels.telegram.botToken 123456:AAsecretsecretsecretsecret",
        )
        .unwrap();
        let line = action.command_line();
        assert_eq!(
            line,
            "/config alice-bot set channels.telegram.botToken ••••"
        );
        let plain = crate::command::parse("/config alice-bot set logging.level debug").unwrap();
        assert_eq!(
            plain.command_line(),
            "/config alice-bot set logging.level debug"
        );
    }

    #[test]
    fn secrets_are_masked_wherever_they_are() {
        let mut c = serde_json::json!({
            "gateway": {"port": 18789, "auth": {"mode": "token", "token": "abc"}},
            "channels": {"telegram": {"botToken": "123:ABC", "dmPolicy": "pairing"}},
            "models": {"providers": {"x": {"apiKey": "sk-1", "baseUrl": "http://x"}}}
        });
        crate::secrets::mask(&mut c);
        assert_eq!(c["gateway"]["auth"]["token"], "••••");
        assert_eq!(c["gateway"]["auth"]["mode"], "token");
        assert_eq!(c["channels"]["telegram"]["botToken"], "••••");
        assert_eq!(c["channels"]["telegram"]["dmPolicy"], "pairing");
        assert_eq!(c["models"]["providers"]["x"]["apiKey"], "••••");
        assert_eq!(c["gateway"]["port"], 18789);
    }
}
