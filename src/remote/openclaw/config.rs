//! The gateway's config file as clawops keeps it: the keys clawops manages (the gateway
//! block, the log file), the gateway and bot tokens (sealed in the vault, written on the
//! host in files of mode 0600), reading and writing `openclaw.json` with OpenClaw's own
//! check before a change is kept, and the dotted-key helpers `/config` uses.

use serde_json::{Value, json};

use super::*;

impl OpenclawHost {
    /// The gateway token of this instance, made and sealed on first need.
    pub(super) async fn gateway_token(&self) -> Result<String, RemoteError> {
        self.secret_or_new("gateway-token").await
    }

    pub(super) async fn secret_or_new(&self, name: &str) -> Result<String, RemoteError> {
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
    pub(super) async fn bot_token(&self) -> Result<Option<String>, RemoteError> {
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
    pub(super) async fn read_config(&self) -> Result<(String, Option<Value>), RemoteError> {
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

    /// The bot's command owner given at deploy, if any.
    async fn deploy_owner(&self) -> Result<Option<String>, RemoteError> {
        let row = self
            .access
            .store
            .instance(&self.instance)
            .await
            .map_err(state)?;
        Ok(row
            .filter(|r| r.owner_from.as_deref() == Some("deploy"))
            .and_then(|r| r.owner))
    }

    /// `current` with clawops' managed keys set.
    pub(super) async fn managed_config(
        &self,
        home: &str,
        current: Option<Value>,
    ) -> Result<Value, RemoteError> {
        let bot = self.bot_token().await?;
        self.managed_config_with(home, current, bot).await
    }

    /// `current` with clawops' managed keys set, and `bot` as the Telegram bot token.
    pub(super) async fn managed_config_with(
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
        // The command owner named at deploy (`--owner`), unless OpenClaw has one already
        // (its first approval sets it, and clawops keeps what it set).
        let owner_set = get_dotted(&config, "commands.ownerAllowFrom")
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty());
        if !owner_set && let Some(owner) = self.deploy_owner().await? {
            set_dotted(&mut config, "commands.ownerAllowFrom", json!([owner]))
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
    pub(super) async fn write_config(
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

    /// `/config set`: one key changed, checked by OpenClaw before it is kept.
    pub(super) async fn change_config(
        &self,
        key: &str,
        value: Value,
    ) -> Result<String, RemoteError> {
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
        self.apply_by_restart().await
    }

    /// Removes dotted `key` from the config (a rollout putting back a key it added).
    pub(super) async fn remove_config(&self, key: &str) -> Result<String, RemoteError> {
        if let Some(managed) =
            managed_key(key).or(overlaps(key, BOT_TOKEN_KEY).then_some(BOT_TOKEN_KEY))
        {
            return Err(RemoteError::Refused(format!(
                "{key} is not removed by a config change ({managed} is clawops' to manage)"
            )));
        }
        let (home, current) = self.read_config().await?;
        let mut config = current.clone().unwrap_or_else(|| json!({}));
        if !remove_dotted(&mut config, key) {
            return Ok(format!("{key} was not set"));
        }
        let bot = self.bot_token().await?;
        let config = self.managed_config_with(&home, Some(config), bot).await?;
        self.write_config(&config, current.as_ref()).await?;
        self.apply_by_restart().await
    }

    /// Not every key is hot-reloaded (a new channel needs a start): restart to apply.
    async fn apply_by_restart(&self) -> Result<String, RemoteError> {
        match self.service_status().await? {
            (true, false) => Ok(format!(
                "applied by a gateway restart: {}",
                self.start_and_wait("restart").await?
            )),
            _ => Ok("the gateway is stopped; it applies on its next start".into()),
        }
    }
}

/// The dotted keys whose values differ between `before` and `after` (leaves, and the
/// top of a subtree that is there in only one).
pub fn changed_keys(before: &Value, after: &Value) -> Vec<String> {
    fn walk(before: &Value, after: &Value, at: &str, out: &mut Vec<String>) {
        match (before, after) {
            (Value::Object(b), Value::Object(a)) => {
                let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
                for k in keys {
                    let path = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    let null = Value::Null;
                    walk(
                        b.get(k).unwrap_or(&null),
                        a.get(k).unwrap_or(&null),
                        &path,
                        out,
                    );
                }
            }
            (b, a) if b != a => out.push(at.to_string()),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(before, after, "", &mut out);
    out
}

/// `config` without a Telegram bot token, its channel disabled.
pub fn strip_channel(config: &mut Value) {
    if let Some(telegram) = config
        .get_mut("channels")
        .and_then(|c| c.get_mut("telegram"))
        .and_then(Value::as_object_mut)
    {
        telegram.remove("botToken");
        telegram.insert("enabled".into(), json!(false));
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

/// Removes dotted `key` from `config`; whether it was there.
pub fn remove_dotted(config: &mut Value, key: &str) -> bool {
    let Some((parent, last)) = key.rsplit_once('.').map_or(Some(("", key)), Some) else {
        return false;
    };
    let node = if parent.is_empty() {
        Some(config)
    } else {
        parent
            .split('.')
            .try_fold(config, |node, part| node.get_mut(part))
    };
    node.and_then(Value::as_object_mut)
        .is_some_and(|map| map.remove(last).is_some())
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
