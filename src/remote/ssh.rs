//! The SSH client (russh): connect with a key or a password, check the host key against
//! the pinned one, run a command with a timeout (stdin in, stdout/stderr/exit status out),
//! and forward a local loopback port to a port on the host's loopback.
//!
//! Owns the wire only: which key to use and which host key is pinned are decided by the
//! caller (the SSH provider); nothing here reads the store.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use russh::client::{self, Handle};
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey};
use russh::{ChannelMsg, Disconnect};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How long to wait for TCP, the handshake and authentication.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// The most output (stdout and stderr together) one command may print into memory.
pub const OUTPUT_CAP: usize = 8 << 20;

/// Why an SSH operation failed, told apart the way an operator needs them.
#[derive(Debug, Error)]
pub enum SshError {
    #[error("{target}: connection refused (is sshd running and the port right?)")]
    Refused { target: String },
    #[error("{target}: {what} timed out after {secs}s")]
    Timeout {
        target: String,
        what: String,
        secs: u64,
    },
    #[error("{target}: the host does not accept {method} for user {user}")]
    AuthFailed {
        target: String,
        user: String,
        method: &'static str,
    },
    #[error(
        "{target}: the host key changed! pinned {pinned}, offered {offered}. Nothing was sent. Someone may be in the middle, or the host was reinstalled: check it by hand; if the new key is right, /unpin {target} forgets the old one"
    )]
    HostKeyChanged {
        target: String,
        pinned: String,
        offered: String,
    },
    #[error("{target}: cannot reach the host: {detail}")]
    Network { target: String, detail: String },
    #[error("{target}: SSH failed: {detail}")]
    Protocol { target: String, detail: String },
    #[error(
        "{target}: the command {command:?} printed more than {cap} bytes; it was stopped and its output dropped"
    )]
    TooMuchOutput {
        target: String,
        command: String,
        cap: usize,
    },
    #[error("{target}: cannot write what the command printed: {detail}")]
    Sink { target: String, detail: String },
}

/// Where to log in: `ssh://user@host:port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub user: String,
    pub host: String,
    pub port: u16,
}

impl Target {
    /// Parses `ssh://user@host[:port]` (also `user@host[:port]`); the user is required.
    pub fn parse(text: &str) -> Result<Target, String> {
        let rest = text.strip_prefix("ssh://").unwrap_or(text);
        let (user, hostport) = rest
            .split_once('@')
            .ok_or_else(|| format!("{text:?}: give the user too, like ssh://root@203.0.113.5"))?;
        let number = |p: &str| {
            p.parse::<u16>()
                .map_err(|_| format!("{text:?}: the port {p:?} is not a number"))
        };
        let (host, port) = if let Some(inner) = hostport.strip_prefix('[') {
            // [IPv6] or [IPv6]:port
            let (h, after) = inner
                .split_once(']')
                .ok_or_else(|| format!("{text:?}: a [ without its ]"))?;
            match after {
                "" => (h, 22),
                _ => match after.strip_prefix(':') {
                    Some(p) => (h, number(p)?),
                    None => return Err(format!("{text:?}: write the port as [address]:port")),
                },
            }
        } else if hostport.matches(':').count() > 1 {
            // An IPv6 address without brackets: it has no port.
            (hostport, 22)
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, number(p)?),
                None => (hostport, 22),
            }
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let valid_user = !user.is_empty()
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        let valid_host = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:".contains(c));
        if !valid_user || !valid_host || port == 0 {
            return Err(format!(
                "{text:?} is not an SSH address; write ssh://user@host or ssh://user@host:port"
            ));
        }
        Ok(Target {
            user: user.to_string(),
            host: host.to_string(),
            port,
        })
    }

    /// `ssh://user@host:port`.
    pub fn url(&self) -> String {
        if self.host.contains(':') {
            format!("ssh://{}@[{}]:{}", self.user, self.host, self.port)
        } else {
            format!("ssh://{}@{}:{}", self.user, self.host, self.port)
        }
    }

    /// The `ssh` command an operator types to look by hand.
    pub fn hand_command(&self, key_file: &str) -> String {
        format!(
            "ssh -i {key_file} -p {} {}@{}",
            self.port, self.user, self.host
        )
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.url())
    }
}

/// How to log in.
#[derive(Clone)]
pub enum Credential {
    Key(Arc<PrivateKey>),
    Password(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Key(k) => write!(f, "Key({})", fingerprint(k.public_key())),
            Credential::Password(_) => f.write_str("Password(<hidden>)"),
        }
    }
}

/// What a command printed and how it exited.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    /// The exit status; `None` when the command was killed by a signal.
    pub status: Option<u32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn ok(&self) -> bool {
        self.status == Some(0)
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// The last `n` lines of stdout and stderr together, for an error message.
    pub fn tail(&self, n: usize) -> String {
        let all = format!("{}{}", self.stdout_text(), self.stderr_text());
        let lines: Vec<&str> = all.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

/// The SHA-256 fingerprint of a public key, as `ssh-keygen -l` prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Checks the host key during the handshake and remembers the one offered.
struct Checker {
    pinned: Option<PublicKey>,
    offered: Arc<Mutex<Option<PublicKey>>>,
    /// Only read the key, then hang up.
    scan_only: bool,
}

impl client::Handler for Checker {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        offered: &russh::keys::PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } = offered else {
            return Ok(false);
        };
        if let Ok(mut seen) = self.offered.lock() {
            *seen = Some(key.clone());
        }
        if self.scan_only {
            return Ok(false);
        }
        // Equality of the key data only: the comment is not part of the key.
        Ok(match &self.pinned {
            Some(pinned) => pinned.key_data() == key.key_data(),
            None => true,
        })
    }
}

/// One logged-in SSH connection. Commands and tunnels share it.
pub struct Session {
    handle: Arc<Handle<Checker>>,
    target: Target,
    host_key: PublicKey,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({})", self.target)
    }
}

impl Session {
    /// Connects and logs in. With `pinned`, a host offering another key is refused with
    /// both fingerprints; without, the offered key is accepted and returned by
    /// [`Session::host_key`] so the caller can pin it.
    pub async fn connect(
        target: &Target,
        credential: &Credential,
        pinned: Option<&PublicKey>,
    ) -> Result<Session, SshError> {
        Session::connect_within(target, credential, pinned, CONNECT_TIMEOUT).await
    }

    /// [`Session::connect`] with its own time limit for each of TCP+handshake and login.
    pub async fn connect_within(
        target: &Target,
        credential: &Credential,
        pinned: Option<&PublicKey>,
        limit: Duration,
    ) -> Result<Session, SshError> {
        let offered = Arc::new(Mutex::new(None));
        let checker = Checker {
            pinned: pinned.cloned(),
            offered: offered.clone(),
            scan_only: false,
        };
        let config = Arc::new(client::Config {
            inactivity_timeout: Some(Duration::from_secs(600)),
            keepalive_interval: Some(Duration::from_secs(30)),
            nodelay: true,
            ..Default::default()
        });
        let name = target.url();
        let addr = (target.host.as_str(), target.port);
        let connecting = client::connect(config, addr, checker);
        let mut handle = match tokio::time::timeout(limit, connecting).await {
            Err(_) => return Err(timeout(target, "connecting", limit)),
            Ok(Ok(handle)) => handle,
            Ok(Err(e)) => {
                let seen = offered.lock().ok().and_then(|s| s.clone());
                return Err(connect_error(target, e, pinned, seen.as_ref()));
            }
        };
        let host_key =
            offered
                .lock()
                .ok()
                .and_then(|s| s.clone())
                .ok_or_else(|| SshError::Protocol {
                    target: name.clone(),
                    detail: "the host offered no key".into(),
                })?;
        let login = login(&mut handle, target, credential);
        match tokio::time::timeout(limit, login).await {
            Err(_) => Err(timeout(target, "logging in", limit)),
            Ok(Err(e)) => Err(e),
            Ok(Ok(())) => Ok(Session {
                handle: Arc::new(handle),
                target: target.clone(),
                host_key,
            }),
        }
    }

    /// The host key `target` offers, read in the handshake; nothing is sent to log in.
    pub async fn host_key_of(target: &Target, limit: Duration) -> Result<PublicKey, SshError> {
        let offered = Arc::new(Mutex::new(None));
        // A checker that pins an impossible key: the handshake stops right after the
        // host has shown its key, before any credential could be offered.
        let checker = Checker {
            pinned: None,
            offered: offered.clone(),
            scan_only: true,
        };
        let config = Arc::new(client::Config::default());
        let connecting = client::connect(config, (target.host.as_str(), target.port), checker);
        let result = tokio::time::timeout(limit, connecting).await;
        let seen = offered.lock().ok().and_then(|s| s.clone());
        match (seen, result) {
            (Some(key), _) => Ok(key),
            (None, Err(_)) => Err(timeout(target, "reading the host key", limit)),
            (None, Ok(Err(e))) => Err(connect_error(target, e, None, None)),
            (None, Ok(Ok(_))) => Err(SshError::Protocol {
                target: target.url(),
                detail: "the host offered no key".into(),
            }),
        }
    }

    /// The key the host offered.
    pub fn host_key(&self) -> &PublicKey {
        &self.host_key
    }

    /// Whether the connection is gone (then connect again).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// Runs `command` through the user's shell, feeding it `stdin`, and waits for it to
    /// exit for at most `limit`.
    pub async fn run(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        limit: Duration,
    ) -> Result<Output, SshError> {
        match tokio::time::timeout(limit, self.run_unbounded(command, stdin)).await {
            Ok(result) => result,
            Err(_) => Err(SshError::Timeout {
                target: self.target.url(),
                what: format!("the command {:?}", summary(command)),
                secs: limit.as_secs(),
            }),
        }
    }

    async fn run_unbounded(&self, command: &str, stdin: Option<&[u8]>) -> Result<Output, SshError> {
        let mut stdout = Vec::new();
        let (status, stderr) = self
            .run_streaming(command, stdin, &mut stdout, OUTPUT_CAP)
            .await?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// Runs `command` like [`Session::run`], but writes its stdout to `sink` as it
    /// arrives (at most `cap` bytes; more stops the command with an error); stderr is
    /// kept in memory up to [`OUTPUT_CAP`]. Returns the exit status and stderr.
    pub async fn run_to(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        sink: &mut (dyn std::io::Write + Send),
        cap: usize,
        limit: Duration,
    ) -> Result<(Option<u32>, Vec<u8>), SshError> {
        let running = self.run_streaming(command, stdin, sink, cap);
        match tokio::time::timeout(limit, running).await {
            Ok(result) => result,
            Err(_) => Err(SshError::Timeout {
                target: self.target.url(),
                what: format!("the command {:?}", summary(command)),
                secs: limit.as_secs(),
            }),
        }
    }

    async fn run_streaming(
        &self,
        command: &str,
        stdin: Option<&[u8]>,
        sink: &mut (dyn std::io::Write + Send),
        cap: usize,
    ) -> Result<(Option<u32>, Vec<u8>), SshError> {
        let proto = |e: russh::Error| self.protocol(e);
        let mut channel = self.handle.channel_open_session().await.map_err(proto)?;
        channel.exec(true, command).await.map_err(proto)?;
        if let Some(bytes) = stdin {
            channel.data_bytes(bytes.to_vec()).await.map_err(proto)?;
        }
        channel.eof().await.map_err(proto)?;
        let too_much = || SshError::TooMuchOutput {
            target: self.target.url(),
            command: summary(command),
            cap,
        };
        let (mut written, mut stderr, mut status) = (0usize, Vec::new(), None);
        while let Some(msg) = channel.wait().await {
            match msg {
                ChannelMsg::Data { data } => {
                    written += data.len();
                    if written > cap {
                        let _ = channel.close().await;
                        return Err(too_much());
                    }
                    sink.write_all(&data).map_err(|e| SshError::Sink {
                        target: self.target.url(),
                        detail: e.to_string(),
                    })?;
                }
                ChannelMsg::ExtendedData { data, ext: 1 } => {
                    if stderr.len() + data.len() > OUTPUT_CAP {
                        let _ = channel.close().await;
                        return Err(too_much());
                    }
                    stderr.extend_from_slice(&data);
                }
                ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                ChannelMsg::Close => break,
                _ => {}
            }
        }
        Ok((status, stderr))
    }

    /// Forwards a new port on 127.0.0.1 here to `remote_port` on the host's loopback,
    /// until the returned tunnel is dropped.
    pub async fn forward(&self, remote_port: u16) -> Result<Tunnel, SshError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| SshError::Network {
                target: "127.0.0.1".into(),
                detail: format!("cannot open a local port for the tunnel: {e}"),
            })?;
        let local = listener.local_addr().map_err(|e| SshError::Network {
            target: "127.0.0.1".into(),
            detail: e.to_string(),
        })?;
        let stop = CancellationToken::new();
        let handle = self.handle.clone();
        let guard = stop.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = guard.cancelled() => break,
                    a = listener.accept() => a,
                };
                let Ok((mut socket, peer)) = accepted else {
                    continue;
                };
                let handle = handle.clone();
                tokio::spawn(async move {
                    let opened = handle
                        .channel_open_direct_tcpip(
                            "127.0.0.1",
                            u32::from(remote_port),
                            peer.ip().to_string(),
                            u32::from(peer.port()),
                        )
                        .await;
                    if let Ok(channel) = opened {
                        let mut stream = channel.into_stream();
                        let _ = tokio::io::copy_bidirectional(&mut socket, &mut stream).await;
                    }
                });
            }
        });
        Ok(Tunnel {
            local,
            _stop: stop.drop_guard(),
        })
    }

    /// Says goodbye to the host.
    pub async fn close(&self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "bye", "en")
            .await;
    }

    fn protocol(&self, e: russh::Error) -> SshError {
        SshError::Protocol {
            target: self.target.url(),
            detail: e.to_string(),
        }
    }
}

/// A local port forwarded to the host; closes when dropped.
#[derive(Debug)]
pub struct Tunnel {
    pub local: SocketAddr,
    _stop: tokio_util::sync::DropGuard,
}

async fn login(
    handle: &mut Handle<Checker>,
    target: &Target,
    credential: &Credential,
) -> Result<(), SshError> {
    let proto = |e: russh::Error| SshError::Protocol {
        target: target.url(),
        detail: e.to_string(),
    };
    let (result, method) = match credential {
        Credential::Key(key) => {
            let hash = handle.best_supported_rsa_hash().await.map_err(proto)?;
            let with_alg = PrivateKeyWithHashAlg::new(key.clone(), hash.flatten());
            (
                handle
                    .authenticate_publickey(&target.user, with_alg)
                    .await
                    .map_err(proto)?,
                "this key",
            )
        }
        Credential::Password(password) => (
            handle
                .authenticate_password(&target.user, password)
                .await
                .map_err(proto)?,
            "this password",
        ),
    };
    if result.success() {
        Ok(())
    } else {
        Err(SshError::AuthFailed {
            target: target.url(),
            user: target.user.clone(),
            method,
        })
    }
}

fn connect_error(
    target: &Target,
    e: russh::Error,
    pinned: Option<&PublicKey>,
    offered: Option<&PublicKey>,
) -> SshError {
    if let (Some(pinned), Some(offered)) = (pinned, offered)
        && pinned.key_data() != offered.key_data()
    {
        return SshError::HostKeyChanged {
            target: target.url(),
            pinned: fingerprint(pinned),
            offered: fingerprint(offered),
        };
    }
    match e {
        russh::Error::IO(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            SshError::Refused {
                target: target.url(),
            }
        }
        russh::Error::IO(io) => SshError::Network {
            target: target.url(),
            detail: io.to_string(),
        },
        other => SshError::Protocol {
            target: target.url(),
            detail: other.to_string(),
        },
    }
}

fn timeout(target: &Target, what: &str, limit: Duration) -> SshError {
    SshError::Timeout {
        target: target.url(),
        what: what.into(),
        secs: limit.as_secs(),
    }
}

/// The first line of a command, short, for messages (never its stdin).
fn summary(command: &str) -> String {
    let line = command.lines().next().unwrap_or("");
    let mut s: String = line.chars().take(60).collect();
    if line.len() > 60 || command.lines().nth(1).is_some() {
        s.push('…');
    }
    s
}

/// Makes a new Ed25519 key pair.
pub fn new_key() -> PrivateKey {
    let mut seed = [0u8; 32];
    rand::RngExt::fill(&mut rand::rng(), &mut seed);
    PrivateKey::from(russh::keys::ssh_key::private::Ed25519Keypair::from_seed(
        &seed,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_with_clear_errors() {
        let t = Target::parse("ssh://clawtest@127.0.0.1:2222").unwrap();
        assert_eq!(
            (t.user.as_str(), t.host.as_str(), t.port),
            ("clawtest", "127.0.0.1", 2222)
        );
        assert_eq!(Target::parse("root@host.example").unwrap().port, 22);
        assert_eq!(Target::parse("ssh://u@[::1]:22").unwrap().host, "::1");
        assert!(Target::parse("ssh://host").unwrap_err().contains("user"));
        assert!(Target::parse("ssh://u@h:xx").unwrap_err().contains("port"));
        assert!(Target::parse("ssh://u;rm@h").is_err());
        assert_eq!(t.url(), "ssh://clawtest@127.0.0.1:2222");
    }

    fn local(port: u16) -> Target {
        Target {
            user: "nobody".into(),
            host: "127.0.0.1".into(),
            port,
        }
    }

    #[tokio::test]
    async fn a_closed_port_is_refused_and_a_silent_one_times_out() {
        let key = Credential::Key(Arc::new(new_key()));
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let refused = Session::connect(&local(port), &key, None)
            .await
            .unwrap_err();
        assert!(matches!(refused, SshError::Refused { .. }), "{refused}");
        assert!(
            refused.to_string().contains("connection refused"),
            "{refused}"
        );

        // A peer that accepts and never speaks SSH.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = silent.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let (socket, _) = silent.accept().await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(socket);
        });
        let slow = Session::connect_within(&local(port), &key, None, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert!(matches!(slow, SshError::Timeout { .. }), "{slow}");
        held.abort();
    }

    #[test]
    fn new_keys_are_ed25519_and_distinct() {
        let a = new_key();
        let b = new_key();
        assert_eq!(a.algorithm(), russh::keys::Algorithm::Ed25519);
        assert_ne!(fingerprint(a.public_key()), fingerprint(b.public_key()));
    }
}
