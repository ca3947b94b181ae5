//! The morning briefing and the weekly report: what an operator reads first thing. The
//! `briefings` job (every five minutes) sends each ops channel that gets `briefings` its
//! briefing once a day, at or after its local `briefing_at` (in its own `zone`, so a DST
//! change moves nothing), and on its `weekly_on` day the weekly report instead.
//!
//! A briefing is built from facts read from the store (fleet counts, changes, incidents,
//! heals, pending pairings, cost and its trend, servers billed while stopped, what needs a
//! decision, the audit head). The plain text needs no LLM; with `[llm]` the briefer writes
//! the summary from the same facts, and when the LLM's text holds a number the facts do
//! not, the plain text is sent instead. A PNG chart of health and cost over 14 days goes
//! with it (`crate::chart`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::OpsError;
use super::alerts::{count, lasted};
use super::door::Ctx;
use crate::chat::{Message, Outbound, Photo};
use crate::config::{Feed, OpsChannel};
use crate::monitor::HealthState;
use crate::provider::money;
use crate::store::{InstanceRow, InstanceStatus, parse_ts};

/// A morning briefing sent after its time by more than this is not sent that day.
const LATE: Duration = Duration::hours(6);
/// How many lines each list in a briefing shows.
const LIST: usize = 12;
/// The chart's days.
const CHART_DAYS: i64 = 14;

/// Which briefing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Every day: the last day (since the last briefing).
    Morning,
    /// Once a week, instead of that day's morning briefing: the last seven days.
    Weekly,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Morning => "morning",
            Kind::Weekly => "weekly",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Morning => "☀️ Morning briefing",
            Kind::Weekly => "📅 Weekly report",
        }
    }

    fn period(self) -> Duration {
        match self {
            Kind::Morning => Duration::days(1),
            Kind::Weekly => Duration::days(7),
        }
    }
}

/// Writes a briefing's summary from its facts (the LLM's briefer mode).
#[async_trait]
pub trait Writer: Send + Sync {
    async fn write(&self, facts: &str) -> Result<String, String>;
}

/// The writer, when `[llm]` is configured (attached at start).
#[derive(Clone, Default)]
pub struct Writers {
    inner: Arc<RwLock<Option<Arc<dyn Writer>>>>,
}

impl Writers {
    pub fn attach(&self, writer: Arc<dyn Writer>) {
        *self.inner.write().unwrap_or_else(|p| p.into_inner()) = Some(writer);
    }

    fn get(&self) -> Option<Arc<dyn Writer>> {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Which briefing `channel` is due at `now`, for which of its local days; `None` when
/// none is (not yet its time, more than six hours late, or briefings off). Whether it was
/// sent already is the caller's to check.
pub fn due(channel: &OpsChannel, now: DateTime<Utc>) -> Option<(Kind, NaiveDate)> {
    if !channel.gets.contains(&Feed::Briefings) {
        return None;
    }
    let times = channel.briefing_times().ok()?;
    let at = times.at?;
    let local = now.with_timezone(&times.zone);
    let date = local.date_naive();
    // The first instant of `date` at or after `at` local time (a time a DST change skips
    // comes at the first minute after the gap).
    let due_at = local_instant(date, at, times.zone)?;
    if now < due_at || now >= due_at + LATE {
        return None;
    }
    let kind = if times.weekly_on == Some(local.weekday()) {
        Kind::Weekly
    } else {
        Kind::Morning
    };
    Some((kind, date))
}

/// `time` on `date` in `zone` as an instant: the earlier of two (an hour repeated at the
/// end of summer time), or the first minute after a skipped hour.
fn local_instant(date: NaiveDate, time: chrono::NaiveTime, zone: Tz) -> Option<DateTime<Utc>> {
    use chrono::TimeZone;
    (0..=120).find_map(|minutes| {
        let t = date.and_time(time) + Duration::minutes(minutes);
        zone.from_local_datetime(&t)
            .earliest()
            .map(|d| d.with_timezone(&Utc))
    })
}

/// What a briefing says, gathered from the store.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub lines: Vec<(String, Vec<String>)>,
    /// The audit head: sequence number and the start of its hash.
    pub audit_head: Option<(i64, String)>,
}

impl Facts {
    /// The facts as plain text: one section per subject.
    pub fn text(&self) -> String {
        let mut out = Vec::new();
        for (title, lines) in &self.lines {
            out.push(format!("{title}:"));
            out.extend(lines.iter().map(|l| format!("- {l}")));
        }
        if let Some(head) = self.head_line() {
            out.push(head);
        }
        out.join("\n")
    }

    fn head_line(&self) -> Option<String> {
        self.audit_head
            .as_ref()
            .map(|(seq, hash)| format!("Audit head: #{seq} {hash}"))
    }

    /// The plain briefing.
    fn message(&self, heading: &str) -> Message {
        let mut m = Message::default().heading(heading);
        for (title, lines) in &self.lines {
            m = m.para(format!(
                "{title}\n{}",
                lines
                    .iter()
                    .map(|l| format!("• {l}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
        if let Some(head) = self.head_line() {
            m = m.para(head);
        }
        m
    }
}

/// Gathers the facts of a `kind` briefing covering `since` to `now`, times shown in `zone`.
pub async fn gather(
    ctx: &Ctx,
    kind: Kind,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    zone: Tz,
) -> Result<Facts, OpsError> {
    let fleet = ctx.store.fleet().await?;
    let mut facts = Facts::default();
    let clock = |t: &str| {
        parse_ts("a time", t)
            .map(|t| t.with_timezone(&zone).format("%a %H:%M").to_string())
            .unwrap_or_else(|_| t.to_string())
    };
    facts.lines.push(("Fleet".into(), fleet_lines(&fleet)));
    let changes: Vec<String> = ctx
        .store
        .changes_since(since)
        .await?
        .iter()
        .map(|r| format!("{} {} by {}", clock(&r.at), r.action, r.actor))
        .collect();
    facts.lines.push((
        "Changes since ".to_string() + &clock(&crate::store::ts(since)),
        capped(changes, "changes"),
    ));
    let mut trouble = Vec::new();
    for i in ctx.store.incidents_since(since).await? {
        let how = match (&i.resolved_at, &i.acknowledged_by) {
            (Some(end), _) => format!(
                "{}, {}",
                i.resolution.as_deref().unwrap_or("resolved"),
                lasted(&i.opened_at, parse_ts("a time", end).unwrap_or(now))
            ),
            (None, Some(by)) => format!(
                "open for {}, acknowledged by {by}",
                lasted(&i.opened_at, now)
            ),
            (None, None) => format!(
                "open for {}, nobody acknowledged",
                lasted(&i.opened_at, now)
            ),
        };
        trouble.push(format!(
            "{} {} from {}: {how}",
            i.instance,
            i.state,
            clock(&i.opened_at)
        ));
    }
    for h in ctx.store.heals_since(since).await? {
        let end = h
            .finished_at
            .as_deref()
            .and_then(|t| parse_ts("a time", t).ok())
            .unwrap_or(now);
        trouble.push(format!(
            "heal of {} ({}): {} in {}",
            h.instance,
            h.state_before,
            h.outcome.as_deref().unwrap_or("still running"),
            lasted(&h.started_at, end)
        ));
    }
    facts
        .lines
        .push(("Incidents and heals".into(), capped(trouble, "more")));
    let pending = ctx.store.pending_pairings(None).await?;
    if !pending.is_empty() {
        let mut by: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &pending {
            *by.entry(p.instance.as_str()).or_default() += 1;
        }
        let line = by
            .iter()
            .map(|(i, n)| format!("{i} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        facts.lines.push((
            "Pairing requests waiting".into(),
            vec![format!("{} in all: {line} (/pairings)", pending.len())],
        ));
    }
    facts
        .lines
        .push(("Cost".into(), cost_lines(ctx, &fleet, now, kind).await?));
    if ctx.offsite.is_some() {
        let runs = ctx.store.last_job_runs().await?;
        let line = match runs
            .iter()
            .find(|r| r.job == crate::jobs::JobKind::Backups.name())
        {
            Some(r) => format!(
                "{} {}: {}",
                if r.result == "failed" {
                    "FAILED"
                } else {
                    "last run"
                },
                clock(&r.started_at),
                r.summary.clone().unwrap_or_default()
            ),
            None => "no nightly backup has run yet".into(),
        };
        facts.lines.push(("Backups".into(), vec![line]));
    }
    if kind == Kind::Weekly {
        let found = super::ledger::find(ctx, now).await?;
        if !found.is_empty() {
            let mut lines: Vec<String> = found.iter().take(3).map(|s| s.line()).collect();
            lines.push(format!(
                "{} per month in all: /waste lists them",
                super::ledger::totals(&found)
            ));
            facts.lines.push(("Savings".into(), lines));
        }
    }
    let decide = decisions(ctx, &fleet, since).await?;
    if !decide.is_empty() {
        facts.lines.push(("Needs a decision".into(), decide));
    }
    facts.audit_head = ctx
        .store
        .audit_tail(1)
        .await?
        .first()
        .map(|r| (r.seq, r.hash.chars().take(16).collect()));
    Ok(facts)
}

fn capped(mut lines: Vec<String>, what: &str) -> Vec<String> {
    if lines.is_empty() {
        return vec!["none".into()];
    }
    if lines.len() > LIST {
        let more = lines.len() - LIST;
        lines.truncate(LIST);
        lines.push(format!("and {more} {what} more"));
    }
    lines
}

/// Instances by state, and their end users.
fn fleet_lines(fleet: &[InstanceRow]) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in fleet {
        let state = match r.status {
            InstanceStatus::Ready => r
                .health
                .as_deref()
                .and_then(HealthState::parse)
                .map_or("not probed yet", HealthState::as_str),
            InstanceStatus::Failed | InstanceStatus::Interrupted => "deploy stopped",
            other => other.as_str(),
        };
        *counts.entry(state).or_default() += 1;
    }
    let order = [
        "HEALTHY",
        "DEGRADED",
        "OFFLINE",
        "UNREACHABLE",
        "not probed yet",
        "deploying",
        "migrating",
        "suspended",
        "deploy stopped",
    ];
    let states = order
        .iter()
        .filter_map(|s| counts.get(s).map(|n| format!("{n} {s}")))
        .collect::<Vec<_>>()
        .join(", ");
    let mut lines = vec![if states.is_empty() {
        "no instances".to_string()
    } else {
        format!("{}: {states}", count(fleet.len(), "instance"))
    }];
    let users: i64 = fleet.iter().map(|r| r.end_users.max(0)).sum();
    let unknown = fleet.iter().filter(|r| r.users_unknown.is_some()).count();
    let mut line = count(users as usize, "end user");
    if unknown > 0 {
        line.push_str(&format!(" ({unknown} instances could not be counted)"));
    }
    lines.push(line);
    lines
}

/// The monthly run-rate and its trend per currency, and what is billed while stopped.
async fn cost_lines(
    ctx: &Ctx,
    fleet: &[InstanceRow],
    now: DateTime<Utc>,
    kind: Kind,
) -> Result<Vec<String>, OpsError> {
    let old = ctx.store.kept_old_servers(None).await?;
    let mut rate: BTreeMap<String, i64> = BTreeMap::new();
    for r in fleet {
        *rate.entry(r.currency.clone()).or_default() += r.monthly_cents;
    }
    for o in &old {
        *rate.entry(o.currency.clone()).or_default() += o.monthly_cents;
    }
    let today = now.date_naive();
    let month_start = today.with_day(1).unwrap_or(today);
    let back = today - chrono::Days::new(kind.period().num_days().max(1) as u64);
    let days = ctx.store.fleet_days(month_start.min(back)).await?;
    let mut lines = Vec::new();
    for (currency, cents) in &rate {
        let mine: Vec<_> = days.iter().filter(|d| &d.currency == currency).collect();
        let in_month = mine
            .iter()
            .filter(|d| d.day.as_str() >= month_start.to_string().as_str())
            .map(|d| d.monthly_cents)
            .sum::<i64>();
        let month_days = days_in_month(today);
        let mut line = format!("run-rate {}/month", money(*cents, currency));
        if in_month > 0 {
            line.push_str(&format!(
                ", about {} so far this month",
                money(in_month / month_days, currency)
            ));
        }
        let then = mine
            .iter()
            .find(|d| d.day == back.to_string())
            .map(|d| d.monthly_cents);
        if let Some(then) = then {
            let change = cents - then;
            line.push_str(&match change {
                0 => format!(", unchanged since {}", back.format("%-d %b")),
                c if c > 0 => format!(
                    ", up {} since {}",
                    money(c, currency),
                    back.format("%-d %b")
                ),
                c => format!(
                    ", down {} since {}",
                    money(-c, currency),
                    back.format("%-d %b")
                ),
            });
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push("nothing is billed".into());
    }
    for r in fleet {
        let why = match r.status {
            InstanceStatus::Suspended => "suspended",
            InstanceStatus::Failed | InstanceStatus::Interrupted if r.server_id.is_some() => {
                "its deploy stopped"
            }
            _ => continue,
        };
        lines.push(format!(
            "billed while stopped: {} ({why}), {}/month",
            r.name,
            money(r.monthly_cents, &r.currency)
        ));
    }
    for o in &old {
        lines.push(format!(
            "billed while stopped: {}'s old server {} in {} (kept after a move), {}/month",
            o.instance,
            o.server_id,
            o.region,
            money(o.monthly_cents, &o.currency)
        ));
    }
    Ok(lines)
}

fn days_in_month(day: NaiveDate) -> i64 {
    let first = day.with_day(1).unwrap_or(day);
    let next = first + chrono::Months::new(1);
    (next - first).num_days().max(28)
}

/// What waits for a person.
async fn decisions(
    ctx: &Ctx,
    fleet: &[InstanceRow],
    since: DateTime<Utc>,
) -> Result<Vec<String>, OpsError> {
    let mut lines = Vec::new();
    let open = ctx.store.open_incidents().await?;
    let unacked: Vec<&str> = open
        .iter()
        .filter(|i| i.acknowledged_by.is_none())
        .map(|i| i.instance.as_str())
        .collect();
    if !unacked.is_empty() {
        lines.push(format!(
            "{} open incidents nobody acknowledged: {} (/alerts)",
            unacked.len(),
            unacked.join(", ")
        ));
    }
    for h in ctx.store.heals_since(since).await? {
        if matches!(
            h.outcome.as_deref(),
            Some("gave up") | Some("out of budget")
        ) {
            lines.push(format!(
                "{}: the heal {}; look at it (/health {})",
                h.instance,
                h.outcome.unwrap_or_default(),
                h.instance
            ));
        }
    }
    for r in fleet {
        match r.status {
            InstanceStatus::Failed | InstanceStatus::Interrupted => lines.push(format!(
                "{}: its deploy stopped; /deploy {} --resume or /destroy {}",
                r.name, r.name, r.name
            )),
            _ => {}
        }
        if let Some(why) = &r.users_unknown {
            lines.push(format!("{}: end users unknown ({why})", r.name));
        }
    }
    let old = ctx.store.kept_old_servers(None).await?;
    if !old.is_empty() {
        lines.push(format!(
            "{} old servers kept after moves: delete them once the moves are good",
            old.len()
        ));
    }
    Ok(capped(lines, "more")
        .into_iter()
        .filter(|l| l != "none")
        .collect())
}

/// The numbers in `text`: runs of digits, with their decimal part (none inside a hash).
pub fn numbers(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut current = String::new();
    // A hash (the audit head's) is a name, not figures: its digits would hide a number
    // the LLM made up.
    let text: String = text
        .split_inclusive(|c: char| !c.is_ascii_alphanumeric())
        .map(|w| {
            let word = w.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
            if word.len() >= 16 && word.chars().all(|c| c.is_ascii_hexdigit()) {
                " ".repeat(w.len())
            } else {
                w.to_string()
            }
        })
        .collect();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let joins = (c == '.' || c == ',')
            && !current.is_empty()
            && chars.get(i + 1).is_some_and(char::is_ascii_digit);
        if c.is_ascii_digit() || joins {
            current.push(c);
        } else if !current.is_empty() {
            found.insert(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        found.insert(current);
    }
    found
}

/// The numbers the LLM wrote that the facts do not hold.
pub fn invented(written: &str, facts: &str) -> Vec<String> {
    let known = numbers(facts);
    numbers(written)
        .into_iter()
        .filter(|n| !known.contains(n))
        .collect()
}

/// A briefing ready to send.
#[derive(Debug, Clone)]
pub struct Briefing {
    pub message: Message,
    /// Who wrote it: "plain", "llm", or "plain (why the LLM's text was not used)".
    pub writer: String,
    pub chart: Option<Photo>,
}

/// Builds a `kind` briefing of `since` to `now` for a reader in `zone`.
pub async fn compose(
    ctx: &Ctx,
    kind: Kind,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
    zone: Tz,
) -> Result<Briefing, OpsError> {
    let facts = gather(ctx, kind, since, now, zone).await?;
    let heading = format!(
        "{} — {}",
        kind.title(),
        now.with_timezone(&zone).format("%a %-d %b %Y")
    );
    let text = facts.text();
    let (message, writer) = match ctx.briefer.get().filter(|_| ctx.config.briefings.llm) {
        None => (facts.message(&heading), "plain".to_string()),
        Some(w) => match w.write(&text).await {
            Ok(written) if !written.trim().is_empty() => {
                let made_up = invented(&written, &text);
                if made_up.is_empty() {
                    let mut m = Message::default().heading(&heading).para(written.trim());
                    if let Some(head) = facts.head_line() {
                        m = m.para(head);
                    }
                    (m, "llm".to_string())
                } else {
                    tracing::warn!(numbers = ?made_up, "the briefer wrote numbers the facts do not hold: plain text sent");
                    (
                        facts.message(&heading),
                        format!(
                            "plain (the LLM wrote numbers not in the facts: {})",
                            made_up.join(", ")
                        ),
                    )
                }
            }
            Ok(_) => (
                facts.message(&heading),
                "plain (the LLM wrote nothing)".into(),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "the briefer failed: plain text sent");
                (facts.message(&heading), "plain (the LLM failed)".into())
            }
        },
    };
    let chart = if ctx.config.briefings.chart {
        match chart(ctx, now).await {
            Ok(photo) => Some(photo),
            Err(e) => {
                tracing::error!(error = %e, "the briefing's chart could not be made");
                None
            }
        }
    } else {
        None
    };
    Ok(Briefing {
        message,
        writer,
        chart,
    })
}

/// The 14-day chart, also saved beside the store (the console shows its path).
async fn chart(ctx: &Ctx, now: DateTime<Utc>) -> Result<Photo, OpsError> {
    let first = now.date_naive() - chrono::Days::new(CHART_DAYS as u64 - 1);
    let health: BTreeMap<String, f64> = ctx
        .store
        .health_days(first.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
        .await?
        .into_iter()
        .map(|d| (d.day, d.score))
        .collect();
    let days = ctx.store.fleet_days(first).await?;
    // The currency most of the fleet is billed in.
    let mut by: BTreeMap<&str, i64> = BTreeMap::new();
    for d in &days {
        *by.entry(d.currency.as_str()).or_default() += d.instances;
    }
    let currency = by
        .iter()
        .max_by_key(|(_, n)| **n)
        .map(|(c, _)| c.to_string())
        .unwrap_or_else(|| "€".into());
    let points: Vec<crate::chart::Day> = (0..CHART_DAYS as u64)
        .map(|i| {
            let date = first + chrono::Days::new(i);
            let key = date.to_string();
            crate::chart::Day {
                date,
                health: health.get(&key).copied(),
                cost: days
                    .iter()
                    .find(|d| d.day == key && d.currency == currency)
                    .map(|d| d.monthly_cents as f64 / 100.0),
            }
        })
        .collect();
    let b = &ctx.config.briefings;
    let png = crate::chart::health_and_cost(&points, &currency, b.chart_width, b.chart_height)
        .map_err(|e| OpsError::Refused(e.to_string()))?;
    let saved = ctx
        .config
        .store
        .path
        .parent()
        .map(|d| d.join("briefing-chart.png"))
        .unwrap_or_else(|| "briefing-chart.png".into());
    let saved = match tokio::fs::write(&saved, &png).await {
        Ok(()) => Some(saved),
        Err(e) => {
            tracing::warn!(path = %saved.display(), error = %e, "the chart could not be saved");
            None
        }
    };
    Ok(Photo {
        png: Arc::new(png),
        name: format!("fleet-{}.png", now.format("%Y-%m-%d")),
        caption: format!(
            "Health and monthly cost, {CHART_DAYS} days to {}",
            now.format("%-d %b")
        ),
        saved,
    })
}

/// The `briefings` job: today's run-rate kept, then each ops channel whose briefing is
/// due gets it, once.
pub async fn run(ctx: &Ctx) -> Result<String, OpsError> {
    let now = ctx.clock.now();
    ctx.store.record_fleet_day(now).await?;
    let mut sent = Vec::new();
    for channel in super::alerts::channels(ctx, Feed::Briefings) {
        let Some((kind, date)) = due(&channel, now) else {
            continue;
        };
        let platform = channel.platform.as_str();
        let chat = channel.chat_id.text();
        if ctx
            .store
            .briefed(platform, &chat, kind.as_str(), date)
            .await?
        {
            continue;
        }
        let Some(postbox) = ctx.postboxes.get(channel.platform) else {
            continue;
        };
        let zone = channel
            .briefing_times()
            .map(|t| t.zone)
            .unwrap_or(chrono_tz::UTC);
        let since = match (kind, ctx.store.last_briefing(platform, &chat).await?) {
            (Kind::Morning, Some(last)) => parse_ts("a briefing", &last)
                .map(|t| t.max(now - Duration::days(7)))
                .unwrap_or(now - kind.period()),
            _ => now - kind.period(),
        };
        let briefing = compose(ctx, kind, since, now, zone).await?;
        let silent = channel.quiet().is_some_and(|q| q.contains(now));
        if postbox
            .post(&chat, Outbound::Message(briefing.message), silent)
            .await
            .is_none()
        {
            tracing::warn!(%platform, %chat, "a briefing could not be delivered; the next run tries again");
            continue;
        }
        if let Some(photo) = briefing.chart {
            postbox.post(&chat, Outbound::Photo(photo), true).await;
        }
        ctx.store
            .record_briefing(platform, &chat, kind.as_str(), date, &briefing.writer, now)
            .await?;
        sent.push(format!(
            "{} to {platform} {chat} ({})",
            kind.as_str(),
            briefing.writer
        ));
    }
    Ok(if sent.is_empty() {
        "no briefing due".into()
    } else {
        format!("sent {}", sent.join("; "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ChatRef, Platform};

    fn berlin() -> OpsChannel {
        OpsChannel {
            platform: Platform::Telegram,
            chat_id: ChatRef::Number(-100),
            gets: vec![Feed::Briefings],
            quiet_hours: None,
            zone: "Europe/Berlin".into(),
            briefing_at: "07:00".into(),
            weekly_on: "monday".into(),
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_briefing_is_due_at_seven_local_on_both_sides_of_a_dst_change() {
        let c = berlin();
        // Saturday 28 March 2026, winter time: 07:00 in Berlin is 06:00 UTC.
        assert_eq!(due(&c, at("2026-03-28T05:59:00Z")), None);
        let sat = NaiveDate::from_ymd_opt(2026, 3, 28).unwrap();
        assert_eq!(
            due(&c, at("2026-03-28T06:00:00Z")),
            Some((Kind::Morning, sat))
        );
        // Sunday 29 March, summer time from 02:00: 07:00 in Berlin is 05:00 UTC.
        assert_eq!(due(&c, at("2026-03-29T04:55:00Z")), None);
        let sun = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        assert_eq!(
            due(&c, at("2026-03-29T05:00:00Z")),
            Some((Kind::Morning, sun))
        );
        // Back to winter time on Sunday 25 October: 07:00 is 06:00 UTC again.
        assert_eq!(due(&c, at("2026-10-25T05:00:00Z")), None);
        let oct = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        assert_eq!(
            due(&c, at("2026-10-25T06:00:00Z")),
            Some((Kind::Morning, oct))
        );
        // More than six hours late: not that day.
        assert_eq!(due(&c, at("2026-10-25T12:00:00Z")), None);
        // Monday brings the weekly report instead.
        let mon = NaiveDate::from_ymd_opt(2026, 3, 30).unwrap();
        assert_eq!(
            due(&c, at("2026-03-30T05:00:00Z")),
            Some((Kind::Weekly, mon))
        );
    }

    #[test]
    fn a_time_a_dst_change_skips_comes_right_after_the_gap() {
        let c = OpsChannel {
            briefing_at: "02:30".into(),
            ..berlin()
        };
        // 29 March 2026: 02:00-03:00 does not exist in Berlin; 03:00 CEST is 01:00 UTC.
        assert_eq!(due(&c, at("2026-03-29T00:59:00Z")), None);
        assert!(due(&c, at("2026-03-29T01:00:00Z")).is_some());
    }

    #[test]
    fn off_and_channels_without_briefings_get_none() {
        let off = OpsChannel {
            briefing_at: "off".into(),
            ..berlin()
        };
        assert_eq!(due(&off, at("2026-03-28T06:00:00Z")), None);
        let alerts_only = OpsChannel {
            gets: vec![Feed::Alerts],
            ..berlin()
        };
        assert_eq!(due(&alerts_only, at("2026-03-28T06:00:00Z")), None);
    }

    #[test]
    fn numbers_not_in_the_facts_are_found() {
        let facts = "Fleet:\n- 3 instances: 2 HEALTHY, 1 DEGRADED\n- run-rate €12.50/month";
        assert!(invented("Two of 3 are HEALTHY; €12.50 a month.", facts).is_empty());
        assert_eq!(invented("3 instances, 4 HEALTHY", facts), vec!["4"]);
        assert_eq!(invented("€12.75 a month", facts), vec!["12.75"]);
    }

    #[test]
    fn a_hash_in_the_facts_hides_no_invented_number() {
        let facts = "Fleet:\n- 2 instances: 2 HEALTHY\nAudit head: #12 3a7fe0c41b9d22e8aa7c0d5e6f718293a4b5c6d7e8f90123456789abcdef0a1b";
        assert_eq!(invented("All 7 instances are healthy", facts), vec!["7"]);
        assert!(invented("2 HEALTHY; audit head #12", facts).is_empty());
    }
}
