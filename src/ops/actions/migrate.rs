//! `/migrate NAME --to PROVIDER/REGION`: move an instance to another cloud or region, as
//! the references' cross-cloud migrate does by hand: stop the old gateway, back its state
//! up, deploy a new server at the target with the same steps as `/deploy`, restore the
//! backup there and check its health, then point the instance at the new server. The old
//! server is kept, stopped, and the operator is offered its deletion (a confirmation).
//! If anything fails after the old gateway stopped, the instance goes back to its old
//! server and the gateway there is started again; a half-made new server is kept for the
//! operator to look at (`/reconcile` lists it).
//!
//! A migration is a plan ([`MigrationPlan`], run by `ops::plan`): if clawops stops or dies
//! part-way, the next start-up resumes it (restore included) once the backup is kept, or
//! rolls it back to the old server before that, and says which.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::{existing, place};
use crate::chat::{Message, Replier};
use crate::config::Role;
use crate::deploy::{Params, steps_for};
use crate::monitor::{self, HealthState};
use crate::ops::backups;
use crate::ops::catalogue::{Command, Kind, Param, Risk, Spec};
use crate::ops::door::Ctx;
use crate::ops::plan::{Finished, Plan, PlanKind, PlanStep, Recovery, Runner, StepFailure, Undone};
use crate::ops::{BlastRadius, OpsError};
use crate::provider::{Cloud, money};
use crate::remote::Host;
use crate::store::{DeployState, InstanceRow, InstanceStatus, NewInstance, OldServerState};

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
                help: "where to: a provider and region, e.g. hetzner/hel1, or a cell: cell[/HOST]",
            },
        ],
        risk: Risk::Destructive,
        role: Role::Operator,
        example: "/migrate alice-bot --to digitalocean/fra1",
    };
}

/// Where the instance goes.
pub(super) struct Target {
    pub(super) cloud: Arc<dyn Cloud>,
    pub(super) region: String,
    pub(super) size: String,
    pub(super) monthly_cents: i64,
    pub(super) currency: String,
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
            currency: target.currency.clone(),
            reversible: true,
            loss: Some(format!(
                "the gateway is stopped while the new server is deployed (minutes); the old server stays, stopped, billed at {}/month until you delete it",
                money(row.monthly_cents, &row.currency)
            )),
            billed: !target.cloud.simulated(),
            ..BlastRadius::default()
        })
    }

    /// Moves the instance as a plan ([`MigrationPlan`]) confirmed by `actor`; progress of
    /// the plan and of the new server's deploy goes to `out`.
    pub async fn run(
        &self,
        ctx: &Ctx,
        actor: &str,
        out: &dyn Replier,
    ) -> Result<Message, OpsError> {
        let row = self.movable(ctx).await?;
        let target = self.target(ctx, &row)?;
        let mut plan = MigrationPlan::new(&row, &target);
        Runner::new(ctx).carry_out(&mut plan, actor, out).await
    }

    /// The instance, if it can move now.
    async fn movable(&self, ctx: &Ctx) -> Result<InstanceRow, OpsError> {
        let row = existing(&ctx.store, &self.name).await?;
        match row.status {
            InstanceStatus::Ready => {}
            InstanceStatus::Suspended => {
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

    fn target(&self, ctx: &Ctx, row: &InstanceRow) -> Result<Target, OpsError> {
        target(ctx, &self.to, row, false)
    }
}

/// Where `--to` points, with the size the instance has (or the target's smallest); the
/// place it is at already only when `same_place` may be (a recovery).
pub(super) fn target(
    ctx: &Ctx,
    to: &str,
    row: &InstanceRow,
    same_place: bool,
) -> Result<Target, OpsError> {
    {
        if to == "cell" || to.starts_with("cell/") {
            return into_cell(ctx, to.strip_prefix("cell/"), row, same_place);
        }
        let Some((provider, region)) = to.split_once('/') else {
            return Err(OpsError::Refused(format!(
                "--to {to} needs a provider and a region, e.g. --to hetzner/hel1 (/regions lists them), or --to cell[/HOST]"
            )));
        };
        let cloud = ctx.providers.get(provider)?;
        if cloud.existing_hosts() {
            return Err(OpsError::Refused(
                "--to names a cloud; for a host you have: /deploy NEW ssh://USER@HOST, then /restore NEW BACKUP".into(),
            ));
        }
        let region = cloud.region(region)?.code.to_string();
        if !same_place && cloud.display_name() == row.provider && region == row.region {
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
            currency: cloud.currency().to_string(),
            cloud,
        })
    }
}

/// `--to cell[/HOST]`: a cell on HOST, or on the least-loaded host with room, with the
/// limits the instance's cell has (from `[cells]` when it comes from a server).
fn into_cell(
    ctx: &Ctx,
    host: Option<&str>,
    row: &InstanceRow,
    same_place: bool,
) -> Result<Target, OpsError> {
    let cells = ctx.cells()?;
    let limits = cell_limits(cells, &row.name);
    let host = match host {
        Some(h) if !same_place && row.provider == "cell" && row.region == h => {
            return Err(OpsError::Refused(format!(
                "{} is already in a cell on {h}",
                row.name
            )));
        }
        Some(h) => cells.place(&limits, Some(h)),
        None => {
            // The least-loaded host other than the one it is on.
            let rooms: Vec<_> = cells
                .rooms()
                .into_iter()
                .filter(|r| same_place || row.provider != "cell" || r.host != row.region)
                .collect();
            let states = cells
                .hosts()
                .into_iter()
                .map(|h| (h.name, h.state))
                .collect();
            crate::provider::cell::place(&rooms, &states, &limits, cells.config.overcommit, None)
        }
    }
    .map_err(|e| OpsError::Refused(e.to_string()))?;
    let (monthly_cents, currency) = cells.price(&host, limits.memory_mb);
    Ok(Target {
        cloud: ctx.providers.get("cell")?,
        region: host,
        size: "cell".into(),
        monthly_cents,
        currency,
    })
}

/// The limits `name`'s cell has, or `[cells]`'s when it has none.
fn cell_limits(
    cells: &crate::provider::cell::CellCloud,
    name: &str,
) -> crate::provider::cell::Limits {
    cells
        .cell(name)
        .map(|c| crate::provider::cell::Limits::from_row(&c))
        .unwrap_or_else(|| cells.limits(None, None, None))
}

/// The steps of a migration, in order.
const STEPS: &[PlanStep] = &[
    PlanStep::fixed("stop-old", "Stop the old gateway"),
    PlanStep::fixed("back-up", "Back up its state"),
    PlanStep::fixed("keep-old", "Keep the old server (stopped)"),
    PlanStep::fixed("move", "Point the instance at the new place"),
    PlanStep::fixed("deploy", "Deploy the new server"),
    PlanStep::fixed("restore", "Restore the backup there"),
    PlanStep::fixed("health-check", "Health check on the restored state"),
    PlanStep::fixed("switch", "Switch: ready at the new place"),
];
/// The steps of a recovery (`/recover`): the old server is gone, so its newest off-host
/// backup stands in for the stop and the backup.
const RECOVERY_STEPS: &[PlanStep] = &[
    PlanStep::fixed("fetch", "Fetch the newest off-host backup and check it"),
    PlanStep::fixed("keep-old", "Record the lost server"),
    PlanStep::fixed("move", "Point the instance at the new place"),
    PlanStep::fixed("deploy", "Deploy the new server"),
    PlanStep::fixed("restore", "Restore the backup there"),
    PlanStep::fixed("health-check", "Health check on the restored state"),
    PlanStep::fixed("switch", "Switch: ready at the new place"),
];

/// A migration in progress: where from and where to, fixed when it is confirmed, and what
/// it has learned (the backup, the old server's row, the new deploy and server). Saved
/// after each step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MigrationPlan {
    pub name: String,
    /// The old server: its provider (as recorded), region, id and address.
    pub from_provider: String,
    pub from_region: String,
    pub from_server: String,
    pub from_ipv4: Option<String>,
    /// The target: provider (config name), its display name, region, size and price.
    pub provider: String,
    pub provider_shown: String,
    pub region: String,
    pub size: String,
    pub monthly_cents: i64,
    pub currency: String,
    /// Learned: the backup taken of the stopped gateway, and its OpenClaw version.
    pub backup: Option<i64>,
    pub version: Option<String>,
    /// Learned: the `old_servers` row kept for the old server.
    pub old: Option<i64>,
    /// Learned: the deploy of the new server, and the server it made.
    pub deploy: Option<i64>,
    pub new_server: Option<String>,
    pub new_ipv4: Option<String>,
    /// A recovery (`/recover`): the old server is gone; the state comes from the newest
    /// off-host backup.
    #[serde(default)]
    pub recovering: bool,
}

impl MigrationPlan {
    fn new(row: &InstanceRow, target: &Target) -> MigrationPlan {
        MigrationPlan {
            name: row.name.clone(),
            from_provider: row.provider.clone(),
            from_region: row.region.clone(),
            from_server: row.server_id.clone().unwrap_or_default(),
            from_ipv4: row.ipv4.clone(),
            provider: target.cloud.name().to_string(),
            provider_shown: target.cloud.display_name().to_string(),
            region: target.region.clone(),
            size: target.size.clone(),
            monthly_cents: target.monthly_cents,
            currency: target.currency.clone(),
            backup: None,
            version: None,
            old: None,
            deploy: None,
            new_server: None,
            new_ipv4: None,
            recovering: false,
        }
    }

    /// A recovery of `row`, whose server is gone, onto `target`.
    pub(super) fn recovery(row: &InstanceRow, target: &Target) -> MigrationPlan {
        MigrationPlan {
            recovering: true,
            ..MigrationPlan::new(row, target)
        }
    }

    /// The id of step `step`.
    fn step_id(&self, step: usize) -> &'static str {
        let steps = if self.recovering {
            RECOVERY_STEPS
        } else {
            STEPS
        };
        steps
            .get(step)
            .map(|s| match &s.id {
                std::borrow::Cow::Borrowed(id) => *id,
                std::borrow::Cow::Owned(_) => "",
            })
            .unwrap_or("")
    }

    /// Picks the newest off-host backup of the instance and checks that it opens (hash and
    /// seal), before any server is bought.
    async fn fetch(&mut self, ctx: &Ctx) -> Result<String, OpsError> {
        let newest = backups::newest_offsite(ctx, &self.name).await?;
        let (kept, archive) = backups::load(ctx, newest.id as u64).await?;
        if let Some(v) = &kept.openclaw_version
            && let Some(why) = crate::ops::version_problem(v)
        {
            return Err(OpsError::Refused(format!(
                "backup {} names OpenClaw version {v:?}, which is not a version ({why})",
                kept.id
            )));
        }
        self.backup = Some(kept.id);
        self.version = kept.openclaw_version.clone();
        Ok(format!(
            "backup {} ({} of state, taken {})",
            kept.id,
            backups::size(archive.len() as u64),
            kept.taken()
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_else(|| kept.created_at.clone())
        ))
    }

    fn doing(&self) -> &'static str {
        if self.recovering {
            "recovery"
        } else {
            "migration"
        }
    }

    fn old_host(&self, ctx: &Ctx) -> Result<Arc<dyn Host>, OpsError> {
        let cloud = ctx.providers.get(&self.from_provider)?;
        Ok(cloud.host(&self.name, &self.from_server, self.from_ipv4.as_deref()))
    }

    fn new_host(&self, ctx: &Ctx) -> Result<Arc<dyn Host>, OpsError> {
        let server = self
            .new_server
            .as_deref()
            .ok_or_else(|| OpsError::Refused("the new server is not known yet".into()))?;
        let cloud = ctx.providers.get(&self.provider)?;
        Ok(cloud.host(&self.name, server, self.new_ipv4.as_deref()))
    }

    /// Backs the stopped gateway up; the version it reports is checked like one typed in
    /// chat before it reaches the new host's install script.
    async fn back_up(&mut self, ctx: &Ctx) -> Result<String, OpsError> {
        let host = self.old_host(ctx)?;
        let (kept, _) = crate::ops::backups::take(ctx, &self.name, host.as_ref())
            .await
            .map_err(|e| OpsError::Refused(format!("the backup of {} failed ({e})", self.name)))?;
        if let Some(v) = &kept.openclaw_version
            && let Some(why) = crate::ops::version_problem(v)
        {
            return Err(OpsError::Refused(format!(
                "the old host reports OpenClaw version {v:?}, which is not a version ({why})"
            )));
        }
        self.backup = Some(kept.id);
        self.version = kept.openclaw_version.clone();
        Ok(format!("backup {} ({} bytes sealed)", kept.id, kept.bytes))
    }

    /// Records the old server and points the instance at the new place, with a deploy
    /// started for it. A deploy left open by an earlier attempt at this step is closed
    /// first (the instance was ready and locked when the plan began: it is ours).
    async fn move_row(&mut self, ctx: &Ctx) -> Result<String, OpsError> {
        let now = ctx.clock.now();
        if let Some(open) = ctx.store.latest_deploy(&self.name).await?
            && open.state != DeployState::Done
            && open.state != DeployState::Abandoned
        {
            ctx.store.abandon_deploy(open.id).await?;
        }
        ctx.store
            .move_instance(
                &NewInstance {
                    name: &self.name,
                    provider: &self.provider_shown,
                    region: &self.region,
                    size: &self.size,
                    monthly_cents: self.monthly_cents,
                    currency: &self.currency,
                    // Kept: a move changes the place, not who owns the bot.
                    owner: None,
                },
                now,
            )
            .await?;
        let cloud = ctx.providers.get(&self.provider)?;
        if cloud.cells() {
            let cells = ctx.cells()?;
            cells
                .reserve(&self.name, &self.region, &cell_limits(cells, &self.name))
                .await?;
        }
        let params = self.params(ctx);
        let json = serde_json::to_string(&params)
            .map_err(|e| OpsError::Refused(format!("cannot save the deploy: {e}")))?;
        let steps: Vec<&str> = steps_for(cloud.as_ref()).iter().map(|s| s.id()).collect();
        let id = ctx
            .store
            .start_deploy(&self.name, &json, &steps, now)
            .await?;
        self.deploy = Some(id);
        Ok(format!("deploy {id} started"))
    }

    fn params(&self, ctx: &Ctx) -> Params {
        Params {
            instance: self.name.clone(),
            provider: self.provider.clone(),
            region: self.region.clone(),
            size: self.size.clone(),
            openclaw_version: self
                .version
                .clone()
                .unwrap_or_else(|| ctx.config.deploy.openclaw_version.clone()),
            // The old server may still hold the instance's name in the same account.
            server_name: Some(format!("{}-{}", self.name, self.region)),
        }
    }

    /// Runs (or resumes) the new server's deploy.
    async fn deploy_new(&mut self, ctx: &Ctx, out: &dyn Replier) -> Result<String, OpsError> {
        let id = self
            .deploy
            .ok_or_else(|| OpsError::Refused("the migration has no deploy to run".into()))?;
        let row = ctx
            .store
            .deploy(id)
            .await?
            .ok_or_else(|| OpsError::Refused(format!("deploy {id} is gone from the store")))?;
        let said = if row.state == DeployState::Done {
            "deployed already".to_string()
        } else {
            ctx.store.reopen_deploy(id).await?;
            let params: Params = serde_json::from_str(&row.params)
                .map_err(|e| OpsError::Refused(format!("deploy {id} cannot be read: {e}")))?;
            let cloud = ctx.providers.get(&self.provider)?;
            let summary = ctx.deployer().run(id, &params, cloud, out).await?;
            format!(
                "{} steps run, {} already done",
                summary.steps_run, summary.steps_skipped
            )
        };
        let instance = existing(&ctx.store, &self.name).await?;
        self.new_server = instance.server_id.clone();
        self.new_ipv4 = instance.ipv4.clone();
        // Not ready yet: the state is restored first.
        ctx.store
            .set_instance_status(&self.name, InstanceStatus::Migrating, ctx.clock.now())
            .await?;
        Ok(format!(
            "server {} ({said})",
            self.new_server.as_deref().unwrap_or("?")
        ))
    }

    async fn restore(&self, ctx: &Ctx) -> Result<String, OpsError> {
        let id = self
            .backup
            .ok_or_else(|| OpsError::Refused("the migration has no backup".into()))?;
        let (_, archive) = crate::ops::backups::load(ctx, id as u64).await?;
        Ok(self.new_host(ctx)?.restore(&archive).await?)
    }

    async fn health(&self, ctx: &Ctx) -> Result<String, OpsError> {
        let host = self.new_host(ctx)?;
        let (state, score, why) = monitor::assess(host.probe().await.ok().as_ref());
        if state != HealthState::Healthy {
            return Err(OpsError::Refused(format!(
                "after the restore the new gateway is {} ({score}/100: {})",
                state.as_str(),
                why.join(", ")
            )));
        }
        ctx.store
            .set_instance_health(
                &self.name,
                state.as_str(),
                score.into(),
                &why.join(", "),
                ctx.clock.now(),
            )
            .await?;
        Ok(format!("{} {score}/100", state.as_str()))
    }

    /// Puts the store back as it was before the move (when it moved) and closes the new
    /// deploy; says what failed.
    async fn put_back(&self, ctx: &Ctx) -> Vec<String> {
        let now = ctx.clock.now();
        let mut problems = Vec::new();
        if let Some(old) = self.old {
            match ctx.store.old_server(old).await {
                Ok(Some(row)) => {
                    if let Err(e) = ctx.store.put_back(&row, now).await {
                        problems.push(format!("the store could not be set back ({e})"));
                    }
                    if let Err(e) = ctx
                        .store
                        .decide_old_server(row.id, OldServerState::Back, now)
                        .await
                    {
                        problems.push(format!("the old server's row could not be updated ({e})"));
                    }
                }
                Ok(None) => problems.push(format!("old server row {old} is gone")),
                Err(e) => problems.push(format!("the old server's row cannot be read ({e})")),
            }
        } else if let Err(e) = ctx
            .store
            .set_instance_status(&self.name, InstanceStatus::Ready, now)
            .await
        {
            problems.push(format!("the store could not be set back ({e})"));
        }
        if let Some(id) = self.deploy
            && let Err(e) = ctx.store.abandon_deploy(id).await
        {
            problems.push(format!("deploy {id} could not be closed ({e})"));
        }
        problems
    }
}

#[async_trait]
impl Plan for MigrationPlan {
    fn kind(&self) -> PlanKind {
        PlanKind::Migrate
    }

    fn subject(&self) -> &str {
        &self.name
    }

    fn title(&self) -> String {
        format!(
            "{} {} {} {} {}",
            if self.recovering {
                "Recovering"
            } else {
                "Migrating"
            },
            self.name,
            if self.recovering { "at" } else { "to" },
            self.provider_shown,
            self.region
        )
    }

    fn steps(&self) -> Vec<PlanStep> {
        if self.recovering {
            RECOVERY_STEPS.to_vec()
        } else {
            STEPS.to_vec()
        }
    }

    fn body(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }

    async fn check(&self, step: usize, _ctx: &Ctx) -> Result<bool, StepFailure> {
        Ok(match self.step_id(step) {
            "back-up" | "fetch" => self.backup.is_some(),
            "keep-old" => self.old.is_some(),
            "move" => self.deploy.is_some(),
            _ => false,
        })
    }

    async fn apply(
        &mut self,
        step: usize,
        ctx: &Ctx,
        out: &dyn Replier,
    ) -> Result<String, StepFailure> {
        Ok(match self.step_id(step) {
            // From here on the end users are offline.
            "stop-old" => self
                .old_host(ctx)?
                .suspend()
                .await
                .map_err(OpsError::from)?,
            "back-up" => self.back_up(ctx).await?,
            "fetch" => self.fetch(ctx).await?,
            "keep-old" => {
                let row = existing(&ctx.store, &self.name).await?;
                let old = ctx
                    .store
                    .keep_old_server(&row, &self.from_server, ctx.clock.now())
                    .await
                    .map_err(OpsError::from)?;
                self.old = Some(old.id);
                if self.recovering {
                    format!("lost server {} recorded", old.server_id)
                } else {
                    format!("old server {} kept", old.server_id)
                }
            }
            "move" => self.move_row(ctx).await?,
            "deploy" => self.deploy_new(ctx, out).await?,
            "restore" => self.restore(ctx).await?,
            "health-check" => self.health(ctx).await?,
            "switch" => {
                let now = ctx.clock.now();
                ctx.store
                    .set_instance_status(&self.name, InstanceStatus::Ready, now)
                    .await
                    .map_err(OpsError::from)?;
                if self.recovering
                    && let Some(old) = self.old
                {
                    // Nothing to delete: the lost server is gone already.
                    ctx.store
                        .decide_old_server(old, OldServerState::Deleted, now)
                        .await
                        .map_err(OpsError::from)?;
                }
                "ready".into()
            }
            other => return Err(StepFailure::Failed(format!("no step {step} ({other})"))),
        })
    }

    /// Back to the old server, its gateway started again; a half-made new server is kept
    /// for a look (`/reconcile` lists it).
    async fn roll_back(&mut self, ctx: &Ctx) -> Undone {
        let mut problems = self.put_back(ctx).await;
        if self.recovering {
            let clean = problems.is_empty();
            let mut said = format!(
                "{} points at its lost server {} again: /recover {} tries again",
                self.name, self.from_server, self.name
            );
            if !clean {
                said = format!("{said}; {}", problems.join("; "));
            }
            if self.deploy.is_some() {
                said.push_str(". A new server, if one was made, is kept for you to look at: /reconcile lists it, /reconcile --fix deletes it");
            }
            return Undone { said, clean };
        }
        let started = match self.old_host(ctx) {
            Ok(host) => host.resume().await.map_err(OpsError::from),
            Err(e) => Err(e),
        };
        let said = match started {
            Ok(_) => format!(
                "{} is back on its old server {} ({} {}), its gateway was started again",
                self.name, self.from_server, self.from_provider, self.from_region
            ),
            Err(e) => {
                problems.push(format!(
                    "its gateway could NOT be started again ({e}): /resume {}, or look on the host",
                    self.name
                ));
                format!(
                    "{} is back on its old server {} ({} {})",
                    self.name, self.from_server, self.from_provider, self.from_region
                )
            }
        };
        let clean = problems.is_empty();
        let mut said = said;
        if !clean {
            said = format!("{said}; {}", problems.join("; "));
        }
        if self.deploy.is_some() {
            said.push_str(". A new server, if one was made, is kept for you to look at: /reconcile lists it, /reconcile --fix deletes it");
        }
        Undone { said, clean }
    }

    /// Once the backup is kept the migration can go on from anywhere; before that there
    /// is nothing to move, so it goes back.
    fn after_interruption(&self, step: usize) -> Recovery {
        if self.backup.is_some() && (self.recovering || step > 1) {
            Recovery::Resume(format!(
                "Its backup {} is kept",
                self.backup.unwrap_or_default()
            ))
        } else {
            Recovery::RollBack("No backup was kept yet".into())
        }
    }

    fn report(&self, finished: &Finished) -> Result<Message, String> {
        let old = format!("{} {}", self.from_provider, self.from_region);
        match finished {
            Finished::Done { elapsed, .. } => {
                let (done, source, old) = if self.recovering {
                    (
                        "recovered at",
                        "off-host backup",
                        format!(
                            "Its lost server {} at {old} is recorded as gone; what changed after that backup was taken is not in it.",
                            self.from_server
                        ),
                    )
                } else {
                    (
                        "moved to",
                        "backup",
                        format!(
                            "The old server {} at {old} is kept, its gateway stopped. /destroy {} --old deletes it.",
                            self.from_server, self.name
                        ),
                    )
                };
                Ok(Message::default()
                    .heading(format!(
                        "✓ {} {done} {} {}",
                        self.name, self.provider_shown, self.region
                    ))
                    .para(format!(
                        "New server {} ({}, {}/month) runs the state of {source} {} in {:.1}s.",
                        self.new_server.as_deref().unwrap_or("?"),
                        self.size,
                        money(self.monthly_cents, &self.currency),
                        self.backup.unwrap_or_default(),
                        elapsed.as_secs_f64()
                    ))
                    .para(old))
            }
            Finished::Halted { .. } | Finished::Paused { .. } | Finished::Aborted { .. } => {
                Err(format!("the {} of {} stopped", self.doing(), self.name))
            }
            Finished::Interrupted { step } => {
                let steps = self.steps();
                Err(format!(
                    "the {} of {} stopped before step {}/{} ({}) because clawops is stopping; it resumes when clawops starts again",
                    self.doing(),
                    self.name,
                    step + 1,
                    steps.len(),
                    steps[(*step).min(steps.len() - 1)].title
                ))
            }
            Finished::RolledBack { reason, undone, .. } => {
                let backup = self
                    .backup
                    .map(|b| format!(" Backup {b} holds the state."))
                    .unwrap_or_default();
                if self.old.is_none() && self.deploy.is_none() && self.backup.is_none() {
                    return Err(format!("{reason}; nothing moved: {}.{backup}", undone.said));
                }
                Err(format!(
                    "the {} of {} to {} {} failed: {reason}\n{}.{backup}",
                    self.doing(),
                    self.name,
                    self.provider_shown,
                    self.region,
                    undone.said
                ))
            }
        }
    }
}
