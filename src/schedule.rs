//! When a job fires: 5-field POSIX cron schedules in an IANA time zone, and the one pure
//! function [`next_fire`] that says when a schedule fires next after an instant.
//!
//! POSIX (Vixie) cron, not Quartz: minute, hour, day of month, month, day of week; day of
//! week 0-7 with 0 and 7 both Sunday; names (`jan`, `mon`) and the `@hourly`, `@daily`,
//! `@weekly`, `@monthly`, `@yearly` shorthands; when both day fields are restricted (neither
//! starts with `*`) a day matches if either matches.
//!
//! Daylight-saving changes: a local time that does not exist that day (spring forward)
//! fires at the first instant after the gap; a local time that happens twice (fall back)
//! fires once, at its first occurrence. Schedules whose hour field is `*` (every hour, every
//! minute) keep running on real time instead: they skip the hour that does not exist and
//! run in both passes of the hour that repeats, as cron does.
//!
//! Own code rather than a crate: the `cron` crate is Quartz (Sunday = 1, day fields ANDed),
//! and tokio-cron-scheduler fixes a zone's UTC offset when a job is made, so a 07:00 Berlin
//! briefing drifts an hour after a change (`../shared/NOTES.md`).

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use thiserror::Error;

/// Why a schedule cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScheduleError {
    #[error(
        "a schedule has 5 fields (minute hour day-of-month month day-of-week), like \"0 7 * * 1-5\"; {0:?} has {1}"
    )]
    Fields(String, usize),
    #[error("{field} field {value:?}: {why}")]
    Field {
        field: &'static str,
        value: String,
        why: String,
    },
    #[error("unknown time zone {0:?}: use an IANA name like Europe/Berlin or America/New_York")]
    Zone(String),
}

/// A parsed schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    text: String,
    minutes: BTreeSet<u32>,
    hours: BTreeSet<u32>,
    days: BTreeSet<u32>,
    months: BTreeSet<u32>,
    /// 0-6, Sunday = 0.
    weekdays: BTreeSet<u32>,
    any_hour: bool,
    any_day: bool,
    any_weekday: bool,
}

struct Field {
    name: &'static str,
    min: u32,
    max: u32,
    names: &'static [&'static str],
}

const MINUTE: Field = Field {
    name: "minute",
    min: 0,
    max: 59,
    names: &[],
};
const HOUR: Field = Field {
    name: "hour",
    min: 0,
    max: 23,
    names: &[],
};
const DAY: Field = Field {
    name: "day-of-month",
    min: 1,
    max: 31,
    names: &[],
};
const MONTH: Field = Field {
    name: "month",
    min: 1,
    max: 12,
    names: &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ],
};
const WEEKDAY: Field = Field {
    name: "day-of-week",
    min: 0,
    max: 7,
    names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
};

impl Field {
    fn value(&self, s: &str) -> Result<u32, String> {
        let lower = s.to_ascii_lowercase();
        if let Some(i) = self.names.iter().position(|n| *n == lower) {
            // Month names count from 1, day names from 0.
            return Ok(i as u32 + if self.min == 1 { 1 } else { 0 });
        }
        let v: u32 = s
            .parse()
            .map_err(|_| format!("{s:?} is not a number{}", self.hint()))?;
        if v < self.min || v > self.max {
            return Err(format!("{v} is outside {}-{}", self.min, self.max));
        }
        Ok(v)
    }

    fn hint(&self) -> String {
        match self.names.first() {
            Some(_) => format!(" or a name like {}", self.names[1]),
            None => String::new(),
        }
    }

    fn parse(&self, text: &str) -> Result<BTreeSet<u32>, ScheduleError> {
        let bad = |why: String| ScheduleError::Field {
            field: self.name,
            value: text.to_string(),
            why,
        };
        let mut set = BTreeSet::new();
        for part in text.split(',') {
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => {
                    let step: u32 = s
                        .parse()
                        .ok()
                        .filter(|s| *s > 0)
                        .ok_or_else(|| bad(format!("step {s:?} is not a positive number")))?;
                    (r, step)
                }
                None => (part, 1),
            };
            let (lo, hi) = if range == "*" {
                (self.min, self.max)
            } else if let Some((a, b)) = range.split_once('-') {
                let (a, b) = (self.value(a).map_err(bad)?, self.value(b).map_err(bad)?);
                if a > b {
                    return Err(bad(format!("range {a}-{b} runs backwards")));
                }
                (a, b)
            } else {
                let v = self.value(range).map_err(bad)?;
                // `5/15` means from 5 to the end, every 15.
                (v, if part.contains('/') { self.max } else { v })
            };
            set.extend((lo..=hi).step_by(step as usize));
        }
        if set.is_empty() {
            return Err(bad("matches nothing".into()));
        }
        Ok(set)
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Schedule, ScheduleError> {
        let expanded = match text.trim() {
            "@hourly" => "0 * * * *",
            "@daily" | "@midnight" => "0 0 * * *",
            "@weekly" => "0 0 * * 0",
            "@monthly" => "0 0 1 * *",
            "@yearly" | "@annually" => "0 0 1 1 *",
            other => other,
        };
        let fields: Vec<&str> = expanded.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(ScheduleError::Fields(text.to_string(), fields.len()));
        }
        let weekdays = WEEKDAY
            .parse(fields[4])?
            .into_iter()
            .map(|d| d % 7)
            .collect();
        Ok(Schedule {
            text: text.trim().to_string(),
            minutes: MINUTE.parse(fields[0])?,
            hours: HOUR.parse(fields[1])?,
            days: DAY.parse(fields[2])?,
            months: MONTH.parse(fields[3])?,
            weekdays,
            any_hour: fields[1].starts_with('*'),
            any_day: fields[2].starts_with('*'),
            any_weekday: fields[4].starts_with('*'),
        })
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Schedule {
    /// Whether the schedule runs on local date `d`.
    fn runs_on(&self, d: NaiveDate) -> bool {
        if !self.months.contains(&d.month()) {
            return false;
        }
        let dom = self.days.contains(&d.day());
        let dow = self.weekdays.contains(&d.weekday().num_days_from_sunday());
        // As cron has it: when either day field starts with `*` (a step included, as in
        // `*/2`), both must match; when both are restricted, either may.
        if self.any_day || self.any_weekday {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// The instants local time `naive` stands for under this schedule's DST rules.
    fn instants(&self, tz: Tz, naive: NaiveDateTime) -> Vec<DateTime<Utc>> {
        match tz.from_local_datetime(&naive) {
            LocalResult::Single(t) => vec![t.with_timezone(&Utc)],
            LocalResult::Ambiguous(a, b) if self.any_hour => {
                vec![a.with_timezone(&Utc), b.with_timezone(&Utc)]
            }
            LocalResult::Ambiguous(a, _) => vec![a.with_timezone(&Utc)],
            // Every-hour schedules skip what did not happen; the others fire when the
            // clock lands after the gap.
            LocalResult::None if self.any_hour => vec![],
            LocalResult::None => (1..=180)
                .find_map(
                    |m| match tz.from_local_datetime(&(naive + Duration::minutes(m))) {
                        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => Some(t),
                        LocalResult::None => None,
                    },
                )
                .map(|t| {
                    // The first instant after the gap: the top of the minute the clock
                    // jumped to, less the minutes we stepped past inside the gap.
                    let t = t.with_timezone(&Utc);
                    first_valid(tz, t)
                })
                .into_iter()
                .collect(),
        }
    }
}

/// The earliest instant at or before `t` whose local time is valid and continuous with
/// `t` (walks back minute by minute to the transition).
fn first_valid(tz: Tz, t: DateTime<Utc>) -> DateTime<Utc> {
    let offset = |i: DateTime<Utc>| i.with_timezone(&tz).naive_local() - i.naive_utc();
    let here = offset(t);
    let mut at = t;
    for _ in 0..180 {
        let before = at - Duration::minutes(1);
        if offset(before) != here {
            break;
        }
        at = before;
    }
    at
}

/// How far ahead [`next_fire`] looks (a schedule like `0 0 29 2 *` fires every 4 years).
const HORIZON_DAYS: i64 = 8 * 366;

/// When `schedule` fires next in zone `tz`, strictly after `after`; `None` when it never
/// does (like `0 0 31 2 *`).
pub fn next_fire(schedule: &Schedule, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let start = after.with_timezone(&tz).date_naive();
    for offset in 0..HORIZON_DAYS {
        let day = start + Duration::days(offset);
        if !schedule.runs_on(day) {
            continue;
        }
        let mut best: Option<DateTime<Utc>> = None;
        for &h in &schedule.hours {
            for &m in &schedule.minutes {
                let Some(naive) = day.and_hms_opt(h, m, 0) else {
                    continue;
                };
                for t in schedule.instants(tz, naive) {
                    if t > after && best.is_none_or(|b| t < b) {
                        best = Some(t);
                    }
                }
            }
        }
        if best.is_some() {
            return best;
        }
    }
    None
}

/// An IANA zone by name.
pub fn zone(name: &str) -> Result<Tz, ScheduleError> {
    name.parse::<Tz>()
        .map_err(|_| ScheduleError::Zone(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn next(schedule: &str, tz: &str, after: &str) -> String {
        let s: Schedule = schedule.parse().unwrap();
        next_fire(&s, zone(tz).unwrap(), at(after))
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "never".into())
    }

    #[test]
    fn monday_is_1_and_sunday_is_0_or_7() {
        // 2026-12-02 is a Wednesday.
        assert_eq!(
            next("0 7 * * 1", "UTC", "2026-12-02T00:00:00Z"),
            "2026-12-07T07:00:00+00:00"
        );
        assert_eq!(
            next("0 7 * * 0", "UTC", "2026-12-02T00:00:00Z"),
            "2026-12-06T07:00:00+00:00"
        );
        assert_eq!(
            next("0 7 * * 7", "UTC", "2026-12-02T00:00:00Z"),
            "2026-12-06T07:00:00+00:00"
        );
        assert_eq!(
            next("0 7 * * mon-fri", "UTC", "2026-12-04T08:00:00Z"),
            "2026-12-07T07:00:00+00:00"
        );
    }

    #[test]
    fn both_day_fields_restricted_match_either() {
        // The 15th, or any Monday: from Wed 2 Dec the next is Mon 7 Dec, then Tue 15 Dec.
        assert_eq!(
            next("0 0 15 * 1", "UTC", "2026-12-02T00:00:00Z"),
            "2026-12-07T00:00:00+00:00"
        );
        assert_eq!(
            next("0 0 15 * 1", "UTC", "2026-12-14T01:00:00Z"),
            "2026-12-15T00:00:00+00:00"
        );
        // A `*/2` day field counts as unrestricted (as in Vixie cron): AND.
        assert_eq!(
            next("0 0 */2 * 1", "UTC", "2026-12-02T00:00:00Z"),
            "2026-12-07T00:00:00+00:00"
        );
    }

    #[test]
    fn berlin_spring_forward_fires_after_the_gap_once() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
        assert_eq!(
            next("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z"),
            "2026-03-29T01:00:00+00:00"
        );
        // The day after, 02:30 exists again (CEST: 00:30 UTC).
        assert_eq!(
            next("30 2 * * *", "Europe/Berlin", "2026-03-29T01:00:00Z"),
            "2026-03-30T00:30:00+00:00"
        );
        // 07:00 stays 07:00 local on both sides of the change.
        assert_eq!(
            next("0 7 * * *", "Europe/Berlin", "2026-03-28T07:00:00Z"),
            "2026-03-29T05:00:00+00:00"
        );
        assert_eq!(
            next("0 7 * * *", "Europe/Berlin", "2026-03-27T07:00:00Z"),
            "2026-03-28T06:00:00+00:00"
        );
        // Several times in the gap fire once, at its end.
        let s: Schedule = "*/15 2 * * *".parse().unwrap();
        let tz = zone("Europe/Berlin").unwrap();
        let first = next_fire(&s, tz, at("2026-03-28T23:00:00Z")).unwrap();
        assert_eq!(first, at("2026-03-29T01:00:00Z"));
        let second = next_fire(&s, tz, first).unwrap();
        assert_eq!(second, at("2026-03-30T00:00:00Z"));
    }

    #[test]
    fn berlin_fall_back_fires_once() {
        // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
        let s: Schedule = "30 2 * * *".parse().unwrap();
        let tz = zone("Europe/Berlin").unwrap();
        let first = next_fire(&s, tz, at("2026-10-24T12:00:00Z")).unwrap();
        assert_eq!(first, at("2026-10-25T00:30:00Z"));
        let second = next_fire(&s, tz, first).unwrap();
        assert_eq!(second, at("2026-10-26T01:30:00Z"));
    }

    #[test]
    fn new_york_changes_on_its_own_dates() {
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
        assert_eq!(
            next("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z"),
            "2026-03-08T07:00:00+00:00"
        );
        assert_eq!(
            next("0 7 * * *", "America/New_York", "2026-03-07T12:00:00Z"),
            "2026-03-08T11:00:00+00:00"
        );
        // 2026-11-01: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice, fires once.
        let s: Schedule = "30 1 * * *".parse().unwrap();
        let tz = zone("America/New_York").unwrap();
        let first = next_fire(&s, tz, at("2026-10-31T12:00:00Z")).unwrap();
        assert_eq!(first, at("2026-11-01T05:30:00Z"));
        assert_eq!(
            next_fire(&s, tz, first).unwrap(),
            at("2026-11-02T06:30:00Z")
        );
    }

    #[test]
    fn every_minute_runs_on_real_time_across_changes() {
        let s: Schedule = "*/30 * * * *".parse().unwrap();
        let tz = zone("Europe/Berlin").unwrap();
        // Fall back: both passes of the repeated hour run.
        let mut t = at("2026-10-24T23:45:00Z");
        let mut fired = Vec::new();
        for _ in 0..5 {
            t = next_fire(&s, tz, t).unwrap();
            fired.push(t.format("%H:%M").to_string());
        }
        assert_eq!(fired, ["00:00", "00:30", "01:00", "01:30", "02:00"]);
        // Spring forward: the missing hour is skipped, nothing doubles.
        let mut t = at("2026-03-29T00:15:00Z");
        let mut fired = Vec::new();
        for _ in 0..3 {
            t = next_fire(&s, tz, t).unwrap();
            fired.push(t.format("%H:%M").to_string());
        }
        assert_eq!(fired, ["00:30", "01:00", "01:30"]);
    }

    #[test]
    fn never_and_rare_schedules() {
        assert_eq!(next("0 0 31 2 *", "UTC", "2026-12-02T00:00:00Z"), "never");
        assert_eq!(
            next("0 0 29 2 *", "UTC", "2026-12-02T00:00:00Z"),
            "2028-02-29T00:00:00+00:00"
        );
        assert_eq!(
            next("@weekly", "UTC", "2026-12-02T00:00:00Z"),
            "2026-12-06T00:00:00+00:00"
        );
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        let e = "0 7 * *".parse::<Schedule>().unwrap_err().to_string();
        assert!(e.contains("5 fields"), "{e}");
        let e = "0 24 * * *".parse::<Schedule>().unwrap_err().to_string();
        assert!(
            e.contains("hour field") && e.contains("outside 0-23"),
            "{e}"
        );
        let e = "0 7 * * 8".parse::<Schedule>().unwrap_err().to_string();
        assert!(e.contains("day-of-week"), "{e}");
        let e = "*/0 * * * *".parse::<Schedule>().unwrap_err().to_string();
        assert!(e.contains("step"), "{e}");
        let e = "0 7 * * fri-mon"
            .parse::<Schedule>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("backwards"), "{e}");
        assert!(zone("Mars/Olympus").is_err());
    }
}
