//! clawops: run a fleet of OpenClaw gateways from a chat.
//!
//! # Layout
//!
//! - [`config`]: the TOML configuration, environment overrides for secrets, validation.
//! - [`chat`]: the `Inbound`/`Outbound` model, rendering, and one adapter per surface
//!   (the console now; Telegram and Discord plug in beside it).
//! - [`bot`]: what happens to one inbound message or button press on any surface.
//! - [`agent`]: the LLM operator: free text through the same tools and the same door.
//! - [`command`]: the slash-command grammar, generated from the action catalogue.
//! - [`ops`]: the `Action` catalogue and the one door every action passes: role check,
//!   confirmation, audit, execution.
//! - [`deploy`]: deploys as persisted, resumable steps with check and apply.
//! - [`provider`]: the cloud trait and its implementations (the simulated cloud first).
//! - [`remote`]: reaching a host: the host steps, restarts and probes.
//! - [`monitor`]: the health score 0-100 and the instance states.
//! - [`store`]: all state in one SQLite file; the only module with SQL.
//! - [`audit`]: the append-only SHA-256 hash chain and its verifier.
//! - [`app`]: putting the parts together at start-up.
//! - [`clock`]: injectable time.

pub mod agent;
pub mod app;
pub mod audit;
pub mod bot;
pub mod chat;
pub mod clock;
pub mod command;
pub mod config;
pub mod deploy;
pub mod gateway;
pub mod monitor;
pub mod ops;
pub mod provider;
pub mod remote;
pub mod secrets;
pub mod store;
pub mod vault;
