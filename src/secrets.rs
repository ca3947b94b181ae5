//! What is secret, decided in one place: config keys that hold secrets (at any depth of a
//! JSON value), text shaped like a secret (bot tokens, API keys, private keys, gateway
//! tokens), and every secret this process knows by value (configured tokens, the master
//! key, the bootstrap password, each instance's gateway and bot tokens), registered once.
//! Masking, sealing decisions and redaction for chat replies, logs, audit rows, errors and
//! LLM requests all ask here. A leaf: it depends on nothing else in the crate.

use std::sync::{LazyLock, RwLock};

use regex::Regex;
use serde_json::Value;

/// What a redacted secret is replaced by.
pub const REDACTED: &str = "[redacted]";
/// What a masked config value is shown as.
pub const MASK: &str = "••••";
/// Secrets shorter than this are not matched by value (too many false hits).
const MIN_LEN: usize = 6;

static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // Private key blocks.
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        // Telegram bot tokens.
        // (No word boundary before the digits: in a Bot API URL the token follows "bot".)
        r"\d{6,12}:[A-Za-z0-9_-]{30,}",
        // OpenAI-style and similar API keys.
        r"\bsk-[A-Za-z0-9_-]{16,}",
        // Bearer tokens.
        r"(?i)bearer\s+[A-Za-z0-9._~+/-]{12,}=*",
        // token=…, "token": "…", api_key: … and the like.
        r#"(?i)("?(?:token|api_?key|secret|password)"?\s*[:=]\s*"?)[^\s",}]{6,}"#,
    ]
    .iter()
    .map(|p| Regex::new(p).expect("the redaction patterns are valid"))
    .collect()
});

/// A value alone that looks like a secret: a bot token, an API key, a private key, or a
/// gateway token (48 hex digits, as clawops makes them).
static SECRET_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)^\s*(?:
            \d{6,12}:[A-Za-z0-9_-]{30,}
          | sk-[A-Za-z0-9_-]{16,}
          | -----BEGIN\ [A-Z\ ]*PRIVATE\ KEY-----[\s\S]*
          | [0-9a-fA-F]{48}
        )\s*$",
    )
    .expect("the secret value pattern is valid")
});

/// Every secret this process knows by value.
static KNOWN: LazyLock<RwLock<Vec<String>>> = LazyLock::new(|| RwLock::new(Vec::new()));

/// Registers `secret` so that every later redaction cuts it out. Short or empty values
/// are ignored; registering twice is harmless.
/// Whether `text` holds something shaped like a Telegram bot token anywhere in it.
pub fn holds_bot_token(text: &str) -> bool {
    PATTERNS[1].is_match(text)
}

/// Whether `text` has the shape of a Telegram bot token: the bot's id, a colon, then 30
/// or more letters, digits, `_` or `-`.
pub fn looks_like_bot_token(text: &str) -> bool {
    text.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty()
            && id.len() <= 20
            && id.chars().all(|c| c.is_ascii_digit())
            && secret.len() >= 30
            && secret
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    })
}

pub fn register(secret: &str) {
    let secret = secret.trim();
    if secret.len() < MIN_LEN {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(|p| p.into_inner());
    if !known.iter().any(|k| k == secret) {
        known.push(secret.to_string());
        // Longest first, so a secret that contains another is cut whole.
        known.sort_by_key(|k| std::cmp::Reverse(k.len()));
    }
}

/// `text` with every registered secret replaced by `[redacted]`.
pub fn redact_known(text: &str) -> String {
    let known = KNOWN.read().unwrap_or_else(|p| p.into_inner());
    let mut out = None::<String>;
    for secret in known.iter() {
        let current = out.as_deref().unwrap_or(text);
        if current.contains(secret.as_str()) {
            out = Some(current.replace(secret.as_str(), REDACTED));
        }
    }
    out.unwrap_or_else(|| text.to_string())
}

/// `text` with every registered secret, every secret in `extra`, and every secret shape
/// replaced by `[redacted]`: what an LLM request, a host's output or an error may carry.
pub fn redact(text: &str, extra: &[String]) -> String {
    let mut out = redact_known(text);
    for secret in extra.iter().filter(|s| s.len() >= MIN_LEN) {
        out = out.replace(secret.as_str(), REDACTED);
    }
    for (i, re) in PATTERNS.iter().enumerate() {
        out = if i == PATTERNS.len() - 1 {
            re.replace_all(&out, format!("${{1}}{REDACTED}").as_str())
                .into_owned()
        } else {
            re.replace_all(&out, REDACTED).into_owned()
        };
    }
    out
}

/// Whether a config key names a secret: its last segment mentions a token, secret,
/// password, API key or private key.
pub fn secret_key(key: &str) -> bool {
    let last = key.rsplit('.').next().unwrap_or(key).to_ascii_lowercase();
    [
        "token",
        "secret",
        "password",
        "apikey",
        "api_key",
        "privatekey",
        "key",
    ]
    .iter()
    .any(|w| last.contains(w))
}

/// Whether a string value is shaped like a secret, or is one this process knows.
pub fn secret_text(text: &str) -> bool {
    if SECRET_VALUE.is_match(text) {
        return true;
    }
    let known = KNOWN.read().unwrap_or_else(|p| p.into_inner());
    known.iter().any(|k| text.contains(k.as_str()))
}

/// Whether `value` holds a secret anywhere: under a secret key at any depth, or as a
/// string shaped like one.
pub fn carries_secret(value: &Value) -> bool {
    match value {
        Value::Object(map) => map
            .iter()
            .any(|(k, v)| (secret_key(k) && !empty(v)) || carries_secret(v)),
        Value::Array(items) => items.iter().any(carries_secret),
        Value::String(s) => secret_text(s),
        _ => false,
    }
}

/// Whether setting config `key` to `value` puts a secret there.
pub fn config_carries_secret(key: &str, value: &Value) -> bool {
    (secret_key(key) && !empty(value)) || carries_secret(value)
}

/// `value` with every secret in it replaced by `••••`, at any depth.
pub fn mask(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if secret_key(k) && (v.is_string() || v.is_number()) {
                    *v = Value::String(MASK.into());
                } else {
                    mask(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask),
        Value::String(s) if secret_text(s) => *s = MASK.into(),
        _ => {}
    }
}

/// The value set at config `key`, as it may be shown: masked when it is a secret.
pub fn shown(key: &str, value: &Value) -> String {
    if secret_key(key) && !empty(value) {
        return MASK.into();
    }
    let mut v = value.clone();
    mask(&mut v);
    v.to_string()
}

/// Whether `value` holds a mask or redaction marker anywhere: writing one back would
/// replace a real secret with the marker.
pub fn holds_marker(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.values().any(holds_marker),
        Value::Array(items) => items.iter().any(holds_marker),
        Value::String(s) => s.contains(REDACTED) || s.contains(MASK),
        _ => false,
    }
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_cut_out() {
        let text = "bot 123456789:AAFakeTokenForTheLoopbackBotApi_0001 key sk-abcdefghijklmnopqrstu \
                    Authorization: Bearer abc.def.ghi-jkl gateway token=s3cr3tvalue \
                    -----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY----- mine=hunter22";
        let out = redact(text, &["hunter22".to_string()]);
        for secret in [
            "AAFakeToken",
            "sk-abc",
            "abc.def",
            "s3cr3t",
            "AAAA",
            "hunter22",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("bot [redacted]"));
    }

    #[test]
    fn a_bot_token_inside_a_bot_api_url_is_cut_out() {
        // How a gateway's error line names the Bot API call that failed.
        let line = "telegram: POST https://api.telegram.org/bot123456789:AAFakeTokenForTheLoopbackBotApi_0001/getUpdates failed: 409";
        let out = redact(line, &[]);
        assert!(!out.contains("AAFakeToken"), "{out}");
        assert!(out.contains("/getUpdates failed: 409"), "{out}");
    }

    #[test]
    fn hardening_12_a_secret_inside_a_parent_object_is_found_and_masked() {
        let v =
            json!({"botToken": "123456789:AAFakeTokenForTheLoopbackBotApi_0001", "enabled": true});
        assert!(config_carries_secret("channels.telegram", &v));
        assert!(config_carries_secret(
            "channels",
            &json!({"telegram": {"accounts": [{"apiKey": "abcdefgh"}]}})
        ));
        // By shape alone, under an innocent key.
        assert!(config_carries_secret(
            "channels.telegram.note",
            &json!("123456789:AAFakeTokenForTheLoopbackBotApi_0001")
        ));
        assert!(!config_carries_secret("logging.level", &json!("debug")));
        assert!(!config_carries_secret(
            "channels.telegram",
            &json!({"dmPolicy": "pairing"})
        ));
        let shown = shown("channels.telegram", &v);
        assert!(!shown.contains("AAFake") && shown.contains(MASK), "{shown}");
    }

    #[test]
    fn hardening_15_registered_secrets_are_cut_out_wherever_they_appear() {
        register("s3cr3t-master-key-hex-0123456789");
        let said = redact_known("key s3cr3t-master-key-hex-0123456789 in an error");
        assert_eq!(said, "key [redacted] in an error");
        register("abc"); // too short to register
        assert_eq!(redact_known("abc"), "abc");
    }

    #[test]
    fn hardening_16_markers_are_found_at_any_depth() {
        assert!(holds_marker(&json!({"a": ["x", "[redacted]"]})));
        assert!(holds_marker(&json!("••••")));
        assert!(!holds_marker(&json!({"a": "b"})));
    }
}
