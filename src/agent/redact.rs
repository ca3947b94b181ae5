//! Redaction: secrets are cut out of anything the model is about to read.

use std::sync::LazyLock;

use regex::Regex;

static PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // Private key blocks.
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
        // Telegram bot tokens.
        r"\b\d{6,12}:[A-Za-z0-9_-]{30,}",
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

/// `text` with every known secret shape, and every secret in `known`, replaced by
/// `[redacted]`.
pub fn redact(text: &str, known: &[String]) -> String {
    let mut out = text.to_string();
    for secret in known.iter().filter(|s| s.len() >= 6) {
        out = out.replace(secret.as_str(), "[redacted]");
    }
    for (i, re) in PATTERNS.iter().enumerate() {
        out = if i == PATTERNS.len() - 1 {
            re.replace_all(&out, "${1}[redacted]").into_owned()
        } else {
            re.replace_all(&out, "[redacted]").into_owned()
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
