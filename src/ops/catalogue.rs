//! The action catalogue: each action's name, arguments, one-line help, risk and the role
//! it needs, in one table. The slash-command grammar, `/help` and the LLM's tool schemas
//! are all generated from it, so they cannot drift apart.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use super::Action;
use super::actions::{
    alerts::{Ack, Alerts, Silence, Unsilence},
    audit::AuditTail,
    backup::{Backup, Backups, Restore},
    brief::Brief,
    cost::Cost,
    deploy::Deploy,
    destroy::Destroy,
    failover::{Failback, Failover},
    forget::Forget,
    health::Health,
    help::Help,
    hosts::Hosts,
    jobs::Jobs,
    lifecycle::{Config, Logs, Resume, Suspend, Update, Version},
    list::List,
    migrate::Migrate,
    pairing::{Approve, Pairings, Reject},
    prices::{Regions, Sizes},
    reboot::Reboot,
    reconcile::Reconcile,
    recover::Recover,
    repair::Repair,
    resize::Resize,
    restart::Restart,
    rollouts::{RolloutControl, Rollouts},
    send::Send,
    status::Status,
    unpin::Unpin,
    usage::Usage,
    waste::Waste,
};
use crate::config::Role;

/// How much an action can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Risk {
    /// Reads only.
    Read,
    /// Changes the fleet in a way that can be undone (restart, deploy).
    Change,
    /// Cannot be undone (destroy): always needs a confirmation.
    Destructive,
}

/// What kind of value an argument takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An instance name: lowercase letters, digits and dashes, up to 63 characters.
    Name,
    /// A word such as a region, size, provider or status.
    Word,
    /// An OpenClaw version such as `2026.9.6` or `2026.10.0-RC.1` (case kept).
    Version,
    /// A region, or a host you already have: `ssh://user@host[:port]`.
    Place,
    /// A dotted config key such as `channels.telegram.dmPolicy`.
    Key,
    /// Free text (a config value), one line.
    Text,
    /// A name pattern with `*` wildcards.
    Pattern,
    /// The rest of the line as typed, a message to people (line breaks allowed); always
    /// the last positional argument.
    Message,
    /// A whole number within bounds.
    Number { min: u64, max: u64 },
    /// A secret (a Telegram bot token): checked, registered so that it is cut from every
    /// log line and chat, masked in the audit trail, sealed at rest, never offered to the
    /// LLM nor shown on Discord.
    Secret,
    /// A flag that is present or not.
    Switch,
}

/// The usage line of command `name` with `params`: `/name NAME [--flag VALUE]`.
pub fn usage_line<'a>(name: &str, params: impl Iterator<Item = &'a Param>) -> String {
    let mut s = format!("/{name}");
    for p in params {
        let body = match (p.flag, p.kind) {
            (true, Kind::Switch) => format!("--{}", p.name.replace('_', "-")),
            (true, _) => format!("--{} {}", p.name.replace('_', "-"), p.meta),
            (false, _) => p.meta.to_string(),
        };
        if p.required {
            s.push_str(&format!(" {body}"));
        } else {
            s.push_str(&format!(" [{body}]"));
        }
    }
    s
}

/// One argument of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Param {
    /// The field name (also the flag: `--size`).
    pub name: &'static str,
    /// How usage lines show its value: `NAME`, `REGION`.
    pub meta: &'static str,
    pub kind: Kind,
    /// Given as `--name VALUE` rather than by position.
    pub flag: bool,
    pub required: bool,
    pub help: &'static str,
}

/// One action's entry in the catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The command name, without the slash.
    pub name: &'static str,
    /// One line for `/help`, the command menu and the LLM.
    pub summary: &'static str,
    pub params: &'static [Param],
    pub risk: Risk,
    /// The least role that may run it.
    pub role: Role,
    /// One example invocation.
    pub example: &'static str,
}

impl Spec {
    /// The usage line: `/deploy NAME [REGION] [--size SIZE] [--resume]`.
    pub fn usage(&self) -> String {
        self.usage_of(|_| true)
    }

    /// The usage line without secret arguments (for the LLM, which never gets one).
    pub fn usage_without_secrets(&self) -> String {
        self.usage_of(|p| p.kind != Kind::Secret)
    }

    fn usage_of(&self, shown: impl Fn(&Param) -> bool) -> String {
        usage_line(self.name, self.params.iter().filter(|p| shown(p)))
    }

    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&'static Param> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// A parsed argument value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ArgValue {
    Text(String),
    Number(u64),
    Switch(bool),
}

/// Arguments by parameter name.
pub type Args = BTreeMap<String, ArgValue>;

/// Why arguments do not make an action.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ArgError {
    #[error("unknown command /{0}")]
    UnknownCommand(String),
    #[error("missing {0}")]
    Missing(&'static str),
    #[error("unknown option --{0}")]
    UnknownFlag(String),
    #[error("too many arguments: {0:?} is not expected")]
    Extra(String),
    #[error("--{0} needs a value")]
    NoValue(&'static str),
    #[error("{meta} {value:?} is not valid: {why}")]
    Bad {
        meta: &'static str,
        value: String,
        why: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// An action's typed arguments: a struct whose fields are named like its parameters.
pub trait Command: Serialize + DeserializeOwned {
    /// Its catalogue entry.
    const SPEC: Spec;
    /// Checks that need more than one argument at a time.
    fn check(&self) -> Result<(), ArgError> {
        Ok(())
    }
}

macro_rules! catalogue {
    ($($variant:ident => $ty:ty),* $(,)?) => {
        const ALL: &[&Spec] = &[$(&<$ty as Command>::SPEC),*];

        fn typed(name: &str, json: serde_json::Value) -> Result<Action, ArgError> {
            $(
                if name == <$ty as Command>::SPEC.name {
                    let value: $ty = serde_json::from_value(json)
                        .map_err(|e| ArgError::Invalid(e.to_string()))?;
                    value.check()?;
                    return Ok(Action::$variant(value));
                }
            )*
            Err(ArgError::UnknownCommand(name.to_string()))
        }

        impl Action {
            /// This action's catalogue entry.
            pub fn spec(&self) -> &'static Spec {
                match self {
                    $(Action::$variant(_) => &<$ty as Command>::SPEC,)*
                }
            }

            fn fields(&self) -> serde_json::Value {
                match self {
                    $(Action::$variant(a) => serde_json::to_value(a).unwrap_or_default(),)*
                }
            }
        }
    };
}

catalogue! {
    Help => Help,
    Deploy => Deploy,
    List => List,
    Status => Status,
    Health => Health,
    Restart => Restart,
    Destroy => Destroy,
    Audit => AuditTail,
    Regions => Regions,
    Sizes => Sizes,
    Cost => Cost,
    Waste => Waste,
    Hosts => Hosts,
    Usage => Usage,
    Forget => Forget,
    Logs => Logs,
    Version => Version,
    Update => Update,
    Config => Config,
    Rollouts => Rollouts,
    Rollout => RolloutControl,
    Suspend => Suspend,
    Resume => Resume,
    Backup => Backup,
    Backups => Backups,
    Restore => Restore,
    Unpin => Unpin,
    Reconcile => Reconcile,
    Migrate => Migrate,
    Recover => Recover,
    Reboot => Reboot,
    Resize => Resize,
    Repair => Repair,
    Jobs => Jobs,
    Alerts => Alerts,
    Ack => Ack,
    Silence => Silence,
    Unsilence => Unsilence,
    Failover => Failover,
    Failback => Failback,
    Pairings => Pairings,
    Approve => Approve,
    Reject => Reject,
    Send => Send,
    Brief => Brief,
}

/// Every action's entry, in the order `/help` shows them.
pub fn catalogue() -> &'static [&'static Spec] {
    ALL
}

/// The entry of the action called `name`.
pub fn spec(name: &str) -> Option<&'static Spec> {
    ALL.iter().copied().find(|s| s.name == name)
}

/// Builds an action from named arguments, checking each value against its kind.
pub fn build(name: &str, args: &Args) -> Result<Action, ArgError> {
    let spec = spec(name).ok_or_else(|| ArgError::UnknownCommand(name.to_string()))?;
    let mut json = serde_json::Map::new();
    for (key, value) in args {
        let param = spec
            .param(key)
            .ok_or_else(|| ArgError::UnknownFlag(key.clone()))?;
        json.insert(key.clone(), check_value(param, value)?);
    }
    for p in spec.params {
        if p.required && !json.contains_key(p.name) {
            return Err(ArgError::Missing(p.meta));
        }
    }
    typed(name, serde_json::Value::Object(json))
}

/// A value as the grammar reads it back: quoted when it is empty or holds blanks, quotes,
/// backslashes or `#` (what splitting the line cares about), as typed otherwise.
fn quoted(text: &str) -> String {
    let splits = text.is_empty()
        || text
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\' | '#'));
    if !splits {
        return text.to_string();
    }
    shlex::try_quote(text).map_or_else(|_| text.to_string(), |q| q.into_owned())
}

/// A message as the grammar reads it back: as typed, unless it would read as flags or
/// lose its quotes; then quoted with a quote it does not hold.
fn message_as_typed(text: &str) -> String {
    let wrapped = ['"', '\'']
        .iter()
        .any(|q| text.starts_with(*q) && text.ends_with(*q));
    if !text.starts_with("--") && !wrapped {
        return text.to_string();
    }
    match ['\'', '"'].iter().find(|q| !text.contains(**q)) {
        Some(q) => format!("{q}{text}{q}"),
        None => text.to_string(),
    }
}

/// Checks one value against its parameter's kind and returns it as JSON.
pub fn check_value(param: &Param, value: &ArgValue) -> Result<serde_json::Value, ArgError> {
    let bad = |value: &str, why: &str| ArgError::Bad {
        meta: param.meta,
        value: value.chars().take(80).collect(),
        why: why.to_string(),
    };
    match (param.kind, value) {
        (Kind::Switch, ArgValue::Switch(b)) => Ok((*b).into()),
        (Kind::Number { min, max }, ArgValue::Number(n)) if (min..=max).contains(n) => {
            Ok((*n).into())
        }
        (Kind::Number { min, max }, ArgValue::Number(n)) => Err(bad(
            &n.to_string(),
            &format!("give a number from {min} to {max}"),
        )),
        (Kind::Number { min, max }, ArgValue::Text(t)) => match t.parse::<u64>() {
            Ok(n) => check_value(param, &ArgValue::Number(n)),
            Err(_) => Err(bad(t, &format!("give a number from {min} to {max}"))),
        },
        (Kind::Name, ArgValue::Text(t)) => match instance_name_problem(t) {
            None => Ok(t.clone().into()),
            Some(why) => Err(bad(t, why)),
        },
        (Kind::Word, ArgValue::Text(t)) => {
            if !t.is_empty()
                && t.len() <= 40
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
            {
                Ok(t.to_ascii_lowercase().into())
            } else {
                Err(bad(t, "use letters, digits, dots and dashes"))
            }
        }
        (Kind::Version, ArgValue::Text(t)) => match version_problem(t) {
            None => Ok(t.clone().into()),
            Some(why) => Err(bad(t, why)),
        },
        (Kind::Place, ArgValue::Text(t)) if t.starts_with("ssh://") => {
            match crate::remote::ssh::Target::parse(t) {
                Ok(target) => Ok(target.url().into()),
                Err(why) => Err(bad(t, &why)),
            }
        }
        (Kind::Place, ArgValue::Text(t)) => {
            // A region (`nbg1`) or a provider's region (`hetzner/hel1`).
            let word = Param {
                kind: Kind::Word,
                ..*param
            };
            let mut parts = Vec::new();
            for part in t.splitn(2, '/') {
                match check_value(&word, &ArgValue::Text(part.to_string()))? {
                    serde_json::Value::String(p) => parts.push(p),
                    _ => return Err(bad(t, "give a region like nbg1 or hetzner/hel1")),
                }
            }
            Ok(parts.join("/").into())
        }
        (Kind::Key, ArgValue::Text(t)) => {
            if !t.is_empty()
                && t.len() <= 120
                && t.split('.').all(|p| {
                    !p.is_empty()
                        && p.chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                })
            {
                Ok(t.clone().into())
            } else {
                Err(bad(t, "write a dotted key like channels.telegram.dmPolicy"))
            }
        }
        (Kind::Text, ArgValue::Text(t)) => {
            if t.len() <= 2000 && !t.chars().any(char::is_control) {
                Ok(t.clone().into())
            } else {
                Err(bad("value", "give one line of at most 2000 characters"))
            }
        }
        (Kind::Secret, ArgValue::Text(t)) => {
            let t = t.trim();
            if crate::secrets::looks_like_bot_token(t) {
                crate::secrets::register(t);
                Ok(t.to_string().into())
            } else {
                // The value is never echoed: it may be a real token typed wrong.
                Err(ArgError::Bad {
                    meta: param.meta,
                    value: "••••".into(),
                    why: "a Telegram bot token is digits, a colon, then 30 or more letters, digits, _ or - (copy it again from @BotFather)".into(),
                })
            }
        }
        (Kind::Message, ArgValue::Text(t)) => {
            let t = t.trim();
            if !t.is_empty()
                && t.chars().count() <= 3500
                && !t.chars().any(|c| c.is_control() && c != '\n')
            {
                Ok(t.to_string().into())
            } else {
                Err(bad(
                    "message",
                    "give the message: at most 3500 characters, line breaks allowed",
                ))
            }
        }
        (Kind::Pattern, ArgValue::Text(t)) => {
            if !t.is_empty()
                && t.len() <= 63
                && t.chars().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '*' || c == '?'
                })
            {
                Ok(t.clone().into())
            } else {
                Err(bad(
                    t,
                    "use lowercase letters, digits, dashes and * or ? wildcards",
                ))
            }
        }
        (Kind::Switch, _) => Err(bad("value", "this option takes no value")),
        (_, ArgValue::Switch(_)) => Err(ArgError::NoValue(param.name)),
        (_, ArgValue::Number(n)) => check_value(param, &ArgValue::Text(n.to_string())),
    }
}

/// Whether the fields set a config key to a secret (at the key or inside the value).
fn secret_value(fields: &serde_json::Value) -> bool {
    let key = fields.get("key").and_then(serde_json::Value::as_str);
    let raw = fields.get("value").and_then(serde_json::Value::as_str);
    match (key, raw) {
        (Some(key), Some(raw)) => crate::secrets::config_carries_secret(
            key,
            &super::actions::lifecycle::config_value(raw),
        ),
        (Some(key), None) => crate::secrets::secret_key(key),
        _ => false,
    }
}

/// Why `name` cannot name an instance (it must be a DNS label: every cloud accepts it
/// as a server name), if it cannot.
pub fn instance_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 63 {
        return Some("an instance name has 1 to 63 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Some("use lowercase letters, digits and dashes, e.g. alice-bot");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Some("an instance name cannot start or end with a dash");
    }
    None
}

/// Why `version` cannot be an OpenClaw version, if it cannot: letters, digits, dots,
/// dashes and pluses, starting with a letter or digit, no `..`, up to 64 characters.
/// Case is kept (pre-release tags such as `-RC.1` may be upper-case).
pub fn version_problem(version: &str) -> Option<&'static str> {
    let ok_chars = version
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c));
    let starts = version
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    if version.is_empty() || version.len() > 64 || !ok_chars || !starts || version.contains("..") {
        return Some("give a version like 2026.9.6 (letters, digits, dots, dashes)");
    }
    None
}

impl Action {
    /// Whether the action carries a secret (a token given to /config): then its stored
    /// form is sealed and its shown form masked.
    pub fn carries_secret(&self) -> bool {
        match self {
            Action::Config(c) => c.carries_secret(),
            Action::Deploy(d) => d.telegram_token.is_some(),
            _ => false,
        }
    }

    /// The instances this action changes by name, held one action at a time (a bulk
    /// restart holds each instance as it goes instead).
    pub fn instances_changed(&self) -> Vec<String> {
        let one = |n: &String| vec![n.clone()];
        match self {
            Action::Deploy(a) => one(&a.name),
            Action::Destroy(a) => one(&a.name),
            // A rollout holds each instance while it changes it, not all at once.
            Action::Update(a) => a.instance.iter().cloned().collect(),
            Action::Config(a) if a.verb.as_deref() == Some("set") => {
                a.instance.iter().cloned().collect()
            }
            Action::Suspend(a) => one(&a.name),
            Action::Resume(a) => one(&a.name),
            Action::Backup(a) => one(&a.name),
            Action::Restore(a) => one(&a.name),
            Action::Migrate(a) => one(&a.name),
            Action::Recover(a) => one(&a.name),
            Action::Reboot(a) => one(&a.name),
            Action::Resize(a) => one(&a.name),
            Action::Repair(a) => one(&a.name),
            Action::Failover(a) => a.held(),
            Action::Failback(a) => a.held(),
            Action::Restart(a) => a.instance.iter().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the action grants access, changes credentials or changes exposure: from
    /// the LLM, such an action always waits for a person's press (gateway logs carry end
    /// users' text, which can steer the model).
    pub fn changes_access(&self) -> bool {
        match self {
            Action::Config(c) => {
                c.verb.as_deref() == Some("set")
                    && c.key.as_deref().is_some_and(|k| {
                        ["channels", "gateway"]
                            .iter()
                            .any(|root| k == *root || k.starts_with(&format!("{root}.")))
                    })
            }
            Action::Deploy(d) => {
                d.telegram_token.is_some()
                    || d.region.as_deref().is_some_and(|r| r.starts_with("ssh://"))
            }
            Action::Restore(_)
            | Action::Update(_)
            | Action::Unpin(_)
            | Action::Migrate(_)
            | Action::Recover(_)
            | Action::Approve(_)
            | Action::Send(_) => true,
            _ => false,
        }
    }

    /// The action in slash-command form, for the audit trail and confirmations. Holds no
    /// secret: no action argument is a secret.
    pub fn command_line(&self) -> String {
        let spec = self.spec();
        let fields = self.fields();
        let mut s = format!("/{}", spec.name);
        // Written so that it reads back as the same action: values quoted where the
        // grammar would split them, flags first and `--` before positional values that
        // start with dashes, and a message last, as typed (quoted when it would read
        // otherwise).
        let (mut flags, mut positional, mut message) = (Vec::new(), Vec::new(), None);
        let bulk = bulk_form(spec, &fields);
        let mut version = None;
        for p in spec.params {
            let text = match fields.get(p.name) {
                None | Some(serde_json::Value::Null) | Some(serde_json::Value::Bool(false)) => {
                    continue;
                }
                Some(serde_json::Value::Bool(true)) => {
                    flags.push(format!("--{}", p.name.replace('_', "-")));
                    continue;
                }
                // A secret given as a value (a bot token to /config) never reaches the
                // audit trail, the logs or a confirmation text.
                Some(_) if p.kind == Kind::Text && secret_value(&fields) => "••••".to_string(),
                Some(_) if p.kind == Kind::Secret => "••••".to_string(),
                Some(serde_json::Value::String(t)) => t.clone(),
                Some(other) => other.to_string(),
            };
            if p.kind == Kind::Message {
                message = Some(message_as_typed(&text));
            } else if bulk && p.name == "version" {
                // A bulk form names its version: `/update --all --version V`.
                version = Some(format!("--version {}", quoted(&text)));
            } else if p.flag {
                flags.push(format!("--{} {}", p.name.replace('_', "-"), quoted(&text)));
            } else {
                positional.push(quoted(&text));
            }
        }
        if let Some(v) = version {
            // After the selector, before the pace: `--all --version V --batch 5`.
            let at = flags
                .iter()
                .take_while(|f| !f.starts_with("--batch") && !f.starts_with("--pause"))
                .count();
            flags.insert(at, v);
        }
        let dashes = positional.iter().any(|v| v.starts_with("--"));
        if dashes {
            for f in &flags {
                s.push_str(&format!(" {f}"));
            }
            s.push_str(" --");
            for v in &positional {
                s.push_str(&format!(" {v}"));
            }
        } else if bulk {
            // `/config --all set KEY VALUE`: the selector first, as the grammar reads it.
            for v in flags.iter().chain(&positional) {
                s.push_str(&format!(" {v}"));
            }
        } else {
            for v in positional.iter().chain(&flags) {
                s.push_str(&format!(" {v}"));
            }
        }
        if let Some(m) = message {
            s.push_str(&format!(" {m}"));
        }
        // Set only by the door, never an argument: where a button press came from.
        if let Some(alert) = fields.get("alert").and_then(serde_json::Value::as_i64) {
            s.push_str(&format!(" (alert {alert})"));
        }
        if fields.get("hard") == Some(&serde_json::Value::Bool(true)) {
            s.push_str(" (the service, killed and started)");
        }
        if fields.get("rollback") == Some(&serde_json::Value::Bool(true)) {
            s.push_str(" (roll-back after a crash loop)");
        }
        s
    }
}

/// Whether `fields` are a bulk form of `spec`: it takes an optional instance NAME (and no
/// message) and a selector or `--all` is given.
fn bulk_form(spec: &Spec, fields: &serde_json::Value) -> bool {
    let optional_name = spec
        .params
        .iter()
        .any(|p| !p.flag && !p.required && p.kind == Kind::Name);
    let message = spec.params.iter().any(|p| p.kind == Kind::Message);
    let selected = ["status", "region", "provider", "name", "all"]
        .iter()
        .any(|f| {
            spec.params.iter().any(|p| p.flag && p.name == *f)
                && !matches!(
                    fields.get(*f),
                    None | Some(serde_json::Value::Null) | Some(serde_json::Value::Bool(false))
                )
        });
    optional_name && !message && selected
}
