//! `/migrate NAME --to PROVIDER/REGION`: move an instance to another cloud or region, as
//! the references' cross-cloud migrate does by hand: stop the old gateway, back its state
//! up, deploy a new server at the target with the same steps as `/deploy`, restore the
//! backup there and check its health, then point the instance at the new server. The old
//! server is kept, stopped, and the operator is offered its deletion (a confirmation).
//! If anything fails after the old gateway stopped, the instance goes back to its old
//! server and the gateway there is started again; a half-made new server is kept for the
//! operator to look at (`/reconcile` lists it).

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::{backup, existing, place};
use crate::chat::{Message, Replier};
use crate::config::Role;
use crate::deploy::{Params, steps_for};
use crate::monitor::{self, HealthState};
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::{BlastRadius, OpsError};
use crate::provider::{Cloud, money};
use crate::remote::Host;
use crate::store::{BackupRow, InstanceRow, NewInstance, OldServerRow};

/// Move an instance to another cloud or region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Migrate {
    pub name: String,
    /// `PROVIDER/REGION`, e.g. `digitalocean/fra1`.
    pub to: String,
}

impl Command for Migrate {
    const SPEC: Spec = Spec {
        name: "migrate",
        summary: "Move an instance to another cloud or region (new server, its backup restored, old one kept until you delete it)",
        params: &[
            super::INSTANCE,
            Param {
                name: "to",
                meta: "PROVIDER/REGION",
                kind: Kind::Place,
                flag: true,
                required: true,
                help: "where to: a provider and one of its regions, e.g. hetzner/hel1 or digitalocean/fra1",
            },
        ],
        risk: Risk::Destructive,
        role: Role::Operator,
        example: "/migrate alice-bot --to digitalocean/fra1",
    };
}

/// Where the instance goes.
struct Target {
    cloud: Arc<dyn Cloud>,
    region: String,
    size: String,
    monthly_cents: i64,
}

impl Migrate {
    /// The instance's end users lose their bot while it moves; a new server is bought.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let row = self.movable(ctx).await?;
        let target = self.target(ctx, &row)?;
        Ok(BlastRadius {
            instances: vec![(
                row.name.clone(),
                format!(
                    "{} → {} {}",
                    place(&row),
                    target.cloud.display_name(),
                    target.region
                ),
            )],
            end_users: row.end_users.max(0) as u32,
            monthly_cents: target.monthly_cents,
            currency: target.cloud.currency().to_string(),
            reversible: true,
            loss: Some(format!(
                "the gateway is stopped while the new server is deployed (minutes); the old server stays, stopped, billed at {}/month until you delete it",
                money(row.monthly_cents, &row.currency)
            )),
            billed: !target.cloud.simulated(),
            ..BlastRadius::default()
        })
    }

    /// Moves the instance; progress of the new server's deploy goes to `out`.
    pub async fn run(&self, ctx: &Ctx, out: &dyn Replier) -> Result<Message, OpsError> {
        let started = Instant::now();
        let row = self.movable(ctx).await?;
        let target = self.target(ctx, &row)?;
        let server_id = row.server_id.clone().unwrap_or_default();
        let old_cloud = ctx.providers.get(&row.provider)?;
        let old_host = old_cloud.host(&row.name, &server_id, row.ipv4.as_deref());

        // From here on the end users are offline: stop, then back up a quiet state.
        old_host.suspend().await?;
        let (archive, version, kept, old) =
            match self.prepare(ctx, &row, &server_id, &old_host).await {
                Ok(ready) => ready,
                Err(e) => {
                    let back = old_host.resume().await;
                    return Err(OpsError::Refused(format!(
                        "{e}; nothing moved, {}",
                        said(back, &row.name)
                    )));
                }
            };

        match self
            .move_to(ctx, &row, &target, version, &archive, out)
            .await
        {
            Ok(new_server) => {
                ctx.store
                    .set_instance_status(&row.name, "ready", ctx.clock.now())
                    .await?;
                Ok(Message::default()
                    .heading(format!(
                        "✓ {} moved to {} {}",
                        row.name,
                        target.cloud.display_name(),
                        target.region
                    ))
                    .para(format!(
                        "New server {new_server} ({}, {}/month) runs the state of backup {} in {:.1}s.",
                        target.size,
                        money(target.monthly_cents, target.cloud.currency()),
                        kept.id,
                        started.elapsed().as_secs_f64()
                    ))
                    .para(format!(
                        "The old server {} at {} is kept, its gateway stopped ({}/month). /destroy {} --old deletes it.",
                        old.server_id,
                        place(&row),
                        money(row.monthly_cents, &row.currency),
                        row.name
                    )))
            }
            Err((failure, deploy_id)) => {
                let back = roll_back(ctx, &old, &old_host, deploy_id).await;
                Err(OpsError::Refused(format!(
                    "the migration of {} to {} {} failed: {failure}\n{} is back on its old server {} ({}): {}. A new server, if one was made, is kept for you to look at: /reconcile lists it, /reconcile --fix deletes it. Backup {} holds the state.",
                    row.name,
                    target.cloud.display_name(),
                    target.region,
                    row.name,
                    old.server_id,
                    place(&row),
                    back,
                    kept.id
                )))
            }
        }
    }

    /// Backs the stopped gateway up and records the old server: what the move needs.
    async fn prepare(
        &self,
        ctx: &Ctx,
        row: &InstanceRow,
        server_id: &str,
        old_host: &Arc<dyn Host>,
    ) -> Result<(Vec<u8>, Option<String>, BackupRow, OldServerRow), OpsError> {
        let (kept, _) = backup::take(ctx, &row.name, old_host.as_ref())
            .await
            .map_err(|e| OpsError::Refused(format!("the backup of {} failed ({e})", row.name)))?;
        // The version comes from the old host, whose user controls what it says: checked
        // like a version typed in chat before it reaches the new host's install script.
        let version = kept.openclaw_version.clone();
        if let Some(v) = &version
            && let Some(why) = crate::ops::version_problem(v)
        {
            return Err(OpsError::Refused(format!(
                "the old host reports OpenClaw version {v:?}, which is not a version ({why})"
            )));
        }
        let (kept, archive) = backup::load(ctx, kept.id as u64).await?;
        let old = ctx
            .store
            .keep_old_server(row, server_id, ctx.clock.now())
            .await?;
        Ok((archive, version, kept, old))
    }

    /// Deploys the new server, restores the backup there and checks its health; returns
    /// the new server's id. On failure: why, and the deploy to abandon.
    async fn move_to(
        &self,
        ctx: &Ctx,
        row: &InstanceRow,
        target: &Target,
        version: Option<String>,
        archive: &[u8],
        out: &dyn Replier,
    ) -> Result<String, (String, Option<i64>)> {
        let fail = |id: Option<i64>| move |e: OpsError| (e.to_string(), id);
        let params = Params {
            instance: row.name.clone(),
            provider: target.cloud.name().to_string(),
            region: target.region.clone(),
            size: target.size.clone(),
            openclaw_version: version.unwrap_or_else(|| ctx.config.deploy.openclaw_version.clone()),
            // The old server may still hold the instance's name in the same account.
            server_name: Some(format!("{}-{}", row.name, target.region)),
        };
        let now = ctx.clock.now();
        ctx.store
            .move_instance(
                &NewInstance {
                    name: &row.name,
                    provider: target.cloud.display_name(),
                    region: &target.region,
                    size: &target.size,
                    monthly_cents: target.monthly_cents,
                    currency: target.cloud.currency(),
                },
                now,
            )
            .await
            .map_err(|e| fail(None)(e.into()))?;
        let json = serde_json::to_string(&params).map_err(|e| (e.to_string(), None))?;
        let steps: Vec<&str> = steps_for(target.cloud.as_ref())
            .iter()
            .map(|s| s.id())
            .collect();
        let id = ctx
            .store
            .start_deploy(&row.name, &json, &steps, now)
            .await
            .map_err(|e| fail(None)(e.into()))?;
        let summary = ctx
            .deployer()
            .run(id, &params, target.cloud.clone(), out)
            .await
            .map_err(|e| fail(Some(id))(e.into()))?;
        let host = target
            .cloud
            .host(&row.name, &summary.server_id, summary.ipv4.as_deref());
        host.restore(archive)
            .await
            .map_err(|e| fail(Some(id))(e.into()))?;
        let (state, score, why) = monitor::assess(host.probe().await.ok().as_ref());
        if state != HealthState::Healthy {
            return Err((
                format!(
                    "after the restore the new gateway is {} ({score}/100: {})",
                    state.as_str(),
                    why.join(", ")
                ),
                Some(id),
            ));
        }
        ctx.store
            .set_instance_health(&row.name, state.as_str(), score.into(), ctx.clock.now())
            .await
            .map_err(|e| fail(Some(id))(e.into()))?;
        Ok(summary.server_id)
    }

    /// The instance, if it can move now.
    async fn movable(&self, ctx: &Ctx) -> Result<InstanceRow, OpsError> {
        let row = existing(&ctx.store, &self.name).await?;
        match row.status.as_str() {
            "ready" => {}
            "suspended" => {
                return Err(OpsError::Refused(format!(
                    "{} is suspended: /resume {} first (a migration starts the gateway at the new place)",
                    row.name, row.name
                )));
            }
            other => {
                return Err(OpsError::Refused(format!(
                    "{} is {other}: only a ready instance moves (/deploy {} --resume finishes a deploy)",
                    row.name, row.name
                )));
            }
        }
        if row.server_id.is_none() {
            return Err(OpsError::Refused(format!(
                "{} has no server recorded",
                row.name
            )));
        }
        if ctx.providers.get(&row.provider)?.existing_hosts() {
            return Err(OpsError::Refused(format!(
                "{} is on a host you manage yourself; /migrate moves between clouds. By hand: /backup {}, /deploy NEW PROVIDER/REGION, /restore NEW BACKUP",
                row.name, row.name
            )));
        }
        Ok(row)
    }

    /// Where `--to` points, with the size the instance has (or the target's smallest).
    fn target(&self, ctx: &Ctx, row: &InstanceRow) -> Result<Target, OpsError> {
        let Some((provider, region)) = self.to.split_once('/') else {
            return Err(OpsError::Refused(format!(
                "--to {} needs a provider and a region, e.g. --to hetzner/hel1 (/regions lists them)",
                self.to
            )));
        };
        let cloud = ctx.providers.get(provider)?;
        if cloud.existing_hosts() {
            return Err(OpsError::Refused(
                "/migrate moves to a cloud; for a host you have: /backup NAME, /deploy NEW ssh://USER@HOST, /restore NEW BACKUP".into(),
            ));
        }
        let region = cloud.region(region)?.code.to_string();
        if cloud.display_name() == row.provider && region == row.region {
            return Err(OpsError::Refused(format!(
                "{} is already at {} {}",
                row.name, row.provider, row.region
            )));
        }
        let size = match cloud.size(&row.size) {
            Ok(s) => s.clone(),
            Err(_) => cloud.sizes().first().cloned().ok_or_else(|| {
                OpsError::Refused(format!("{} offers no sizes", cloud.display_name()))
            })?,
        };
        Ok(Target {
            region,
            size: size.code.to_string(),
            monthly_cents: size.monthly_cents,
            cloud,
        })
    }
}

/// Points the instance back at its old server and starts the gateway there again; says
/// how that went.
async fn roll_back(
    ctx: &Ctx,
    old: &OldServerRow,
    old_host: &Arc<dyn Host>,
    deploy: Option<i64>,
) -> String {
    let now = ctx.clock.now();
    let mut problems = Vec::new();
    if let Err(e) = ctx.store.put_back(old, now).await {
        problems.push(format!("the store could not be set back ({e})"));
    }
    if let Err(e) = ctx.store.decide_old_server(old.id, "back", now).await {
        problems.push(format!("the old server's row could not be updated ({e})"));
    }
    if let Some(id) = deploy
        && let Err(e) = ctx.store.abandon_deploy(id).await
    {
        problems.push(format!("deploy {id} could not be closed ({e})"));
    }
    let started = said(old_host.resume().await, &old.instance);
    if problems.is_empty() {
        started
    } else {
        format!("{started}; {}", problems.join("; "))
    }
}

/// What a restart of the old gateway came to.
fn said(result: Result<String, crate::remote::RemoteError>, name: &str) -> String {
    match result {
        Ok(_) => "its gateway was started again".to_string(),
        Err(e) => format!(
            "its gateway could NOT be started again ({e}): /resume {name}, or look on the host"
        ),
    }
}
