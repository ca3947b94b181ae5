//! Tencent Cloud's request signature, TC3-HMAC-SHA256: the canonical request, the string
//! to sign, the derived signing key and the `Authorization` header. Pure functions, so the
//! official worked example and a fake API server can both check them.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

/// What one signed request is made of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// e.g. `cvm`.
    pub service: &'a str,
    /// e.g. `cvm.tencentcloudapi.com`.
    pub host: &'a str,
    /// The `Content-Type` header, exactly as sent.
    pub content_type: &'a str,
    /// The JSON body, exactly as sent.
    pub payload: &'a str,
    /// Seconds since the epoch (the `X-TC-Timestamp` header).
    pub timestamp: i64,
}

/// The hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The UTC date of a timestamp, as the credential scope wants it (`2019-02-25`).
pub fn date(timestamp: i64) -> String {
    chrono::DateTime::from_timestamp(timestamp, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "1970-01-01".into())
}

/// The canonical request (POST to `/`, no query string, headers content-type and host).
pub fn canonical_request(r: &Request<'_>) -> String {
    format!(
        "POST\n/\n\ncontent-type:{}\nhost:{}\n\ncontent-type;host\n{}",
        r.content_type,
        r.host,
        sha256_hex(r.payload.as_bytes())
    )
}

/// The string to sign.
pub fn string_to_sign(r: &Request<'_>) -> String {
    format!(
        "TC3-HMAC-SHA256\n{}\n{}/{}/tc3_request\n{}",
        r.timestamp,
        date(r.timestamp),
        r.service,
        sha256_hex(canonical_request(r).as_bytes())
    )
}

/// The hex signature of a request with `secret_key`.
pub fn signature(secret_key: &str, r: &Request<'_>) -> String {
    let secret_date = hmac(format!("TC3{secret_key}").as_bytes(), &date(r.timestamp));
    let secret_service = hmac(&secret_date, r.service);
    let secret_signing = hmac(&secret_service, "tc3_request");
    hex::encode(hmac(&secret_signing, &string_to_sign(r)))
}

/// The `Authorization` header value.
pub fn authorization(secret_id: &str, secret_key: &str, r: &Request<'_>) -> String {
    format!(
        "TC3-HMAC-SHA256 Credential={secret_id}/{}/{}/tc3_request, SignedHeaders=content-type;host, Signature={}",
        date(r.timestamp),
        r.service,
        signature(secret_key, r)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tencent's official worked example (CVM DescribeInstances).
    #[test]
    fn the_official_example_signs_as_documented() {
        let r = Request {
            service: "cvm",
            host: "cvm.tencentcloudapi.com",
            content_type: "application/json; charset=utf-8",
            payload: r#"{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}"#,
            timestamp: 1551113065,
        };
        assert_eq!(date(r.timestamp), "2019-02-25");
        assert_eq!(
            sha256_hex(r.payload.as_bytes()),
            "35e9c5b0e3ae67532d3c9f17ead6c90222632e5b1ff7f6e89887f1398934f064"
        );
        assert_eq!(
            signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", &r),
            "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168"
        );
        let auth = authorization(
            "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
            "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
            &r,
        );
        assert!(auth.starts_with("TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, SignedHeaders=content-type;host, Signature=72e494ea"));
    }
}
