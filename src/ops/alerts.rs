//! Alerts: what the operators are told when the sweeps see trouble. After each sweep, one
//! pass turns the readings into incidents (a change of state counts after `[alerts]
//! flap_guard` readings in a row, both ways), tells each new incident once — enriched with
//! why, what changed since the last good reading and the gateway's own recent errors and
//! warnings, with Acknowledge, Silence 1h and Restart buttons — or many opened by one
//! sweep as one message grouped by provider and region; repeats an unacknowledged
//! critical one and escalates it; holds non-critical alerts from a channel in its quiet
//! hours and summarises them when the hours end; and answers each alert when its
//! instances recover, replacing its buttons with the outcome.
//!
//! Messages are found again by the references kept in the store, so all of this goes on
//! after a restart of clawops. An instance an action holds (a person's, or a heal) is
//! left to that action: no incident opens for it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};

use super::OpsError;
use super::door::Ctx;
use crate::chat::{AlertButton, Message, MessageRef, Outbound, Postbox};
use crate::config::{Feed, OpsChannel, Platform};
use crate::monitor::HealthState;
use crate::store::{
    AlertMark, AlertRow, IncidentRow, InstanceRow, InstanceStatus, NewIncident, SilenceRow,
    parse_ts,
};

/// Gateway log lines shown in an alert, at most.
const LOG_LINES_SHOWN: usize = 5;
/// Gateway log lines read to find them.
const LOG_LINES_READ: u32 = 300;
/// One log line's message is cut here.
const LOG_LINE_CHARS: usize = 160;
/// Instances named in a grouped message, at most.
const WORST_SHOWN: usize = 5;

/// The surfaces' postboxes, by platform: a surface attaches its own when it starts.
#[derive(Clone, Default)]
pub struct Postboxes {
    inner: Arc<RwLock<HashMap<Platform, Arc<dyn Postbox>>>>,
}

impl Postboxes {
    /// Ops channels on `platform` are reached through `postbox` from now on.
    pub fn attach(&self, platform: Platform, postbox: Arc<dyn Postbox>) {
        self.inner
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(platform, postbox);
    }

    pub fn get(&self, platform: Platform) -> Option<Arc<dyn Postbox>> {
        self.inner
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&platform)
            .cloned()
    }
}

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Pass {
    pub opened: usize,
    pub alerts: usize,
    pub recovered: usize,
    pub repeats: usize,
    pub escalations: usize,
    pub summaries: usize,
}

impl std::fmt::Display for Pass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut parts = Vec::new();
        if self.opened > 0 {
            parts.push(format!("{} opened", count(self.opened, "incident")));
        }
        if self.alerts > 0 {
            parts.push(format!("{} sent", count(self.alerts, "alert")));
        }
        if self.recovered > 0 {
            parts.push(format!("{} recovered", self.recovered));
        }
        if self.repeats > 0 {
            parts.push(format!("{} repeated", count(self.repeats, "alert")));
        }
        if self.escalations > 0 {
            parts.push(format!("{} escalated", count(self.escalations, "alert")));
        }
        if self.summaries > 0 {
            parts.push(count(self.summaries, "quiet-hours summary"));
        }
        write!(f, "{}", parts.join(", "))
    }
}

/// "1 alert", "2 alerts".
pub fn count(n: usize, what: &str) -> String {
    match (n, what.strip_suffix('y')) {
        (1, _) => format!("1 {what}"),
        (n, Some(stem)) => format!("{n} {stem}ies"),
        (n, None) => format!("{n} {what}s"),
    }
}

/// The pass after a sweep; `braked`: the brake holds, and unreachable instances open no
/// incidents (one alert has said clawops may have lost its network).
pub async fn after_sweep(ctx: &Ctx, braked: bool) -> Result<Pass, OpsError> {
    let now = ctx.clock.now();
    let mut pass = Pass::default();
    if ctx.config.heal.mode == crate::config::HealMode::Off {
        return Ok(pass);
    }
    let fleet = ctx.store.fleet().await?;
    let silences = ctx.store.silences(now).await?;
    let still_open = settle(ctx, &fleet, now, &mut pass).await?;
    open_new(ctx, &fleet, &still_open, braked, now, &mut pass).await?;
    tell_untold(ctx, &silences, now, &mut pass).await?;
    keep_asking(ctx, &silences, now, &mut pass).await?;
    summarise_quiet(ctx, now, &mut pass).await?;
    Ok(pass)
}

/// Open incidents: resolved when their instance recovered (or is no longer watched),
/// made worse when it got worse. Recoveries are told, per alert. Returns the instances
/// that still have an open incident.
async fn settle(
    ctx: &Ctx,
    fleet: &[InstanceRow],
    now: DateTime<Utc>,
    pass: &mut Pass,
) -> Result<HashSet<String>, OpsError> {
    let guard = i64::from(ctx.config.alerts.flap_guard);
    let by_name: HashMap<&str, &InstanceRow> = fleet.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut open = HashSet::new();
    let mut ended: BTreeMap<i64, Vec<(IncidentRow, &'static str)>> = BTreeMap::new();
    for incident in ctx.store.open_incidents().await? {
        let row = by_name.get(incident.instance.as_str());
        let watched = row.is_some_and(|r| r.status == InstanceStatus::Ready);
        let state = row.and_then(|r| r.health.as_deref().and_then(HealthState::parse));
        let resolution = if !watched {
            Some("no longer watched")
        } else if state == Some(HealthState::Healthy)
            && row.is_some_and(|r| r.health_streak >= guard)
        {
            Some("recovered")
        } else {
            None
        };
        if let Some(resolution) = resolution {
            ctx.store
                .resolve_incident(incident.id, resolution, now)
                .await?;
            if resolution == "recovered" {
                pass.recovered += 1;
            }
            if let Some(alert) = incident.alert_id {
                ended.entry(alert).or_default().push((incident, resolution));
            }
            continue;
        }
        if let (Some(state), Some(row)) = (state, row) {
            let worst = HealthState::parse(&incident.state).unwrap_or(HealthState::Degraded);
            if state.rank() > worst.rank() {
                let reasons = row.health_reasons.clone().unwrap_or_default();
                ctx.store
                    .update_incident(incident.id, state.as_str(), &reasons)
                    .await?;
                if state.critical()
                    && let Some(alert) = incident.alert_id
                {
                    unhold(ctx, alert, now).await?;
                }
            }
        }
        open.insert(incident.instance.clone());
    }
    for (alert, incidents) in ended {
        tell_recovery(ctx, alert, &incidents, now).await?;
    }
    Ok(open)
}

/// Incidents for instances bad for `flap_guard` readings in a row, with none open, and
/// no action holding them.
async fn open_new(
    ctx: &Ctx,
    fleet: &[InstanceRow],
    open: &HashSet<String>,
    braked: bool,
    now: DateTime<Utc>,
    pass: &mut Pass,
) -> Result<(), OpsError> {
    let guard = i64::from(ctx.config.alerts.flap_guard);
    for row in fleet {
        let Some(state) = row.health.as_deref().and_then(HealthState::parse) else {
            continue;
        };
        if row.status != InstanceStatus::Ready
            || state == HealthState::Healthy
            || row.health_streak < guard
            || open.contains(&row.name)
            || ctx.locks.holder(&row.name).is_some()
            || ctx.heals.healing(&row.name)
            || (braked && state == HealthState::Unreachable)
        {
            continue;
        }
        let opened_at = row
            .health_since
            .clone()
            .unwrap_or_else(|| crate::store::ts(now));
        ctx.store
            .open_incident(&NewIncident {
                instance: &row.name,
                provider: &row.provider,
                region: &row.region,
                state: state.as_str(),
                reasons: row.health_reasons.as_deref().unwrap_or(""),
                opened_at: &opened_at,
            })
            .await?;
        pass.opened += 1;
    }
    Ok(())
}

/// Posts `out` to every ops channel that gets `feed`, on any surface (silently in a
/// channel's quiet hours when `critical` is false).
pub async fn announce(ctx: &Ctx, feed: Feed, out: Outbound, critical: bool) {
    let now = ctx.clock.now();
    for channel in channels(ctx, feed) {
        let Some(postbox) = ctx.postboxes.get(channel.platform) else {
            continue;
        };
        let silent = !critical && channel.quiet().is_some_and(|q| q.contains(now));
        postbox
            .post(&channel.chat_id.text(), out.clone(), silent)
            .await;
    }
}

/// Posts `out` to every ops channel that gets `feed`; returns where it went.
pub async fn post_to(ctx: &Ctx, feed: Feed, out: Outbound) -> Vec<MessageRef> {
    let now = ctx.clock.now();
    let mut posted = Vec::new();
    for channel in channels(ctx, feed) {
        let Some(postbox) = ctx.postboxes.get(channel.platform) else {
            continue;
        };
        let silent = channel.quiet().is_some_and(|q| q.contains(now));
        if let Some(at) = postbox
            .post(&channel.chat_id.text(), out.clone(), silent)
            .await
        {
            posted.push(at);
        }
    }
    posted
}

/// Edits the message at `at`, on whichever surface holds it.
pub async fn edit_at(ctx: &Ctx, at: &MessageRef, out: Outbound) {
    if let Some(postbox) = ctx.postboxes.get(at.platform) {
        postbox.edit(at, out).await;
    }
}

/// An alert held back from quiet channels turned critical: it goes out there now.
async fn unhold(ctx: &Ctx, alert: i64, now: DateTime<Utc>) -> Result<(), OpsError> {
    let held = ctx.store.held_from(alert).await?;
    if held.is_empty() {
        return Ok(());
    }
    let Some(row) = ctx.store.alert(alert).await? else {
        return Ok(());
    };
    let text = format!("🔴 Now critical — {}", row.body);
    let out = with_buttons(alert_message(&text), alert);
    for (platform, chat) in held {
        let Some(surface) = ctx
            .config
            .ops_channels
            .iter()
            .find(|c| c.platform.as_str() == platform && c.chat_id.text() == chat)
            .map(|c| c.platform)
        else {
            continue;
        };
        let Some(postbox) = ctx.postboxes.get(surface) else {
            continue;
        };
        if let Some(at) = postbox.post(&chat, out.clone(), false).await {
            ctx.store
                .add_alert_message(alert, &at, "alert", now)
                .await?;
            ctx.store
                .release_held_alert(&platform, &chat, alert)
                .await?;
        }
    }
    Ok(())
}

/// Whether a silence in force covers `incident`.
fn silenced(incident: &IncidentRow, silences: &[SilenceRow]) -> Option<String> {
    silences
        .iter()
        .find(|s| match s.scope.as_str() {
            "instance" => s.value == incident.instance,
            "region" => s.value == incident.region,
            "provider" => s.value == incident.provider,
            _ => false,
        })
        .map(|s| s.until.clone())
}

/// Tells the open incidents not told yet (new ones, and those whose silence ended): one
/// message each, or one grouped message when there are more than `group_over`.
async fn tell_untold(
    ctx: &Ctx,
    silences: &[SilenceRow],
    now: DateTime<Utc>,
    pass: &mut Pass,
) -> Result<(), OpsError> {
    let untold: Vec<IncidentRow> = ctx
        .store
        .open_incidents()
        .await?
        .into_iter()
        .filter(|i| i.alert_id.is_none() && silenced(i, silences).is_none())
        .collect();
    if untold.is_empty() {
        return Ok(());
    }
    if untold.len() > ctx.config.alerts.group_over {
        tell(ctx, &untold, true, now).await?;
        pass.alerts += 1;
        return Ok(());
    }
    for incident in &untold {
        tell(ctx, std::slice::from_ref(incident), false, now).await?;
        pass.alerts += 1;
    }
    Ok(())
}

/// The ops channels that get `feed`, on any surface. With none configured, the console
/// (when it runs) gets everything: a first run on the built-in defaults sees its alerts.
pub fn channels(ctx: &Ctx, feed: Feed) -> Vec<OpsChannel> {
    if ctx.config.ops_channels.is_empty() {
        return ctx
            .postboxes
            .get(crate::config::Platform::Console)
            .map(|_| OpsChannel {
                platform: crate::config::Platform::Console,
                chat_id: crate::config::ChatRef::Text("console".into()),
                gets: Feed::ALL.to_vec(),
                quiet_hours: None,
                zone: "UTC".into(),
                briefing_at: "07:00".into(),
                weekly_on: "monday".into(),
            })
            .into_iter()
            .collect();
    }
    ctx.config
        .ops_channels
        .iter()
        .filter(|c| c.gets.contains(&feed))
        .cloned()
        .collect()
}

/// Posts one alert to the alert channels (held back from a quiet one unless critical)
/// and keeps where it went.
async fn tell(
    ctx: &Ctx,
    incidents: &[IncidentRow],
    grouped: bool,
    now: DateTime<Utc>,
) -> Result<i64, OpsError> {
    let message = if grouped {
        group_message(incidents, now)
    } else {
        single_message(ctx, &incidents[0], now).await
    };
    let body = message.plain();
    let ids: Vec<i64> = incidents.iter().map(|i| i.id).collect();
    let alert = ctx.store.add_alert(&ids, grouped, &body, now).await?;
    let critical = incidents.iter().any(is_critical);
    let out = with_buttons(message, alert);
    for channel in channels(ctx, Feed::Alerts) {
        let chat = channel.chat_id.text();
        if !critical && channel.quiet().is_some_and(|q| q.contains(now)) {
            ctx.store
                .hold_alert(channel.platform, &chat, alert, now)
                .await?;
            continue;
        }
        let Some(postbox) = ctx.postboxes.get(channel.platform) else {
            continue;
        };
        if let Some(at) = postbox.post(&chat, out.clone(), false).await {
            ctx.store
                .add_alert_message(alert, &at, "alert", now)
                .await?;
        }
    }
    ctx.metrics.alert_sent();
    Ok(alert)
}

fn is_critical(incident: &IncidentRow) -> bool {
    HealthState::parse(&incident.state).is_some_and(HealthState::critical)
}

fn mark(state: &str) -> &'static str {
    match HealthState::parse(state) {
        Some(s) if s.critical() => "🔴",
        Some(HealthState::Healthy) => "🟢",
        _ => "🟠",
    }
}

/// An alert's message: the first line is its heading, the rest its text (so the stored
/// plain body makes the same message again when it is edited).
fn alert_message(text: &str) -> Message {
    let (head, rest) = text.split_once('\n').unwrap_or((text, ""));
    let message = Message::default().heading(head);
    if rest.is_empty() {
        message
    } else {
        message.para(rest)
    }
}

fn with_buttons(message: Message, alert: i64) -> Outbound {
    Outbound::Buttons {
        message,
        buttons: vec![
            AlertButton::Acknowledge.button(alert),
            AlertButton::Silence.button(alert),
            AlertButton::Restart.button(alert),
        ],
    }
}

/// "12:01 UTC" for a kept time (the text itself when it is not one).
pub fn hhmm(ts: &str) -> String {
    parse_ts("a time", ts)
        .map(|t| t.format("%H:%M UTC").to_string())
        .unwrap_or_else(|_| ts.to_string())
}

/// "7 min", "2 h 5 min".
pub fn lasted(from: &str, to: DateTime<Utc>) -> String {
    let Ok(from) = parse_ts("a time", from) else {
        return "?".into();
    };
    let mins = (to - from).num_minutes().max(0);
    match mins {
        m if m < 1 => "under a minute".into(),
        m if m < 60 => format!("{m} min"),
        m => format!("{} h {} min", m / 60, m % 60),
    }
}

/// One incident, enriched: why, where, what changed since the last good reading, and
/// the gateway's own recent errors and warnings (never what end users wrote).
async fn single_message(ctx: &Ctx, incident: &IncidentRow, now: DateTime<Utc>) -> Message {
    let mut lines = vec![
        format!(
            "{} {} is {}",
            mark(&incident.state),
            incident.instance,
            incident.state
        ),
        format!(
            "Since {} ({}) · {} {} · incident #{}",
            hhmm(&incident.opened_at),
            lasted(&incident.opened_at, now),
            incident.provider,
            incident.region,
            incident.id
        ),
    ];
    if !incident.reasons.is_empty() {
        lines.push(format!("Why: {}", incident.reasons));
    }
    lines.push(changed(ctx, incident).await);
    if let Some(tried) =
        super::heal::tried_since(ctx, &incident.instance, &incident.opened_at).await
    {
        lines.push(tried);
    }
    lines.extend(gateway_errors(ctx, &incident.instance).await);
    Message::default()
        .heading(lines.remove(0))
        .para(lines.join("\n"))
}

/// What changed between the last good reading and the newest one.
async fn changed(ctx: &Ctx, incident: &IncidentRow) -> String {
    let good = ctx
        .store
        .last_reading_in(&incident.instance, "HEALTHY", &incident.opened_at)
        .await
        .ok()
        .flatten();
    let now = ctx
        .store
        .last_reading(&incident.instance)
        .await
        .ok()
        .flatten();
    let (Some(good), Some(now)) = (good, now) else {
        return "No good reading on record to compare with.".into();
    };
    let mut seen = Vec::new();
    if let (Some(a), Some(b)) = (&good.version, &now.version)
        && a != b
    {
        seen.push(format!("OpenClaw {a} → {b}"));
    }
    if let (Some(a), Some(b)) = (good.restarts, now.restarts)
        && b > a
    {
        seen.push(format!("the service restarted the gateway {} times", b - a));
    }
    if let (Some(a), Some(b)) = (&good.boot_id, &now.boot_id)
        && a != b
    {
        seen.push("the host rebooted".into());
    }
    if let (Some(a), Some(b)) = (&good.config_rev, &now.config_rev)
        && a != b
    {
        seen.push(format!("config revision {a} → {b}"));
    }
    let when = hhmm(&good.at);
    if seen.is_empty() {
        format!(
            "Nothing changed since the last good reading ({when}): no new version, config, restart or reboot."
        )
    } else {
        format!(
            "Changed since the last good reading ({when}): {}.",
            seen.join("; ")
        )
    }
}

/// The gateway's newest errors and warnings, redacted and cut short. Only those levels:
/// the lines that carry what end users wrote are debug lines, and none of them is shown.
async fn gateway_errors(ctx: &Ctx, instance: &str) -> Vec<String> {
    let Ok(Some(row)) = ctx.store.instance(instance).await else {
        return Vec::new();
    };
    let Ok(cloud) = ctx.providers.get(&row.provider) else {
        return Vec::new();
    };
    let host = cloud.host(
        &row.name,
        row.server_id.as_deref().unwrap_or_default(),
        row.ipv4.as_deref(),
    );
    let read = tokio::time::timeout(ctx.config.watch.probe_timeout, host.logs(LOG_LINES_READ));
    let lines = match read.await {
        Ok(Ok(lines)) => lines,
        Ok(Err(e)) => {
            return vec![format!(
                "Gateway log not readable: {}",
                first_line(&e.to_string())
            )];
        }
        Err(_) => return vec!["Gateway log not readable in time.".into()],
    };
    let shown = problem_lines(&lines);
    if shown.is_empty() {
        return vec!["No errors or warnings in the gateway's recent log.".into()];
    }
    let mut out = vec!["Gateway errors and warnings, newest last:".to_string()];
    out.extend(shown.into_iter().map(|l| format!("  {l}")));
    out
}

/// The newest error and warning lines, each "12:00:58 ERROR message", redacted.
pub fn problem_lines(lines: &[crate::gateway::LogLine]) -> Vec<String> {
    let mut shown: Vec<String> = lines
        .iter()
        .rev()
        .filter(|l| {
            matches!(
                l.level.to_ascii_uppercase().as_str(),
                "WARN" | "ERROR" | "FATAL"
            )
        })
        .take(LOG_LINES_SHOWN)
        .map(|l| {
            let time = l.time.get(11..19).unwrap_or("");
            let text = crate::secrets::redact(&l.message, &[]);
            let mut text: String = text.chars().filter(|c| !c.is_control()).collect();
            if text.chars().count() > LOG_LINE_CHARS {
                text = text.chars().take(LOG_LINE_CHARS).collect::<String>() + "…";
            }
            format!("{time} {} {text}", l.level.to_ascii_uppercase())
        })
        .collect();
    shown.reverse();
    shown
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").chars().take(200).collect()
}

/// Many incidents from one sweep: the count, by provider and region, and the worst.
fn group_message(incidents: &[IncidentRow], now: DateTime<Utc>) -> Message {
    let critical = incidents.iter().filter(|i| is_critical(i)).count();
    let head = format!(
        "{} {} instances in trouble at once ({critical} down)",
        if critical > 0 { "🔴" } else { "🟠" },
        incidents.len()
    );
    let mut places: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for i in incidents {
        *places
            .entry(format!("{} {}", i.provider, i.region))
            .or_default()
            .entry(i.state.clone())
            .or_default() += 1;
    }
    let mut lines: Vec<String> = places
        .into_iter()
        .map(|(place, states)| {
            let n: usize = states.values().sum();
            let states: Vec<String> = states.iter().map(|(s, k)| format!("{k} {s}")).collect();
            format!("{place}: {n} ({})", states.join(", "))
        })
        .collect();
    let mut worst: Vec<&IncidentRow> = incidents.iter().collect();
    worst.sort_by_key(|i| {
        std::cmp::Reverse(HealthState::parse(&i.state).map_or(0, HealthState::rank))
    });
    let named: Vec<String> = worst
        .iter()
        .take(WORST_SHOWN)
        .map(|i| format!("{} {} ({})", i.instance, i.state, i.reasons))
        .collect();
    let more = incidents.len().saturating_sub(WORST_SHOWN);
    lines.push(format!(
        "Worst: {}{}",
        named.join("; "),
        if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        }
    ));
    let first = incidents.iter().map(|i| i.id).min().unwrap_or_default();
    let last = incidents.iter().map(|i| i.id).max().unwrap_or_default();
    lines.push(format!(
        "Incidents #{first}–#{last}, seen by the sweep at {}. The buttons act on all of them; /alerts lists them.",
        now.format("%H:%M UTC")
    ));
    Message::default().heading(head).para(lines.join("\n"))
}

/// Recoveries of an alert's incidents: a reply to each of its messages, and when all of
/// them ended, the alert's buttons replaced by the outcome.
async fn tell_recovery(
    ctx: &Ctx,
    alert: i64,
    ended: &[(IncidentRow, &'static str)],
    now: DateTime<Utc>,
) -> Result<(), OpsError> {
    let recovered: Vec<&IncidentRow> = ended
        .iter()
        .filter(|(_, r)| *r == "recovered")
        .map(|(i, _)| i)
        .collect();
    let gone: Vec<&str> = ended
        .iter()
        .filter(|(_, r)| *r != "recovered")
        .map(|(i, _)| i.instance.as_str())
        .collect();
    let mut lines = Vec::new();
    match recovered.as_slice() {
        [] => {}
        [one] => lines.push(format!(
            "🟢 {} recovered at {}: {} for {} (since {}).",
            one.instance,
            now.format("%H:%M UTC"),
            one.state,
            lasted(&one.opened_at, now),
            hhmm(&one.opened_at)
        )),
        many => {
            let names: Vec<&str> = many.iter().map(|i| i.instance.as_str()).collect();
            let longest = many
                .iter()
                .map(|i| i.opened_at.as_str())
                .min()
                .unwrap_or_default();
            lines.push(format!(
                "🟢 {} recovered at {}: {} (down up to {}).",
                many.len(),
                now.format("%H:%M UTC"),
                clip_list(&names),
                lasted(longest, now)
            ));
        }
    }
    if !gone.is_empty() {
        lines.push(format!(
            "No longer watched (suspended, moved or destroyed), incident closed: {}.",
            clip_list(&gone)
        ));
    }
    let reply = Outbound::Message(Message::text(lines.join("\n")));
    for at in references(ctx, alert).await? {
        if let Some(postbox) = ctx.postboxes.get(at.platform) {
            postbox.reply(&at, reply.clone(), false).await;
        }
    }
    refresh(ctx, alert).await
}

fn clip_list(names: &[&str]) -> String {
    let shown: Vec<&str> = names.iter().take(10).copied().collect();
    let more = names.len().saturating_sub(10);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

async fn references(ctx: &Ctx, alert: i64) -> Result<Vec<MessageRef>, OpsError> {
    Ok(ctx
        .store
        .alert_messages(alert)
        .await?
        .iter()
        .filter_map(|m| m.reference())
        .collect())
}

/// Brings an alert's messages up to date: who acknowledged, what is silenced, and when
/// everything in it ended, the outcome in place of the buttons.
pub async fn refresh(ctx: &Ctx, alert: i64) -> Result<(), OpsError> {
    let Some(row) = ctx.store.alert(alert).await? else {
        return Ok(());
    };
    let incidents = ctx.store.alert_incidents(alert).await?;
    let now = ctx.clock.now();
    let open = incidents.iter().any(|i| i.resolved_at.is_none());
    if !open && row.closed_at.is_none() {
        ctx.store.mark_alert(alert, AlertMark::Closed, now).await?;
    }
    let text = format!(
        "{}\n{}",
        row.body,
        status_lines(ctx, &incidents, now).await?
    );
    let message = alert_message(text.trim_end());
    let out = if open {
        with_buttons(message, alert)
    } else {
        Outbound::Message(message)
    };
    let escalated = format!("⏫ Escalated — {text}");
    let escalated = if open {
        with_buttons(alert_message(escalated.trim_end()), alert)
    } else {
        Outbound::Message(alert_message(escalated.trim_end()))
    };
    for row in ctx.store.alert_messages(alert).await? {
        let Some(at) = row.reference() else {
            continue;
        };
        let Some(postbox) = ctx.postboxes.get(at.platform) else {
            continue;
        };
        let what = if row.kind == "escalation" {
            escalated.clone()
        } else {
            out.clone()
        };
        postbox.edit(&at, what).await;
    }
    Ok(())
}

/// The lines under an alert that say how it stands.
async fn status_lines(
    ctx: &Ctx,
    incidents: &[IncidentRow],
    now: DateTime<Utc>,
) -> Result<String, OpsError> {
    let mut lines = Vec::new();
    let mut ackers: Vec<String> = Vec::new();
    for i in incidents {
        if let (Some(by), Some(at)) = (&i.acknowledged_by, &i.acknowledged_at) {
            let line = format!("☑ Acknowledged by {by} at {}", hhmm(at));
            if !ackers.contains(&line) {
                ackers.push(line);
            }
        }
    }
    lines.extend(ackers);
    let silences = ctx.store.silences(now).await?;
    let silenced: Vec<String> = incidents
        .iter()
        .filter(|i| i.resolved_at.is_none())
        .filter_map(|i| silenced(i, &silences).map(|until| (i.instance.clone(), until)))
        .map(|(name, until)| format!("{name} until {}", hhmm(&until)))
        .collect();
    if !silenced.is_empty() {
        lines.push(format!("🔕 Silenced: {}", silenced.join(", ")));
    }
    let resolved: Vec<&IncidentRow> = incidents
        .iter()
        .filter(|i| i.resolved_at.is_some())
        .collect();
    if !resolved.is_empty() && resolved.len() == incidents.len() {
        let last = resolved
            .iter()
            .filter_map(|i| i.resolved_at.as_deref())
            .max()
            .unwrap_or_default();
        let first = incidents
            .iter()
            .map(|i| i.opened_at.as_str())
            .min()
            .unwrap_or_default();
        let end = parse_ts("a time", last).unwrap_or(now);
        let all_recovered = resolved
            .iter()
            .all(|i| i.resolution.as_deref() == Some("recovered"));
        lines.push(if all_recovered {
            format!("✓ Recovered at {} after {}", hhmm(last), lasted(first, end))
        } else {
            format!("✓ Closed at {}", hhmm(last))
        });
    } else if !resolved.is_empty() {
        lines.push(format!(
            "{} of {} recovered so far",
            resolved.len(),
            incidents.len()
        ));
    }
    Ok(lines.join("\n"))
}

/// Unacknowledged critical alerts: "still down" again every `repeat_every`, and to the
/// escalation channels once after `escalate_after`.
async fn keep_asking(
    ctx: &Ctx,
    silences: &[SilenceRow],
    now: DateTime<Utc>,
    pass: &mut Pass,
) -> Result<(), OpsError> {
    let cfg = &ctx.config.alerts;
    for alert in ctx.store.open_alerts().await? {
        let waiting: Vec<IncidentRow> = ctx
            .store
            .alert_incidents(alert.id)
            .await?
            .into_iter()
            .filter(|i| {
                i.resolved_at.is_none()
                    && i.acknowledged_at.is_none()
                    && is_critical(i)
                    && silenced(i, silences).is_none()
            })
            .collect();
        if waiting.is_empty() {
            continue;
        }
        let opened = parse_ts("alert time", &alert.opened_at).unwrap_or(now);
        let last = alert
            .repeated_at
            .as_deref()
            .and_then(|t| parse_ts("alert time", t).ok())
            .unwrap_or(opened);
        if alert.escalated_at.is_none() && elapsed(opened, now) >= cfg.escalate_after {
            escalate(ctx, &alert, &waiting, now).await?;
            pass.escalations += 1;
        } else if elapsed(last, now) >= cfg.repeat_every {
            repeat(ctx, &alert, &waiting, now).await?;
            pass.repeats += 1;
        }
    }
    Ok(())
}

fn elapsed(from: DateTime<Utc>, to: DateTime<Utc>) -> std::time::Duration {
    (to - from).to_std().unwrap_or_default()
}

fn still_down(waiting: &[IncidentRow], now: DateTime<Utc>) -> String {
    let since = waiting
        .iter()
        .map(|i| i.opened_at.as_str())
        .min()
        .unwrap_or_default();
    let names: Vec<String> = waiting
        .iter()
        .map(|i| format!("{} {}", i.instance, i.state))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    format!(
        "🔴 Still down since {} ({}), and nobody has acknowledged it: {}.",
        hhmm(since),
        lasted(since, now),
        clip_list(&names)
    )
}

async fn repeat(
    ctx: &Ctx,
    alert: &AlertRow,
    waiting: &[IncidentRow],
    now: DateTime<Utc>,
) -> Result<(), OpsError> {
    let out = with_buttons(Message::text(still_down(waiting, now)), alert.id);
    for at in references(ctx, alert.id).await? {
        if let Some(postbox) = ctx.postboxes.get(at.platform) {
            postbox.reply(&at, out.clone(), false).await;
        }
    }
    ctx.store
        .mark_alert(alert.id, AlertMark::Repeated, now)
        .await?;
    Ok(())
}

async fn escalate(
    ctx: &Ctx,
    alert: &AlertRow,
    waiting: &[IncidentRow],
    now: DateTime<Utc>,
) -> Result<(), OpsError> {
    let text = format!(
        "⏫ Escalated: {}\n{}",
        still_down(waiting, now).trim_start_matches("🔴 "),
        alert.body
    );
    let out = with_buttons(alert_message(&text), alert.id);
    for channel in channels(ctx, Feed::Escalations) {
        let Some(postbox) = ctx.postboxes.get(channel.platform) else {
            continue;
        };
        if let Some(at) = postbox
            .post(&channel.chat_id.text(), out.clone(), false)
            .await
        {
            ctx.store
                .add_alert_message(alert.id, &at, "escalation", now)
                .await?;
        }
    }
    ctx.store
        .mark_alert(alert.id, AlertMark::Escalated, now)
        .await?;
    // An escalation also counts as the repeat of this round.
    ctx.store
        .mark_alert(alert.id, AlertMark::Repeated, now)
        .await?;
    Ok(())
}

/// Channels whose quiet hours ended get one summary of what was held back.
async fn summarise_quiet(ctx: &Ctx, now: DateTime<Utc>, pass: &mut Pass) -> Result<(), OpsError> {
    for channel in channels(ctx, Feed::Alerts) {
        if channel.quiet().is_some_and(|q| q.contains(now)) {
            continue;
        }
        let chat = channel.chat_id.text();
        let held = ctx.store.held_alerts(channel.platform, &chat).await?;
        if held.is_empty() {
            continue;
        }
        let mut lines = Vec::new();
        let mut still_open = 0;
        for alert in &held {
            for i in ctx.store.alert_incidents(*alert).await? {
                lines.push(match &i.resolved_at {
                    None => {
                        still_open += 1;
                        format!(
                            "• {} {} since {} ({}), still open — incident #{}",
                            i.instance,
                            i.state,
                            hhmm(&i.opened_at),
                            i.reasons,
                            i.id
                        )
                    }
                    Some(end) => format!(
                        "• {} {} {}–{} ({}), recovered",
                        i.instance,
                        i.state,
                        hhmm(&i.opened_at),
                        hhmm(end),
                        i.reasons
                    ),
                });
            }
        }
        let head = format!(
            "🌙 While this chat was quiet: {} held back, {still_open} still open",
            count(held.len(), "alert")
        );
        lines.push("/alerts lists what is open; /ack ID acknowledges.".into());
        let out = Outbound::Message(Message::default().heading(head).para(lines.join("\n")));
        if let Some(postbox) = ctx.postboxes.get(channel.platform)
            && postbox.post(&chat, out, true).await.is_some()
        {
            ctx.store.release_held(channel.platform, &chat).await?;
            pass.summaries += 1;
        }
    }
    Ok(())
}

/// The open incidents of alert `alert` (for its buttons).
pub async fn open_of(ctx: &Ctx, alert: i64) -> Result<Vec<IncidentRow>, OpsError> {
    Ok(ctx
        .store
        .alert_incidents(alert)
        .await?
        .into_iter()
        .filter(|i| i.resolved_at.is_none())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::LogLine;

    fn line(level: &str, message: &str) -> LogLine {
        LogLine {
            time: "2026-12-02T12:00:58.000+00:00".into(),
            level: level.into(),
            message: message.into(),
        }
    }

    #[test]
    fn only_errors_and_warnings_are_shown_redacted_and_cut() {
        let lines = vec![
            line(
                "INFO",
                "Inbound message telegram:555 -> @bot (direct, 5 chars)",
            ),
            line("DEBUG", "telegram inbound: preview=\"my new PIN is 4711\""),
            line(
                "ERROR",
                &format!("provider said: key sk-{} refused", "a".repeat(40)),
            ),
            line("WARN", &"x".repeat(400)),
        ];
        let shown = problem_lines(&lines);
        assert_eq!(shown.len(), 2, "{shown:?}");
        assert!(
            shown[0].starts_with("12:00:58 ERROR provider said"),
            "{}",
            shown[0]
        );
        assert!(!shown[0].contains("aaaaaaaa"), "{}", shown[0]);
        assert!(shown[1].ends_with('…') && shown[1].chars().count() < 200);
        assert!(!shown.iter().any(|l| l.contains("PIN") || l.contains("555")));
    }

    #[test]
    fn a_stored_body_makes_the_same_message_again() {
        let m = Message::default()
            .heading("🔴 a is OFFLINE")
            .para("Since 12:00\nWhy: x");
        assert_eq!(alert_message(&m.plain()), m);
    }
}
