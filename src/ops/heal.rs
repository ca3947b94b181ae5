//! Healing: what the system mends on its own when `[heal] mode = "heal"`, and the brake
//! that stops it when clawops itself may be the problem.
//!
//! After a sweep, each ready instance seen in trouble (from its first bad reading) gets a
//! heal of its own, outside the sweep: a ladder of steps, each through the door as the
//! system with a probe after it — restart the gateway, then restart its service the hard
//! way (killed and started), then reboot the server at its cloud — stopping as soon as the
//! instance reads HEALTHY. A crash loop right after an update rolls back to the version it
//! ran before instead. Each instance has a budget of steps per window, heals may be held to
//! some hours, and at most `max_concurrent` run at once. A heal that mended the instance
//! posts a short report; one that could not tells the escalation channels what it tried,
//! and the alert (after the flap guard) carries the same.
//!
//! The brake: when more than `brake_share` of the instances a sweep probed turn
//! UNREACHABLE at once, no heal runs and one alert says clawops may have lost its network,
//! until a sweep reaches them again.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tokio_util::task::TaskTracker;

use super::door::{Ctx, Door};
use super::sweep::SweepReport;
use super::{Action, Actor, OpsError, Outcome, alerts};
use crate::chat::{Message, MessageRef, Outbound, Replier};
use crate::config::{Feed, HealMode};
use crate::monitor::HealthState;
use crate::store::{InstanceRow, InstanceStatus};

/// Restarts in a row, seen across the readings since the last good one, that make a
/// crash loop.
const CRASH_LOOP_RESTARTS: i64 = 3;
/// Where the brake's state is kept: since when it holds.
const BRAKE_KEY: &str = "watch.brake";

/// One step of the ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rung {
    /// Back to the version that ran before a crash loop began.
    RollBack,
    RestartGateway,
    /// The gateway's service killed and started (a hung process ignores a polite stop).
    RestartService,
    /// The server rebooted at its cloud.
    Reboot,
    /// The channel moved to the instance's standby.
    Failover,
}

impl Rung {
    /// What the report says was done.
    pub fn said(self) -> &'static str {
        match self {
            Rung::RollBack => "rolled back to the version before the update",
            Rung::RestartGateway => "restarted the gateway",
            Rung::RestartService => "killed and restarted the gateway's service",
            Rung::Reboot => "rebooted the server",
            Rung::Failover => "moved the channel to its standby",
        }
    }

    fn id(self) -> &'static str {
        match self {
            Rung::RollBack => "roll-back",
            Rung::RestartGateway => "restart",
            Rung::RestartService => "restart-service",
            Rung::Reboot => "reboot",
            Rung::Failover => "failover",
        }
    }
}

/// The heals running now, and the tasks they run on.
#[derive(Clone)]
pub struct Heals {
    running: Arc<Mutex<HashSet<String>>>,
    tasks: TaskTracker,
}

impl Default for Heals {
    fn default() -> Self {
        Heals {
            running: Arc::new(Mutex::new(HashSet::new())),
            tasks: TaskTracker::new(),
        }
    }
}

/// One instance's heal, released when dropped.
struct Claim {
    running: Arc<Mutex<HashSet<String>>>,
    name: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.name);
    }
}

impl Heals {
    /// Whether a heal of `name` is running.
    pub fn healing(&self, name: &str) -> bool {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(name)
    }

    /// A heal of `name`, unless one runs or `cap` heals run already.
    fn claim(&self, name: &str, cap: usize) -> Option<Claim> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        if running.contains(name) || running.len() >= cap {
            return None;
        }
        running.insert(name.to_string());
        Some(Claim {
            running: self.running.clone(),
            name: name.to_string(),
        })
    }

    /// Waits until every heal started so far has ended (tests, and a stop).
    pub async fn settled(&self) {
        self.tasks.close();
        self.tasks.wait().await;
        self.tasks.reopen();
    }
}

/// What the heal pass after a sweep did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HealPass {
    pub started: usize,
    /// The brake holds: no heal ran.
    pub braked: bool,
}

/// Whether the brake holds after `report`: too many instances unreachable at once.
pub fn brake_holds(ctx: &Ctx, report: &SweepReport) -> bool {
    let cfg = &ctx.config.heal;
    report.probed > 0
        && report.unreachable >= cfg.brake_min
        && report.unreachable as f64 > cfg.brake_share * report.probed as f64
}

/// Puts on or lets off the brake after a sweep, telling the alert channels once each
/// way. Returns whether it holds.
pub async fn brake(ctx: &Ctx, report: &SweepReport) -> Result<bool, OpsError> {
    let now = ctx.clock.now();
    let held = ctx.store.surface_value(BRAKE_KEY).await?;
    let holds = brake_holds(ctx, report);
    match (holds, held) {
        (true, None) => {
            ctx.store
                .set_surface_value(BRAKE_KEY, &crate::store::ts(now), now)
                .await?;
            let text = brake_evidence(ctx, report, now).await?;
            alerts::announce(ctx, Feed::Alerts, Outbound::Message(text), false).await;
        }
        (false, Some(_)) => {
            ctx.store.clear_surface_value(BRAKE_KEY).await?;
            let text = Message::default()
                .heading("✓ The sweep reaches the fleet again")
                .para(format!(
                    "{} of {} instances answered at {}. Heals and alerts for unreachable instances resume.",
                    report.probed - report.unreachable,
                    report.probed,
                    now.format("%H:%M UTC")
                ));
            alerts::announce(ctx, Feed::Alerts, Outbound::Message(text), false).await;
        }
        _ => {}
    }
    Ok(holds)
}

/// The brake's one alert: how many stopped answering, where, and what that suggests.
async fn brake_evidence(
    ctx: &Ctx,
    report: &SweepReport,
    now: DateTime<Utc>,
) -> Result<Message, OpsError> {
    let mut places: BTreeMap<String, usize> = BTreeMap::new();
    for row in ctx.store.fleet().await? {
        if row.status == InstanceStatus::Ready
            && row.health.as_deref() == Some(HealthState::Unreachable.as_str())
        {
            *places
                .entry(format!("{} {}", row.provider, row.region))
                .or_default() += 1;
        }
    }
    let spread: Vec<String> = places.iter().map(|(p, n)| format!("{p}: {n}")).collect();
    let share = report.unreachable * 100 / report.probed.max(1);
    Ok(Message::default()
        .heading(format!(
            "🛑 clawops may have lost its network: {} of {} instances ({share} %) stopped answering at once",
            report.unreachable, report.probed
        ))
        .para(format!(
            "Seen by the sweep at {}. Where: {}. {} place(s) at once point at this side of the wire (clawops' network, DNS, a firewall) more than at the hosts.\nNo heal runs and unreachable instances raise no alerts of their own until a sweep reaches them again; /health shows the rest.",
            now.format("%H:%M UTC"),
            spread.join(", "),
            places.len()
        )))
}

/// After a sweep, with healing on and the brake off: a heal for each instance in
/// trouble that has none running, budget left and no action holding it.
pub async fn start(door: &Door, braked: bool) -> Result<HealPass, OpsError> {
    let ctx = door.ctx();
    let cfg = &ctx.config.heal;
    let mut pass = HealPass {
        braked,
        ..HealPass::default()
    };
    if cfg.mode != HealMode::Heal || braked {
        return Ok(pass);
    }
    let now = ctx.clock.now();
    if cfg.hours().is_some_and(|h| !h.contains(now)) {
        return Ok(pass);
    }
    for row in ctx.store.fleet().await? {
        let state = row.health.as_deref().and_then(HealthState::parse);
        if row.status != InstanceStatus::Ready
            || matches!(state, None | Some(HealthState::Healthy))
            || ctx.locks.holder(&row.name).is_some()
            || budget_left(ctx, &row.name, now).await? == 0
        {
            continue;
        }
        // One heal per bad spell: a ladder that ran since this state began is not run
        // again (the alert takes over), and a heal with no step that fits is not started.
        if let Some((run, _)) = ctx.store.last_heal(&row.name).await?
            && row
                .health_since
                .as_deref()
                .is_some_and(|since| run.started_at.as_str() >= since)
        {
            continue;
        }
        if ladder(ctx, &row).await?.is_empty() {
            continue;
        }
        let Some(claim) = ctx.heals.claim(&row.name, cfg.max_concurrent.max(1)) else {
            continue;
        };
        let door = door.clone();
        ctx.heals.tasks.spawn(async move {
            let name = claim.name.clone();
            if let Err(e) = heal(&door, &name).await {
                tracing::error!(instance = %name, error = %e, "a heal failed");
            }
            drop(claim);
        });
        pass.started += 1;
    }
    Ok(pass)
}

/// Heal steps `name` may still take in the current window.
async fn budget_left(ctx: &Ctx, name: &str, now: DateTime<Utc>) -> Result<u32, OpsError> {
    let since = now - chrono::Duration::from_std(ctx.config.heal.window).unwrap_or_default();
    let used = ctx.store.heal_steps_since(name, since).await?;
    Ok(ctx
        .config
        .heal
        .budget
        .saturating_sub(u32::try_from(used).unwrap_or(u32::MAX)))
}

/// The steps for `row` as it reads now.
async fn ladder(ctx: &Ctx, row: &InstanceRow) -> Result<Vec<(Rung, Action)>, OpsError> {
    let reasons = row.health_reasons.as_deref().unwrap_or("");
    if reasons.contains("needs a person") {
        return Ok(Vec::new());
    }
    if let Some(previous) = crash_loop_after_update(ctx, row).await? {
        return Ok(vec![(
            Rung::RollBack,
            Action::Update(super::actions::lifecycle::Update::roll_back(
                &row.name, &previous,
            )),
        )]);
    }
    let restart =
        |hard| Action::Restart(super::actions::restart::Restart::healing(&row.name, hard));
    let mut steps = Vec::new();
    if reasons.contains("gateway hung") {
        // A hung process ignores a polite stop: straight to killing it.
        steps.push((Rung::RestartService, restart(true)));
    } else if row.health.as_deref() != Some(HealthState::Unreachable.as_str()) {
        steps.push((Rung::RestartGateway, restart(false)));
        steps.push((Rung::RestartService, restart(true)));
    }
    if rebootable(ctx, row).await? {
        steps.push((
            Rung::Reboot,
            Action::Reboot(super::actions::reboot::Reboot {
                name: row.name.clone(),
            }),
        ));
    }
    let standby = ctx
        .store
        .standbys_of(&row.name)
        .await?
        .into_iter()
        .any(|s| s.status == InstanceStatus::Ready);
    if standby && row.standby_of.is_none() {
        steps.push((
            Rung::Failover,
            Action::Failover(super::actions::failover::Failover {
                name: row.name.clone(),
            }),
        ));
    }
    Ok(steps)
}

/// A server is rebooted only at a cloud, and never when another instance lives on it.
async fn rebootable(ctx: &Ctx, row: &InstanceRow) -> Result<bool, OpsError> {
    let cloud = ctx.providers.get(&row.provider)?;
    if cloud.existing_hosts() {
        return Ok(false);
    }
    let shared = ctx.store.fleet().await?.iter().any(|o| {
        o.name != row.name
            && o.status != InstanceStatus::Destroyed
            && o.ipv4.is_some()
            && o.ipv4 == row.ipv4
    });
    Ok(!shared)
}

/// The version to go back to, when the instance crash-loops on a version it did not run
/// at its last good reading.
async fn crash_loop_after_update(ctx: &Ctx, row: &InstanceRow) -> Result<Option<String>, OpsError> {
    let Some(now) = ctx.store.last_reading(&row.name).await? else {
        return Ok(None);
    };
    let Some(good) = ctx
        .store
        .last_reading_in(&row.name, HealthState::Healthy.as_str(), &now.at)
        .await?
    else {
        return Ok(None);
    };
    let restarted = now.restarts.unwrap_or(0) - good.restarts.unwrap_or(0);
    // Only a host that answers and restarts its gateway can be crash-looping; the version
    // installed is asked only then (an unreachable host is not asked every sweep).
    if restarted < CRASH_LOOP_RESTARTS || now.state == HealthState::Unreachable.as_str() {
        return Ok(None);
    }
    let installed = ctx
        .providers
        .get(&row.provider)?
        .host(
            &row.name,
            row.server_id.as_deref().unwrap_or_default(),
            row.ipv4.as_deref(),
        )
        .versions()
        .await
        .ok()
        .and_then(|v| v.installed);
    match (good.version, installed) {
        (Some(before), Some(after)) if before != after => Ok(Some(before)),
        _ => Ok(None),
    }
}

/// A replier that keeps nothing: a heal's steps report through the heal, not a chat.
pub(super) struct Quiet;

#[async_trait::async_trait]
impl Replier for Quiet {
    async fn send(&self, _out: Outbound) -> Option<MessageRef> {
        None
    }
}

/// One heal of `name`: the ladder, step by step, until it reads HEALTHY, the budget is
/// spent, a person acts on it, or the steps run out. Then its report.
async fn heal(door: &Door, name: &str) -> Result<(), OpsError> {
    let ctx = door.ctx();
    let Some(row) = ctx.store.instance(name).await? else {
        return Ok(());
    };
    let before_state = row.health.clone().unwrap_or_default();
    let before_score = row.health_score.unwrap_or_default();
    let reasons = row.health_reasons.clone().unwrap_or_default();
    let started = std::time::Instant::now();
    let run = ctx
        .store
        .start_heal(name, &before_state, before_score, &reasons, ctx.clock.now())
        .await?;
    let mut done: Vec<String> = Vec::new();
    let mut after = (before_state.clone(), before_score);
    let mut outcome = "gave up";
    for (rung, action) in ladder(ctx, &row).await? {
        let now = ctx.clock.now();
        if ctx.shutdown.is_cancelled() {
            outcome = "stopped";
            break;
        }
        if ctx.locks.holder(name).is_some() {
            outcome = "left to a person's action";
            break;
        }
        if budget_left(ctx, name, now).await? == 0 {
            outcome = "out of budget";
            break;
        }
        let result = door.submit(&Actor::System, action, &Quiet).await;
        let ran = matches!(result, Outcome::Done(_));
        if ran && rung == Rung::Failover {
            // The channel lives elsewhere now: the standby answers for this instance.
            let standby = ctx
                .store
                .instance(name)
                .await?
                .and_then(|r| r.standby_of)
                .unwrap_or_default();
            let said = format!("{} {standby}", rung.said());
            ctx.store
                .add_heal_step(run, name, rung.id(), &said, ctx.clock.now())
                .await?;
            done.push(said);
            after = probe_after(ctx, &standby).await?;
            outcome = "failed over";
            break;
        }
        after = probe_after(ctx, name).await?;
        let said = if ran {
            format!("{} → {} {}", rung.said(), after.0, after.1)
        } else {
            format!(
                "{} failed: {}",
                rung.said(),
                first_line(&result.message().plain())
            )
        };
        ctx.store
            .add_heal_step(run, name, rung.id(), &said, ctx.clock.now())
            .await?;
        done.push(said);
        if after.0 == HealthState::Healthy.as_str() {
            outcome = "healed";
            break;
        }
        if rung == Rung::RollBack {
            break;
        }
    }
    ctx.store
        .finish_heal(run, &after.0, after.1, outcome, ctx.clock.now())
        .await?;
    let left = budget_left(ctx, name, ctx.clock.now()).await?;
    let report = Report {
        name,
        before: (&before_state, before_score, &reasons),
        after: (&after.0, after.1),
        done: &done,
        outcome,
        secs: started.elapsed().as_secs(),
        left,
        budget: ctx.config.heal.budget,
    };
    let (feed, text) = report.message();
    alerts::announce(ctx, feed, Outbound::Message(text), false).await;
    Ok(())
}

/// The state and score after a step, probed now (and recorded).
async fn probe_after(ctx: &Ctx, name: &str) -> Result<(String, i64), OpsError> {
    let Some(row) = ctx.store.instance(name).await? else {
        return Ok(("GONE".into(), 0));
    };
    let Some(server) = row.server_id.clone() else {
        return Ok(("GONE".into(), 0));
    };
    let probe = super::actions::probe_now(ctx, &row, &server).await?;
    Ok((probe.state.as_str().to_string(), i64::from(probe.score)))
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(160).collect()
}

/// A heal's short report.
struct Report<'a> {
    name: &'a str,
    before: (&'a str, i64, &'a str),
    after: (&'a str, i64),
    done: &'a [String],
    outcome: &'a str,
    secs: u64,
    left: u32,
    budget: u32,
}

impl Report<'_> {
    /// Where it goes (a mended instance to the alert channels; anything else to the
    /// escalation channels) and what it says.
    fn message(&self) -> (Feed, Message) {
        let (state, score, reasons) = self.before;
        let was = format!("Was {state} ({score}/100): {reasons}.");
        let tried = if self.done.is_empty() {
            "Nothing was tried: no step fits (it needs a person, or nothing here can reach it)."
                .to_string()
        } else {
            format!("Tried: {}.", self.done.join("; "))
        };
        let budget = format!(
            "Heal budget left: {} of {} steps this window.",
            self.left, self.budget
        );
        if self.outcome == "failed over" {
            let head = format!(
                "🩹 {} failed over: its channel is answered by its standby ({} {}/100)",
                self.name, self.after.0, self.after.1
            );
            return (
                Feed::Alerts,
                Message::default()
                    .heading(head)
                    .para(format!("{was}\n{tried}\n{budget}\n/failback {} brings the channel home once it is mended.", self.name)),
            );
        }
        if self.outcome == "healed" {
            let head = format!(
                "🩹 {} healed: {state} → {} ({score} → {}/100) in {} s",
                self.name, self.after.0, self.after.1, self.secs
            );
            return (
                Feed::Alerts,
                Message::default()
                    .heading(head)
                    .para(format!("{was}\n{tried}\n{budget}")),
            );
        }
        let head = format!(
            "⏫ {}: the heal {} — still {} ({}/100); a person is needed",
            self.name, self.outcome, self.after.0, self.after.1
        );
        // A channel is a person's to repair: the ladder only says how.
        let repair = if reasons.contains("channel") {
            format!(
                "\n/repair {} probes its channel, runs openclaw doctor --fix, puts clawops' channel config back, restarts and probes again.",
                self.name
            )
        } else {
            String::new()
        };
        (
            Feed::Escalations,
            Message::default()
                .heading(head)
                .para(format!("{was}\n{tried}\n{budget}{repair}")),
        )
    }
}

/// What the alert for `name` says about the heal before it, if one ran since `since`.
pub async fn tried_since(ctx: &Ctx, name: &str, since: &str) -> Option<String> {
    let (run, steps) = ctx.store.last_heal(name).await.ok().flatten()?;
    if run.started_at.as_str() < since || steps.is_empty() {
        return None;
    }
    let done: Vec<String> = steps.into_iter().map(|s| s.result).collect();
    Some(format!(
        "The heal tried ({}): {}.",
        run.outcome.as_deref().unwrap_or("running"),
        done.join("; ")
    ))
}
