//! `/destroy NAME [--snapshot] [--old]`: delete an instance's server and retire the
//! instance, or (`--old`) delete the servers it left behind when it migrated. Always asks
//! for a confirmation first; `--snapshot` keeps a snapshot of each disk first, its monthly
//! price shown in the question. A primary whose standby is not healthy right now is not
//! destroyed (the references' safety rule). The instance's row stays in the store (status
//! destroyed) for the record, and its name can be deployed again.

use serde::{Deserialize, Serialize};

use super::{existing, place};
use crate::chat::Message;
use crate::config::Role;
use crate::monitor::HealthState;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::provider::{ProviderError, money};
use crate::store::{InstanceRow, InstanceStatus, OldServerState};

/// Destroy an instance (or the servers it left).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destroy {
    pub name: String,
    /// Keep a snapshot of the disk first.
    #[serde(default)]
    pub snapshot: bool,
    /// Delete the servers the instance left when it migrated, not the instance.
    #[serde(default)]
    pub old: bool,
}

impl Command for Destroy {
    const SPEC: Spec = Spec {
        name: "destroy",
        summary: "Delete an instance's server and its data, or --old the servers it migrated from (asks first)",
        params: &[
            super::INSTANCE,
            Param {
                name: "snapshot",
                meta: "",
                kind: Kind::Switch,
                flag: true,
                required: false,
                help: "keep a snapshot of the disk first (its monthly price is shown before you confirm)",
            },
            Param {
                name: "old",
                meta: "",
                kind: Kind::Switch,
                flag: true,
                required: false,
                help: "delete the servers the instance left behind when it migrated; the instance stays",
            },
        ],
        risk: Risk::Destructive,
        role: Role::Operator,
        example: "/destroy bob-bot",
    };
}

/// One server to delete: where it is, and what it costs.
struct Doomed {
    provider: String,
    region: String,
    size: String,
    server_id: Option<String>,
    ipv4: Option<String>,
    monthly_cents: i64,
    currency: String,
    /// The row of `old_servers`, for `--old`.
    old_id: Option<i64>,
}

impl Destroy {
    /// The instance, its end users, the monthly cost saved (less the snapshots kept);
    /// cannot be undone.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let row = existing(&ctx.store, &self.name).await?;
        if !self.old {
            self.standbys_healthy(ctx, &row).await?;
        }
        let doomed = self.doomed(ctx, &row).await?;
        let mut snapshots = 0;
        if self.snapshot {
            for d in &doomed {
                snapshots += snapshot_price(ctx, d)?;
            }
        }
        let saved: i64 = doomed.iter().map(|d| d.monthly_cents).sum();
        let existing_hosts = ctx.providers.get(&row.provider)?.existing_hosts();
        let mut loss = if self.old {
            format!(
                "{} old server(s) of {} and their disks are deleted; {} stays where it is now",
                doomed.len(),
                row.name,
                row.name
            )
        } else if existing_hosts {
            "the gateway, its data and what clawops installed are removed from the host (the host itself stays)".to_string()
        } else {
            "the server and its data are deleted".to_string()
        };
        if self.snapshot {
            loss.push_str(&format!(
                "; a snapshot of each disk is kept first, up to {}/month until you delete it at the provider",
                money(snapshots, &row.currency)
            ));
        }
        Ok(BlastRadius {
            instances: doomed
                .iter()
                .map(|d| {
                    let what = match (&d.server_id, self.old) {
                        (Some(id), true) => format!("{} (old server {id})", row.name),
                        _ => row.name.clone(),
                    };
                    (what, format!("{} {}", d.provider, d.region))
                })
                .collect(),
            end_users: if self.old {
                0
            } else {
                row.end_users.max(0) as u32
            },
            monthly_cents: snapshots - saved,
            currency: row.currency.clone(),
            reversible: false,
            loss: Some(loss),
            billed: self.snapshot
                && snapshots > 0
                && !ctx.providers.get(&row.provider)?.simulated(),
            ..BlastRadius::default()
        })
    }

    /// Deletes the server(s), after their snapshots when asked, and records it.
    pub async fn run(&self, ctx: &Ctx) -> Result<Message, OpsError> {
        let row = existing(&ctx.store, &self.name).await?;
        if row.status == InstanceStatus::Deploying && !self.old {
            return Err(OpsError::Refused(format!(
                "{} is being deployed right now: wait for the deploy to stop, then destroy it",
                row.name
            )));
        }
        if !self.old {
            // Checked again: the standby may have gone down since the question.
            self.standbys_healthy(ctx, &row).await?;
        }
        let doomed = self.doomed(ctx, &row).await?;
        let mut notes = Vec::new();
        let mut saved = 0;
        for d in &doomed {
            notes.push(self.delete(ctx, &row, d).await?);
            saved += d.monthly_cents;
        }
        if !self.old {
            ctx.store
                .set_instance_status(&row.name, InstanceStatus::Destroyed, ctx.clock.now())
                .await?;
            // Its SSH key, gateway token, bot token and host key go with it: a new
            // instance of the same name starts fresh.
            ctx.store.forget_instance_secrets(&row.name).await?;
        }
        let what = if self.old {
            format!("the old server(s) of {}", row.name)
        } else {
            format!("{} ({})", row.name, place(&row))
        };
        Ok(Message::text(format!(
            "✓ Destroyed {what}: {}. Saves {}/month.",
            notes.join("; "),
            money(saved, &row.currency)
        )))
    }

    /// The servers this destroy deletes.
    async fn doomed(&self, ctx: &Ctx, row: &InstanceRow) -> Result<Vec<Doomed>, OpsError> {
        if self.old {
            let old = ctx.store.kept_old_servers(Some(&row.name)).await?;
            if old.is_empty() {
                return Err(OpsError::Refused(format!(
                    "{} has no old server kept: only a migration leaves one",
                    row.name
                )));
            }
            return Ok(old
                .into_iter()
                .map(|o| Doomed {
                    provider: o.provider,
                    region: o.region,
                    size: o.size,
                    server_id: Some(o.server_id),
                    ipv4: o.ipv4,
                    monthly_cents: o.monthly_cents,
                    currency: o.currency,
                    old_id: Some(o.id),
                })
                .collect());
        }
        let cloud = ctx.providers.get(&row.provider)?;
        // A deploy killed between creating the server and recording it leaves no id in
        // the store: the server is then found by its labels.
        let server_id = match &row.server_id {
            Some(id) => Some(id.clone()),
            None => cloud
                .find_server_in(&row.name, &row.region)
                .await?
                .map(|s| s.id),
        };
        Ok(vec![Doomed {
            provider: row.provider.clone(),
            region: row.region.clone(),
            size: row.size.clone(),
            server_id,
            ipv4: row.ipv4.clone(),
            monthly_cents: row.monthly_cents,
            currency: row.currency.clone(),
            old_id: None,
        }])
    }

    /// Deletes one server (a snapshot first when asked); says what was done.
    async fn delete(&self, ctx: &Ctx, row: &InstanceRow, d: &Doomed) -> Result<String, OpsError> {
        let cloud = ctx.providers.get(&d.provider)?;
        let Some(id) = &d.server_id else {
            return Ok("no server had been created".to_string());
        };
        let mut said = Vec::new();
        if self.snapshot {
            let description = format!(
                "clawops {} before destroy {}",
                row.name,
                ctx.clock.now().format("%Y-%m-%d %H:%M")
            );
            let snap = cloud.snapshot(id, &description).await?;
            ctx.store
                .add_snapshot(
                    &row.name,
                    cloud.display_name(),
                    &snap.id,
                    snap.monthly_cents,
                    &d.currency,
                    ctx.clock.now(),
                )
                .await?;
            said.push(format!(
                "snapshot {} kept (up to {}/month)",
                snap.id,
                money(snap.monthly_cents, &d.currency)
            ));
        }
        if cloud.existing_hosts() {
            // The host is not ours to delete: remove what clawops put on it.
            said.push(
                cloud
                    .host(&row.name, id, d.ipv4.as_deref())
                    .remove()
                    .await?,
            );
        } else {
            said.push(match cloud.delete_server(id).await {
                Ok(()) => format!("server {id} deleted"),
                Err(ProviderError::NoServer { .. }) => format!("server {id} was already gone"),
                Err(e) => return Err(e.into()),
            });
            // The address may go to someone else's server next: its pin goes too.
            if let Some(ip) = &d.ipv4 {
                ctx.store.unpin_host_key(&cloud_target(ip)).await?;
            }
        }
        if let Some(old) = d.old_id {
            ctx.store
                .decide_old_server(old, OldServerState::Deleted, ctx.clock.now())
                .await?;
        }
        Ok(said.join(", "))
    }

    /// A primary goes only while each of its standbys is healthy now (probed live).
    async fn standbys_healthy(&self, ctx: &Ctx, row: &InstanceRow) -> Result<(), OpsError> {
        for standby in ctx.store.standbys_of(&row.name).await? {
            let (state, score) = probe(ctx, &standby).await?;
            if state != HealthState::Healthy {
                return Err(OpsError::Refused(format!(
                    "{} is a primary and its standby {} is {} ({score}/100) right now: a primary is not destroyed while its standby cannot take over. /status {} shows why; destroy {} first if you mean to drop both",
                    row.name,
                    standby.name,
                    state.as_str(),
                    standby.name,
                    standby.name
                )));
            }
        }
        Ok(())
    }
}

/// How clawops reaches a cloud server at `ip` (the pin's key in the store).
pub fn cloud_target(ip: &str) -> String {
    crate::remote::ssh::Target {
        user: "root".into(),
        host: ip.to_string(),
        port: 22,
    }
    .url()
}

/// The monthly price of a snapshot of `d`'s disk, or why there can be none.
fn snapshot_price(ctx: &Ctx, d: &Doomed) -> Result<i64, OpsError> {
    let cloud = ctx.providers.get(&d.provider)?;
    if cloud.existing_hosts() {
        return Err(OpsError::Refused(
            "a host you already have takes no cloud snapshot: /backup NAME keeps its OpenClaw state, then /destroy NAME".into(),
        ));
    }
    cloud.snapshot_monthly_cents(&d.size).ok_or_else(|| {
        OpsError::Refused(format!(
            "{} takes no snapshots: /backup NAME keeps the OpenClaw state instead",
            cloud.display_name()
        ))
    })
}

/// An instance's health right now.
async fn probe(ctx: &Ctx, row: &InstanceRow) -> Result<(HealthState, u8), OpsError> {
    let (Some(server_id), InstanceStatus::Ready | InstanceStatus::Suspended) =
        (&row.server_id, row.status)
    else {
        return Ok((HealthState::Unreachable, 0));
    };
    let probe = super::probe_now(ctx, row, server_id).await?;
    Ok((probe.state, probe.score))
}
