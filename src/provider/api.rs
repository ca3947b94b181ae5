//! The HTTP side every cloud shares: JSON requests with a bearer token, retried with
//! exponential back-off and full jitter on 429, 5xx and timeouts, honouring `Retry-After`
//! and `RateLimit-Reset`, bounded in attempts and in total time.
//!
//! A request that creates something is not retried after a timeout or a 5xx (it may have
//! been done): the provider looks up what exists first. Owns no provider knowledge.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use thiserror::Error;

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The first back-off; each next one doubles, up to `cap`.
    pub base: Duration,
    pub cap: Duration,
    /// All attempts and waits together stay within this.
    pub budget: Duration,
    /// One request's own time limit.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(20),
            budget: Duration::from_secs(90),
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why a call failed after its retries.
#[derive(Debug, Error)]
pub enum ApiError {
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: Value },
    #[error("rate limited {attempts} times in a row; try again in a minute")]
    RateLimited { attempts: u32 },
    #[error("no answer within {secs}s")]
    Timeout { secs: u64 },
    #[error("cannot reach the API: {0}")]
    Network(String),
    #[error("the API's answer is not JSON: {0}")]
    Body(String),
}

impl ApiError {
    /// Whether the request may have been carried out although no answer said so.
    pub fn maybe_done(&self) -> bool {
        matches!(self, ApiError::Timeout { .. })
            || matches!(self, ApiError::Status { status, .. } if *status >= 500)
    }
}

/// Creates something a lookup can find again (a server, by its labels), once: a create
/// whose answer was lost (a timeout, a 5xx) or that conflicts with an existing name is
/// looked for first, and tried again only when it is not there (looked for once more
/// after the wait, in case the lost create lands late), within `policy`. The outer error
/// is the lookup's; the inner one, the create's last.
pub async fn create_once<T, E, C, F>(
    policy: &RetryPolicy,
    create: impl Fn() -> C,
    find: impl Fn() -> F,
) -> Result<Result<T, ApiError>, E>
where
    C: std::future::Future<Output = Result<T, ApiError>>,
    F: std::future::Future<Output = Result<Option<T>, E>>,
{
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let error = match create().await {
            Ok(made) => return Ok(Ok(made)),
            Err(e) if e.maybe_done() || matches!(e, ApiError::Status { status: 409, .. }) => e,
            Err(e) => return Ok(Err(e)),
        };
        if let Some(found) = find().await? {
            return Ok(Ok(found));
        }
        let wait = crate::retry::wait(policy.base, policy.cap, attempt);
        let conflict = matches!(error, ApiError::Status { status: 409, .. });
        if conflict || attempt >= policy.attempts || started.elapsed() + wait > policy.budget {
            return Ok(Err(error));
        }
        tracing::debug!(
            attempt,
            "a create's answer was lost and nothing was made: trying again ({error})"
        );
        tokio::time::sleep(wait).await;
        if let Some(found) = find().await? {
            return Ok(Ok(found));
        }
    }
}

/// One provider's API endpoint and credentials.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
    token: String,
    pub policy: RetryPolicy,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Api({}, token hidden)", self.base)
    }
}

impl Api {
    pub fn new(base: &str, token: &str, policy: RetryPolicy) -> Api {
        // TLS on rustls with ring, as the LLM client (installing twice is harmless).
        let _ = rustls::crypto::ring::default_provider().install_default();
        Api {
            client: reqwest::Client::builder()
                .timeout(policy.timeout)
                .user_agent(concat!("clawops/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default(),
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            policy,
        }
    }

    /// Sends a request that may be repeated safely (reads, deletes, actions on one id).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ApiError> {
        self.send(method, path, body, true).await
    }

    /// GETs `path`; a 404 is `None`.
    pub async fn get_optional(&self, path: &str) -> Result<Option<Value>, ApiError> {
        match self.call(Method::GET, path, None).await {
            Ok(v) => Ok(Some(v)),
            Err(ApiError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sends a request that creates something: retried only when the API said it did
    /// nothing (429) or the request never left (connection refused).
    pub async fn create(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        self.send(Method::POST, path, Some(body), false).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<Value, ApiError> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.once(method.clone(), path, body).await;
            let (error, hint) = match outcome {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            let retry = match &error {
                ApiError::Status { status: 429, .. } => true,
                ApiError::Network(_) => true,
                e if e.maybe_done() => idempotent,
                _ => false,
            };
            let wait = hint.unwrap_or_else(|| self.backoff(attempt));
            let out_of_time = started.elapsed() + wait > self.policy.budget;
            if !retry || attempt >= self.policy.attempts || out_of_time {
                return Err(match error {
                    ApiError::Status { status: 429, .. } => {
                        ApiError::RateLimited { attempts: attempt }
                    }
                    other => other,
                });
            }
            tracing::debug!(%path, attempt, wait_ms = wait.as_millis() as u64, "retrying: {error}");
            tokio::time::sleep(wait).await;
        }
    }

    /// Full jitter under the doubled base, capped (`retry`).
    fn backoff(&self, attempt: u32) -> Duration {
        crate::retry::wait(self.policy.base, self.policy.cap, attempt)
    }

    /// One request; on failure also the wait the server asked for, if any.
    async fn once(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, (ApiError, Option<Duration>)> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            request = request.json(b);
        }
        let response = request.send().await.map_err(|e| {
            let err = if e.is_timeout() {
                ApiError::Timeout {
                    secs: self.policy.timeout.as_secs(),
                }
            } else {
                ApiError::Network(e.to_string())
            };
            (err, None)
        })?;
        let status = response.status();
        let hint = retry_hint(response.headers());
        let text = response.text().await.map_err(|e| {
            let err = if e.is_timeout() {
                ApiError::Timeout {
                    secs: self.policy.timeout.as_secs(),
                }
            } else {
                ApiError::Network(e.to_string())
            };
            (err, None)
        })?;
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| (ApiError::Body(e.to_string()), None))?
        };
        if status.is_success() {
            return Ok(value);
        }
        let hint = if status == StatusCode::TOO_MANY_REQUESTS {
            hint
        } else {
            None
        };
        Err((
            ApiError::Status {
                status: status.as_u16(),
                body: value,
            },
            hint,
        ))
    }
}

/// `Retry-After` (seconds) or `RateLimit-Reset` (a Unix time), capped at a minute.
fn retry_hint(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let secs = number("retry-after").or_else(|| {
        number("ratelimit-reset").map(|reset| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            reset.saturating_sub(now)
        })
    })?;
    Some(Duration::from_secs(secs.min(60)))
}
