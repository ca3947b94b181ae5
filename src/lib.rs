//! clawops: run a fleet of OpenClaw gateways from a chat.
//!
//! # Layout
//!
//! - [`config`]: the TOML configuration, environment overrides for secrets, validation.
//! - [`actor`]: who asks (a person on a platform, or the system); a leaf.
//! - [`secrets`]: what is secret, and redaction everywhere; a leaf.
//! - [`chart`]: the briefing's PNG chart of health and cost (embedded font).
//! - [`chat`]: the `Inbound`/`Outbound` model, rendering, and one adapter per surface
//!   (the console and Telegram).
//! - [`bot`]: what happens to one inbound message or button press on any surface; every
//!   reply leaves through a redacting replier.
//! - [`agent`]: the LLM operator: free text through the same tools and the same door.
//! - [`command`]: the slash-command grammar, generated from the action catalogue.
//! - [`ops`]: the `Action` catalogue and the one door every action passes: role check,
//!   confirmation, audit, execution; per-instance locks; plans (`ops::plan`: work of
//!   several steps that survives a crash, resumed or rolled back at start-up); the watch's
//!   jobs: the health sweep (`ops::sweep`), alerts (`ops::alerts`), the heal ladder and
//!   the brake (`ops::heal`), pairing requests (`ops::pairing`).
//! - [`deploy`]: deploys as persisted, resumable steps with check and apply.
//! - [`provider`]: the cloud trait and its implementations (the simulated cloud, hosts
//!   you have over SSH, Hetzner, DigitalOcean, Vultr, Tencent).
//! - [`remote`]: reaching a host: SSH (`ssh`), keys, pins and sessions (`access`), a real
//!   OpenClaw host (`openclaw`: its config file in `openclaw::config`, the deploy's host
//!   steps in `openclaw::steps`), backup archives (`archive`).
//! - [`gateway`]: a running gateway's HTTP probes and WebSocket RPC.
//! - [`monitor`]: the health score 0-100 and the instance states.
//! - [`store`]: all state in one SQLite file; the only module with SQL; the states rows
//!   are in as enums (`store::states`).
//! - [`vault`]: secrets at rest, sealed under keys derived from the master key.
//! - [`audit`]: the keyed (HMAC) chain, its head witness and its verifier.
//! - [`jobs`]: the scheduler: which jobs run when, catch-up after a stop, no stacking.
//! - [`metrics`]: Prometheus figures of the fleet and clawops itself; the heartbeat ping.
//! - [`schedule`]: 5-field POSIX cron in an IANA zone and `next_fire`, right across DST.
//! - [`app`]: putting the parts together at start-up, and stopping them.
//! - [`retry`]: the one back-off rule (exponential, capped, full jitter); a leaf.
//! - [`clock`]: injectable time.

pub mod actor;
pub mod agent;
pub mod app;
pub mod audit;
pub mod bench;
pub mod bot;
pub mod chart;
pub mod chat;
pub mod clock;
pub mod command;
pub mod config;
pub mod deploy;
pub mod farm;
pub mod gateway;
pub mod jobs;
pub mod metrics;
pub mod monitor;
pub mod offsite;
pub mod ops;
pub mod provider;
pub mod remote;
pub mod retry;
pub mod schedule;
pub mod secrets;
pub mod store;
pub mod vault;
