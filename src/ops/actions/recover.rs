//! `/recover NAME --to PROVIDER/REGION`: disaster recovery. The instance's server is gone
//! (deleted, lost with its provider account, burnt down); a new server is deployed at the
//! target, the newest off-host backup is restored onto it, its health checked, and the
//! instance switched to it. It is the migration's plan ([`MigrationPlan`] in recovery
//! mode, run by `ops::plan`), so an interrupted recovery resumes at the next start.

use serde::{Deserialize, Serialize};

use super::existing;
use super::migrate::{MigrationPlan, target};
use crate::chat::{Message, Replier};
use crate::config::Role;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::plan::Runner;
use crate::ops::{BlastRadius, OpsError, backups};
use crate::provider::money;
use crate::store::{BackupRow, InstanceRow, InstanceStatus};

/// Rebuild an instance whose server is gone from its newest off-host backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recover {
    pub name: String,
    /// `PROVIDER/REGION`, e.g. `hetzner/hel1`.
    pub to: String,
}

impl Command for Recover {
    const SPEC: Spec = Spec {
        name: "recover",
        summary: "Rebuild an instance whose server is gone: a new server, its newest off-host backup restored",
        params: &[
            super::INSTANCE,
            Param {
                name: "to",
                meta: "PROVIDER/REGION",
                kind: Kind::Place,
                flag: true,
                required: true,
                help: "where the new server goes, e.g. hetzner/hel1 (the same place is fine)",
            },
        ],
        risk: Risk::Destructive,
        role: Role::Operator,
        example: "/recover alice-bot --to hetzner/hel1",
    };
}

impl Recover {
    /// A new server is bought; what happened after the newest off-host backup is lost.
    pub async fn radius(&self, ctx: &Ctx) -> Result<BlastRadius, OpsError> {
        let (row, newest) = self.recoverable(ctx).await?;
        let target = target(ctx, &self.to, &row, true)?;
        let taken = newest
            .taken()
            .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
            .unwrap_or_else(|| newest.created_at.clone());
        Ok(BlastRadius {
            instances: vec![(
                row.name.clone(),
                format!(
                    "lost server → {} {}",
                    target.cloud.display_name(),
                    target.region
                ),
            )],
            end_users: row.end_users.max(0) as u32,
            monthly_cents: target.monthly_cents,
            currency: target.cloud.currency().to_string(),
            reversible: false,
            loss: Some(format!(
                "the state comes from off-host backup {} taken {taken}: what changed after it is lost with the old server (new server {}/month)",
                newest.id,
                money(target.monthly_cents, &target.currency)
            )),
            billed: !target.cloud.simulated(),
            ..BlastRadius::default()
        })
    }

    pub async fn run(
        &self,
        ctx: &Ctx,
        actor: &str,
        out: &dyn Replier,
    ) -> Result<Message, OpsError> {
        let (row, _) = self.recoverable(ctx).await?;
        let target = target(ctx, &self.to, &row, true)?;
        let mut plan = MigrationPlan::recovery(&row, &target);
        Runner::new(ctx).carry_out(&mut plan, actor, out).await
    }

    /// The instance and its newest off-host backup, if it can be recovered: a bucket is
    /// set, it has a backup there, and its server is really gone (one that still answers
    /// is moved with `/migrate`, which keeps everything).
    async fn recoverable(&self, ctx: &Ctx) -> Result<(InstanceRow, BackupRow), OpsError> {
        backups::offsite(ctx)?;
        let row = existing(&ctx.store, &self.name).await?;
        if matches!(
            row.status,
            InstanceStatus::Deploying | InstanceStatus::Migrating
        ) {
            return Err(OpsError::Refused(format!(
                "{} is {}: wait for it to finish (/status {})",
                row.name, row.status, row.name
            )));
        }
        let cloud = ctx.providers.get(&row.provider)?;
        if cloud.existing_hosts() {
            return Err(OpsError::Refused(format!(
                "{} is on a host you manage yourself: /deploy NEW ssh://USER@HOST, then /restore NEW ID (/backups {} lists them)",
                row.name, row.name
            )));
        }
        if let Some(server) = &row.server_id
            && cloud.server(server).await?.is_some()
        {
            return Err(OpsError::Refused(format!(
                "{}'s server {server} still exists at {}: /migrate {} --to {} moves it with its current state, /restore {} ID puts a backup back",
                row.name, row.provider, row.name, self.to, row.name
            )));
        }
        let newest = backups::newest_offsite(ctx, &row.name).await?;
        Ok((row, newest))
    }
}
