//! The host farm: one process that plays N running OpenClaw hosts on loopback, for the
//! bench and the fault drills. Each host has its own SSH host key and port (a `russh`
//! server) and answers what clawops does on a running host: the probe's exec, the
//! gateway's `/health` and `/readyz` and its WebSocket RPC through a forwarded channel,
//! log tails, service restarts and pairing lists; and also the one-line checks operators
//! script with `ssh` (`curl …/readyz`, `systemctl --user is-active …`, `cat /proc/loadavg`).
//!
//! Each host's behaviour is programmable while it runs ([`Behaviour`]: latency, a
//! [`Fault`], pending pairing requests, end users). The farm does not emulate installs:
//! its instances are put into a store as if deployed by [`seed`].
//!
//! `bot_api` is the fake Telegram Bot API the tests and the bench's chat rows talk to;
//! `llm_api` the fake LLM endpoint whose requests the bench counts in tokens.
//! Owns only pretend hosts and pretend services; it reads no store (but [`seed`] writes
//! one) and is never used by `clawops run`.

pub mod bot_api;
pub mod discord_api;
mod gateway;
pub mod llm_api;
pub mod seed;
mod shell;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use russh::keys::{PrivateKey, PublicKey};
use russh::server::{Auth, ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelId, ChannelOpenFailure};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The OpenClaw version farm hosts run.
pub const VERSION: &str = "2026.9.6";
/// The login user of farm hosts (clawops' service user).
pub const USER: &str = "clawops";

/// Why the farm could not start or be told something.
#[derive(Debug, Error)]
pub enum FarmError {
    #[error("cannot open a loopback port for farm host {host}: {source}")]
    Bind {
        host: String,
        source: std::io::Error,
    },
    #[error("no farm host is called {0:?}")]
    NoSuchHost(String),
    #[error("{0}")]
    Key(String),
}

/// What goes wrong on a host, one at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// Nothing: the gateway runs and is ready.
    #[default]
    None,
    /// Nothing listens on the SSH port (connection refused).
    Refused,
    /// The SSH port accepts and then says nothing (a host that hangs).
    Hang,
    /// sshd offers another host key (reinstalled, or someone in the middle).
    WrongHostKey,
    /// The gateway answers but its event loop is degraded (`/readyz`).
    DegradedEventLoop,
    /// The disk is full: the probe says 100 % and the gateway is not ready.
    DiskFull,
    /// The gateway's process is not running (its port refuses; service inactive).
    GatewayDown,
    /// The gateway's process runs but answers nothing (a hung event loop).
    GatewayHung,
    /// The service restarts the gateway over and over: down, and the restart count grows
    /// with every look.
    CrashLoop,
}

impl Fault {
    /// Every fault, for parsing and listing.
    pub const ALL: [Fault; 9] = [
        Fault::None,
        Fault::Refused,
        Fault::Hang,
        Fault::WrongHostKey,
        Fault::DegradedEventLoop,
        Fault::DiskFull,
        Fault::GatewayDown,
        Fault::GatewayHung,
        Fault::CrashLoop,
    ];

    fn gateway_runs(self) -> bool {
        !matches!(self, Fault::GatewayDown | Fault::CrashLoop)
    }
}

/// How one host behaves now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Behaviour {
    #[serde(default)]
    pub fault: Fault,
    /// Added before every answer (an exec's output, an HTTP reply, an RPC reply).
    #[serde(default, with = "humantime_serde")]
    pub latency: Option<Duration>,
    /// Pending pairing requests on Telegram.
    #[serde(default)]
    pub pending_pairing: u32,
    /// Approved senders (the end users the probe counts).
    #[serde(default)]
    pub end_users: u32,
}

/// What the farm saw, over all hosts.
#[derive(Debug, Default)]
pub struct Counters {
    /// TCP connections accepted on SSH ports.
    pub connections: AtomicU64,
    /// SSH logins that succeeded.
    pub logins: AtomicU64,
    /// Commands run (`exec`).
    pub execs: AtomicU64,
    /// Forwarded channels to the gateway port.
    pub forwards: AtomicU64,
    /// RPC calls answered (after `connect`).
    pub rpc_calls: AtomicU64,
}

/// The counters as numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub connections: u64,
    pub logins: u64,
    pub execs: u64,
    pub forwards: u64,
    pub rpc_calls: u64,
}

impl Counters {
    pub fn counts(&self) -> Counts {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Counts {
            connections: n(&self.connections),
            logins: n(&self.logins),
            execs: n(&self.execs),
            forwards: n(&self.forwards),
            rpc_calls: n(&self.rpc_calls),
        }
    }
}

/// One pretend host.
pub struct FarmHost {
    pub name: String,
    pub port: u16,
    public_key: PublicKey,
    /// sshd's settings with the host's key, and with another key offered instead under
    /// [`Fault::WrongHostKey`].
    configs: [Arc<russh::server::Config>; 2],
    state: Mutex<HostState>,
    counters: Arc<Counters>,
    /// Stops the SSH listener (for [`Fault::Refused`]).
    listening: Mutex<Option<CancellationToken>>,
    /// Ends the open SSH sessions (a host that goes away takes its connections along).
    cut: Mutex<CancellationToken>,
    /// The gateway port its forwarded channels must ask for.
    gateway_port: u16,
}

/// What changes on a host while it runs.
#[derive(Debug)]
struct HostState {
    behaviour: Behaviour,
    /// The instance's public key (the one login it accepts) and gateway token.
    authorized: Option<PublicKey>,
    token: Option<String>,
    /// When the gateway last started.
    started: Instant,
    /// Restarts the service made on its own (a crash loop grows it).
    restarts: u64,
    boot_id: String,
    /// Messages the bot was asked to send (`send`), as `to: text`.
    told: Vec<String>,
    /// Pairing requests decided so far.
    decided: u32,
}

/// A host's entry in the farm's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listed {
    pub name: String,
    pub port: u16,
    /// The host's SSH public key, OpenSSH format.
    pub host_key: String,
}

/// N hosts, each listening on its own loopback port.
pub struct Farm {
    hosts: Vec<Arc<FarmHost>>,
    counters: Arc<Counters>,
    stop: CancellationToken,
}

impl Farm {
    /// Starts `count` healthy hosts named `{prefix}-0000`…; `gateway_port` is the port
    /// clawops forwards to (its `[runtime] gateway_port`).
    pub async fn start(count: usize, prefix: &str, gateway_port: u16) -> Result<Farm, FarmError> {
        let counters = Arc::new(Counters::default());
        let stop = CancellationToken::new();
        let mut hosts = Vec::with_capacity(count);
        for i in 0..count {
            let name = format!("{prefix}-{i:04}");
            let listener =
                TcpListener::bind("127.0.0.1:0")
                    .await
                    .map_err(|source| FarmError::Bind {
                        host: name.clone(),
                        source,
                    })?;
            let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
            let host_key = crate::remote::ssh::new_key();
            let host = Arc::new(FarmHost {
                name,
                port,
                public_key: host_key.public_key().clone(),
                configs: [
                    server_config(host_key),
                    server_config(crate::remote::ssh::new_key()),
                ],
                state: Mutex::new(HostState {
                    behaviour: Behaviour::default(),
                    authorized: None,
                    token: None,
                    started: Instant::now(),
                    restarts: 0,
                    boot_id: hex::encode(rand::RngExt::random::<[u8; 6]>(&mut rand::rng())),
                    told: Vec::new(),
                    decided: 0,
                }),
                counters: counters.clone(),
                listening: Mutex::new(None),
                cut: Mutex::new(CancellationToken::new()),
                gateway_port,
            });
            host.listen(listener, stop.child_token());
            hosts.push(host);
        }
        Ok(Farm {
            hosts,
            counters,
            stop,
        })
    }

    /// Every host: name, port and host key.
    pub fn manifest(&self) -> Vec<Listed> {
        self.hosts.iter().map(|h| h.listed()).collect()
    }

    pub fn hosts(&self) -> &[Arc<FarmHost>] {
        &self.hosts
    }

    pub fn host(&self, name: &str) -> Result<&Arc<FarmHost>, FarmError> {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .ok_or_else(|| FarmError::NoSuchHost(name.to_string()))
    }

    pub fn counts(&self) -> Counts {
        self.counters.counts()
    }

    /// Lets `key` log in to `name` and makes `token` its gateway token.
    pub fn authorize(&self, name: &str, key: PublicKey, token: &str) -> Result<(), FarmError> {
        let host = self.host(name)?;
        let mut state = host.lock();
        state.authorized = Some(key);
        state.token = Some(token.to_string());
        Ok(())
    }

    /// Sets how `name` behaves from now on.
    pub async fn set(&self, name: &str, behaviour: Behaviour) -> Result<(), FarmError> {
        let host = self.host(name)?.clone();
        host.set(behaviour, self.stop.child_token()).await
    }

    /// Obeys one control line (the `clawops farm` child's stdin): `fault NAME FAULT`,
    /// `latency NAME DURATION`, `pairing NAME N`, `users NAME N`, `authorize NAME
    /// PUBLIC_KEY TOKEN` (the key as one OpenSSH line), `counts`. Answers one line.
    pub async fn obey(&self, line: &str) -> Result<String, FarmError> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let bad = |why: &str| FarmError::Key(format!("{line:?}: {why}"));
        match words.as_slice() {
            ["counts"] => Ok(serde_json::to_string(&self.counts()).unwrap_or_default()),
            ["authorize", name, algo, key, token] => {
                let key = PublicKey::from_openssh(&format!("{algo} {key}"))
                    .map_err(|e| bad(&e.to_string()))?;
                self.authorize(name, key, token)?;
                Ok("ok".into())
            }
            [verb, name, value] => {
                let mut behaviour = self.host(name)?.behaviour();
                match *verb {
                    "fault" => {
                        behaviour.fault = serde_json::from_value(serde_json::json!(value))
                            .map_err(|_| bad("no such fault"))?
                    }
                    "latency" => {
                        behaviour.latency = Some(
                            humantime::parse_duration(value).map_err(|e| bad(&e.to_string()))?,
                        )
                    }
                    "pairing" => behaviour.pending_pairing = value.parse().map_err(|_| bad("N"))?,
                    "users" => behaviour.end_users = value.parse().map_err(|_| bad("N"))?,
                    _ => return Err(bad("unknown verb")),
                }
                self.set(name, behaviour).await?;
                Ok("ok".into())
            }
            _ => Err(bad(
                "say fault|latency|pairing|users NAME VALUE, authorize NAME KEY TOKEN, or counts",
            )),
        }
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl FarmHost {
    fn lock(&self) -> std::sync::MutexGuard<'_, HostState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn listed(&self) -> Listed {
        Listed {
            name: self.name.clone(),
            port: self.port,
            host_key: self.public_key.to_openssh().unwrap_or_default(),
        }
    }

    pub fn address(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn behaviour(&self) -> Behaviour {
        self.lock().behaviour.clone()
    }

    /// What the bot was asked to send, oldest first.
    pub fn told(&self) -> Vec<String> {
        self.lock().told.clone()
    }

    /// How often the gateway was restarted by a command.
    pub fn restarts(&self) -> u64 {
        self.lock().restarts
    }

    async fn set(
        self: &Arc<Self>,
        behaviour: Behaviour,
        stop: CancellationToken,
    ) -> Result<(), FarmError> {
        let was = std::mem::replace(&mut self.lock().behaviour, behaviour.clone());
        if was.fault != behaviour.fault
            && matches!(
                behaviour.fault,
                Fault::Refused | Fault::Hang | Fault::WrongHostKey
            )
        {
            let mut cut = self.cut.lock().unwrap_or_else(|p| p.into_inner());
            cut.cancel();
            *cut = CancellationToken::new();
        }
        match (
            was.fault == Fault::Refused,
            behaviour.fault == Fault::Refused,
        ) {
            (false, true) => {
                if let Some(listening) = self
                    .listening
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                {
                    listening.cancel();
                }
            }
            (true, false) => {
                let listener =
                    TcpListener::bind(self.address())
                        .await
                        .map_err(|source| FarmError::Bind {
                            host: self.name.clone(),
                            source,
                        })?;
                self.listen(listener, stop);
            }
            _ => {}
        }
        Ok(())
    }

    fn listen(self: &Arc<Self>, listener: TcpListener, stop: CancellationToken) {
        let token = stop.child_token();
        *self.listening.lock().unwrap_or_else(|p| p.into_inner()) = Some(token.clone());
        let host = self.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = token.cancelled() => break,
                    a = listener.accept() => a,
                };
                let Ok((socket, _)) = accepted else { continue };
                host.counters.connections.fetch_add(1, Ordering::Relaxed);
                let _ = socket.set_nodelay(true);
                let fault = host.behaviour().fault;
                if fault == Fault::Hang {
                    // Hold the socket open and say nothing until the client gives up.
                    let quiet = token.clone();
                    tokio::spawn(async move {
                        quiet.cancelled().await;
                        drop(socket);
                    });
                    continue;
                }
                let config = host.configs[usize::from(fault == Fault::WrongHostKey)].clone();
                let handler = Login {
                    host: host.clone(),
                    execs: Default::default(),
                };
                let cut = host.cut.lock().unwrap_or_else(|p| p.into_inner()).clone();
                tokio::spawn(async move {
                    let Ok(session) = russh::server::run_stream(config, socket, handler).await
                    else {
                        return;
                    };
                    let handle = session.handle();
                    tokio::select! {
                        _ = session => {}
                        _ = cut.cancelled() => {
                            let _ = handle
                                .disconnect(
                                    russh::Disconnect::ByApplication,
                                    "the host went away".into(),
                                    "en".into(),
                                )
                                .await;
                        }
                    }
                });
            }
        });
    }

    /// Waits the host's latency, if any.
    async fn delay(&self) {
        let latency = self.lock().behaviour.latency;
        if let Some(d) = latency {
            tokio::time::sleep(d).await;
        }
    }
}

/// sshd's settings for a host with `key`.
fn server_config(key: PrivateKey) -> Arc<russh::server::Config> {
    Arc::new(russh::server::Config {
        keys: vec![key],
        // A hang must look like a hang to the client, not a quick goodbye.
        inactivity_timeout: Some(Duration::from_secs(3600)),
        auth_rejection_time: Duration::from_millis(50),
        auth_rejection_time_initial: Some(Duration::ZERO),
        nodelay: true,
        ..Default::default()
    })
}

/// One SSH connection to a farm host.
struct Login {
    host: Arc<FarmHost>,
    /// Session channels and what they were asked to run (stdin follows until EOF).
    execs: std::collections::HashMap<ChannelId, Exec>,
}

#[derive(Default)]
struct Exec {
    channel: Option<Channel<Msg>>,
    command: Option<String>,
    stdin: Vec<u8>,
}

impl russh::server::Handler for Login {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(self.accepts(offer.public_key))
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let auth = if user == USER {
            self.accepts(key.public_key)
        } else {
            Auth::reject()
        };
        if matches!(auth, Auth::Accept) {
            self.host.counters.logins.fetch_add(1, Ordering::Relaxed);
        }
        Ok(auth)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let id = channel.id();
        self.execs.insert(
            id,
            Exec {
                channel: Some(channel),
                ..Default::default()
            },
        );
        reply.accept().await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(exec) = self.execs.get_mut(&channel) else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        exec.command = Some(String::from_utf8_lossy(data).into_owned());
        self.host.counters.execs.fetch_add(1, Ordering::Relaxed);
        session.channel_success(channel)?;
        // A one-line check needs no stdin: OpenSSH's `ssh host cmd` sends EOF at once
        // anyway, and clawops always sends EOF after its script.
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(exec) = self.execs.get_mut(&channel)
            && exec.stdin.len() + data.len() <= 1 << 20
        {
            exec.stdin.extend_from_slice(data);
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(mut exec) = self.execs.remove(&channel) else {
            return Ok(());
        };
        let (Some(channel), Some(command)) = (exec.channel.take(), exec.command.take()) else {
            return Ok(());
        };
        let host = self.host.clone();
        tokio::spawn(async move {
            host.delay().await;
            let answer = shell::run(&host, &command, &exec.stdin);
            if !answer.stdout.is_empty() {
                let _ = channel.data_bytes(answer.stdout).await;
            }
            if !answer.stderr.is_empty() {
                let _ = channel.extended_data_bytes(1, answer.stderr).await;
            }
            let _ = channel.exit_status(answer.status).await;
            let _ = channel.eof().await;
            let _ = channel.close().await;
        });
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        _host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let fault = self.host.behaviour().fault;
        if port_to_connect != u32::from(self.host.gateway_port) || !fault.gateway_runs() {
            reply.reject(ChannelOpenFailure::ConnectFailed).await;
            return Ok(());
        }
        self.host.counters.forwards.fetch_add(1, Ordering::Relaxed);
        reply.accept().await;
        let host = self.host.clone();
        tokio::spawn(async move { gateway::serve(host, channel.into_stream()).await });
        Ok(())
    }
}

impl Login {
    fn accepts(&self, key: &PublicKey) -> Auth {
        let state = self.host.lock();
        match &state.authorized {
            Some(k) if k.key_data() == key.key_data() => Auth::Accept,
            _ => Auth::reject(),
        }
    }
}
