//! `/reboot NAME`: reboot an instance's server at its cloud (the rung after a gateway
//! restart on the heal ladder), then wait until the gateway answers again and say how it
//! stands. Hosts you manage yourself are not rebooted by clawops.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{existing, place};
use crate::chat::Message;
use crate::config::Role;
use crate::monitor::HealthState;
use crate::ops::catalogue::{Command, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::store::InstanceStatus;

/// Reboot an instance's server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reboot {
    pub name: String,
}

impl Command for Reboot {
    const SPEC: Spec = Spec {
        name: "reboot",
        summary: "Reboot an instance's server at its cloud and wait for the gateway to come back",
        params: &[super::INSTANCE],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/reboot alice-bot",
    };
}

impl Reboot {
    /// One instance; its end users wait for the boot.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        super::lifecycle::one(ctx, &self.name).await
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let row = existing(&ctx.store, &self.name).await?;
        let Some(server) = row
            .server_id
            .clone()
            .filter(|_| row.status == InstanceStatus::Ready)
        else {
            return Err(OpsError::Refused(format!(
                "{} is {}: only a ready instance's server is rebooted",
                row.name, row.status
            )));
        };
        let cloud = ctx.providers.get(&row.provider)?;
        if cloud.existing_hosts() {
            return Err(OpsError::Refused(format!(
                "{} is on a host you manage yourself: clawops does not reboot it. /restart {} restarts the gateway",
                row.name, row.name
            )));
        }
        let started = Instant::now();
        cloud.reboot(&server).await?;
        let host = cloud.host(&row.name, &server, row.ipv4.as_deref());
        let (state, score) = back_up(ctx, &row.name, host.as_ref(), started).await?;
        let head = if state == HealthState::Healthy {
            format!("✓ {} rebooted", row.name)
        } else {
            format!("⚠ {} rebooted, not healthy yet", row.name)
        };
        Ok(Message::text(format!(
            "{head}: server {server} at {}, gateway {} ({score}/100) after {:.1}s.",
            place(&row),
            state.as_str(),
            started.elapsed().as_secs_f64()
        )))
    }
}

/// Waits until the gateway on `host` is healthy again after its server was down (at most
/// `[watch] reboot_wait` from `started`), records the health of `name`, and says how it
/// stands.
pub(super) async fn back_up(
    ctx: &Ctx,
    name: &str,
    host: &dyn crate::remote::Host,
    started: Instant,
) -> Result<(HealthState, u8), OpsError> {
    let mut pause = Duration::from_millis(200);
    loop {
        let p = super::probe_host(ctx, name, host).await?;
        if p.state == HealthState::Healthy
            || started.elapsed() + pause > ctx.config.watch.reboot_wait
        {
            return Ok((p.state, p.score));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}
