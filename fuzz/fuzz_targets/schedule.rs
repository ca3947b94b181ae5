//! Cron schedules on any text: one that is read shows as typed and reads back the same,
//! and its next fire time is strictly after the instant asked about, in UTC and in a zone
//! that changes its clocks.

#![no_main]

use chrono::{DateTime, Utc};
use clawops::schedule::{Schedule, next_fire};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&[a, b, c, d], rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Ok(schedule) = text.parse::<Schedule>() else {
        return;
    };
    assert_eq!(schedule.to_string(), text.trim());
    assert_eq!(
        schedule.to_string().parse::<Schedule>(),
        Ok(schedule.clone())
    );
    // An instant from 2024 on, picked by the first four bytes.
    let secs = 1_704_067_200 + i64::from(u32::from_le_bytes([a, b, c, d]) % 300_000_000);
    let after: DateTime<Utc> = DateTime::from_timestamp(secs, 0).unwrap();
    for zone in [chrono_tz::Tz::UTC, chrono_tz::Europe::Berlin] {
        if let Some(t) = next_fire(&schedule, zone, after) {
            assert!(t > after, "{text:?} in {zone} after {after}: {t}");
        }
    }
});
