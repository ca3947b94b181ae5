//! `/resize NAME SIZE`: an instance's server to another size at its cloud (Hetzner change
//! type, DigitalOcean resize, Vultr plan change, Tencent instance type). The question
//! shows the monthly price before → after and the downtime, and says plainly when the
//! disk's growth cannot be undone; a size the provider cannot go down to is refused
//! before anything is touched. Then: power off, change, power on, health check.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::reboot::back_up;
use super::{INSTANCE, existing, place};
use crate::chat::Message;
use crate::config::Role;
use crate::monitor::HealthState;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::provider::{Cloud, ResizeRule, Size, money};
use crate::store::{InstanceRow, InstanceStatus};

/// Resize an instance's server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resize {
    pub name: String,
    pub size: String,
}

impl Command for Resize {
    const SPEC: Spec = Spec {
        name: "resize",
        summary: "Change an instance's server size at its cloud (price before → after; a few minutes off)",
        params: &[
            INSTANCE,
            Param {
                name: "size",
                meta: "SIZE",
                kind: Kind::Word,
                flag: false,
                required: true,
                help: "the new size, as /sizes lists it for the instance's provider",
            },
        ],
        risk: Risk::Change,
        role: Role::Operator,
        example: "/resize alice-bot cx32",
    };
}

/// What a resize will do, worked out before it is asked and again when it runs.
struct Change {
    row: InstanceRow,
    server: String,
    cloud: Arc<dyn Cloud>,
    rule: ResizeRule,
    from: Size,
    to: Size,
}

impl Change {
    /// Whether the disk grows for good.
    fn disk_grows(&self) -> bool {
        self.rule.disk_grows && self.to.disk_gb > self.from.disk_gb
    }

    fn lines(&self) -> Vec<String> {
        let (f, t) = (&self.from, &self.to);
        let currency = self.cloud.currency();
        let mut lines = vec![
            format!(
                "Size: {} → {} ({} → {} vCPU, {} → {} GB memory, disk {} → {} GB)",
                f.code,
                t.code,
                f.vcpus,
                t.vcpus,
                f.memory_gb,
                t.memory_gb,
                f.disk_gb,
                if self.rule.disk_grows {
                    t.disk_gb
                } else {
                    f.disk_gb
                }
            ),
            format!(
                "Price: {} → {}/month",
                money(f.monthly_cents, currency),
                money(t.monthly_cents, currency)
            ),
            format!(
                "Downtime: {}: the server is powered off, changed and started, then health-checked",
                self.rule.downtime
            ),
        ];
        lines.push(if self.disk_grows() {
            format!(
                "The disk grows to {} GB and cannot be shrunk back: a later resize to a size with less disk is refused.",
                t.disk_gb
            )
        } else if self.rule.disk_grows {
            format!("The disk stays {} GB.", f.disk_gb)
        } else {
            format!(
                "The disk stays {} GB ({} changes CPU and memory only); this can be undone.",
                f.disk_gb,
                self.cloud.display_name()
            )
        });
        lines
    }
}

impl Resize {
    async fn change(&self, ctx: &Ctx) -> Result<Change, OpsError> {
        let row = existing(&ctx.store, &self.name).await?;
        let refused = |why: String| Err(OpsError::Refused(why));
        let Some(server) = row
            .server_id
            .clone()
            .filter(|_| row.status == InstanceStatus::Ready)
        else {
            return refused(format!(
                "{} is {}: only a ready instance's server is resized",
                row.name, row.status
            ));
        };
        let cloud = ctx.providers.get(&row.provider)?;
        if cloud.existing_hosts() {
            return refused(format!(
                "{} is on a host you manage yourself: resize it where you rent it",
                row.name
            ));
        }
        let Some(rule) = cloud.resize_rule() else {
            return refused(format!("{} cannot resize a server", cloud.display_name()));
        };
        let from = cloud.size(&row.size)?.clone();
        let to = cloud.size(&self.size)?.clone();
        if from.code == to.code {
            return refused(format!("{} is {} already", row.name, to.code));
        }
        let smaller = to.vcpus < from.vcpus || to.memory_gb < from.memory_gb;
        if smaller && !rule.shrinks {
            return refused(format!(
                "{} cannot make a server smaller (plans only go up): for {}, /migrate {} to a new server of that size",
                cloud.display_name(),
                to.code,
                row.name
            ));
        }
        if rule.disk_grows && to.disk_gb < from.disk_gb {
            return refused(format!(
                "{} cannot shrink a disk: {}'s is {} GB and {} has {} GB",
                cloud.display_name(),
                row.name,
                from.disk_gb,
                to.code,
                to.disk_gb
            ));
        }
        Ok(Change {
            row,
            server,
            cloud,
            rule,
            from,
            to,
        })
    }

    /// One instance, off for a few minutes; the bill changes; a press always.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let c = self.change(ctx).await?;
        Ok(BlastRadius {
            instances: vec![(c.row.name.clone(), place(&c.row))],
            end_users: c.row.end_users.max(0) as u32,
            monthly_cents: c.to.monthly_cents - c.from.monthly_cents,
            currency: c.cloud.currency().to_string(),
            billed: !c.cloud.simulated(),
            reversible: !c.disk_grows(),
            loss: c
                .disk_grows()
                .then(|| format!("the disk stays at {} GB or more for good", c.to.disk_gb)),
            press: Some("a resize powers the server off and changes the bill".into()),
            details: c.lines(),
        })
    }

    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let c = self.change(ctx).await?;
        let started = Instant::now();
        c.cloud.resize(&c.server, c.to.code).await?;
        ctx.store
            .set_instance_size(&c.row.name, c.to.code, c.to.monthly_cents, ctx.clock.now())
            .await?;
        let host = c.cloud.host(&c.row.name, &c.server, c.row.ipv4.as_deref());
        let (state, score) = back_up(ctx, &c.row.name, host.as_ref(), started).await?;
        let head = if state == HealthState::Healthy {
            format!("✓ {} resized to {}", c.row.name, c.to.code)
        } else {
            format!("⚠ {} resized to {}, not healthy yet", c.row.name, c.to.code)
        };
        Ok(Message::text(format!(
            "{head}: {} → {}/month; gateway {} ({score}/100) after {:.0}s.",
            money(c.from.monthly_cents, c.cloud.currency()),
            money(c.to.monthly_cents, c.cloud.currency()),
            state.as_str(),
            started.elapsed().as_secs_f64()
        )))
    }
}
