//! The watch II: alerts on the simulated cloud with an injected clock. One alert per
//! incident after the flap guard; none for a bad reading mended before the guard; the
//! alert enriched (why, what changed, the gateway's errors, never end users' text); a
//! region outage as one grouped message; repeats and escalation at their times, stopped
//! by Acknowledge; quiet hours held and summarised; recovery as a reply to the right
//! message after a restart of clawops; the buttons, role-checked as the presser.

use std::sync::Arc;
use std::time::Duration;

use clawops::chat::recorder::{Posted, Postings, Recorder};
use clawops::config::Platform;
use clawops::ops::Outcome;

#[path = "common/door_fx.rs"]
mod door_fx;
#[path = "common/watch_fx.rs"]
mod watch_fx;
use door_fx::{Fx, OPERATOR};
use watch_fx::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_alert_per_incident_after_the_flap_guard_and_a_reply_on_recovery() {
    let w = watch(&["ok-bot", "down-bot"]).await;
    w.sweep().await;
    w.knob("down-bot", "gateway_down", true.into()).await;
    w.sweep().await;
    assert!(
        w.posts.take().is_empty(),
        "one bad reading is not an alert yet"
    );
    let said = w.sweep().await;
    assert!(said.contains("1 incident opened, 1 alert sent"), "{said}");
    let posted = w.posts.take();
    let alerts = posts_in(&posted, ALERTS_CHAT);
    assert_eq!(alerts.len(), 1, "{posted:?}");
    let text = alerts[0].text();
    assert!(text.starts_with("🔴 down-bot is OFFLINE"), "{text}");
    assert!(text.contains("Why: gateway down"), "{text}");
    assert_eq!(
        alerts[0].buttons(),
        ["Acknowledge", "Silence 1h", "Restart"]
    );
    for _ in 0..3 {
        w.sweep().await;
    }
    assert!(
        posts_in(&w.posts.take(), ALERTS_CHAT).is_empty(),
        "one message per incident"
    );
    // Back: after the guard, a reply with the downtime, and the buttons give way to the
    // outcome.
    w.knob("down-bot", "gateway_down", false.into()).await;
    w.sweep().await;
    assert!(
        replies(&w.posts.take()).is_empty(),
        "one good reading is not a recovery"
    );
    w.sweep().await;
    let posted = w.posts.take();
    let Posted::Post { at: first, .. } = &alerts[0] else {
        unreachable!()
    };
    let back = replies(&posted);
    assert_eq!(back.len(), 1, "{posted:?}");
    let Posted::Reply { to, .. } = &back[0] else {
        unreachable!()
    };
    assert_eq!(to, first);
    assert!(
        back[0]
            .text()
            .contains("down-bot recovered at 12:08 UTC: OFFLINE for 6 min"),
        "{}",
        back[0].text()
    );
    let edit = posted
        .iter()
        .find(|p| matches!(p, Posted::Edit { at, .. } if at == first))
        .expect("the alert is edited");
    assert!(
        edit.text().contains("✓ Recovered at 12:08 UTC"),
        "{}",
        edit.text()
    );
    assert!(edit.buttons().is_empty());
    let (said, _) = w.fx.say_as(VIEWER, "/alerts").await;
    assert!(said.contains("No open incidents"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_reading_mended_before_the_guard_sends_no_alert() {
    let w = watch(&["flaky-bot"]).await;
    w.knob("flaky-bot", "gateway_down", true.into()).await;
    w.sweep().await;
    // What a heal does at the first bad reading (the next issue): a restart, as the
    // system, through the door.
    let restart = clawops::command::parse("/restart flaky-bot").unwrap();
    let outcome =
        w.fx.app
            .bot
            .door()
            .submit(&clawops::ops::Actor::System, restart, &Recorder::new())
            .await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    for _ in 0..3 {
        w.sweep().await;
    }
    assert!(w.posts.take().is_empty());
    assert!(w.fx.app.store.open_incidents().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alert_says_why_what_changed_and_the_gateways_errors_but_no_end_user_text() {
    let w = watch(&["alice-bot"]).await;
    w.sweep().await; // a good reading on 2026.9.6
    let line = |level: &str, msg: &str| {
        serde_json::json!({
            "0": "{\"subsystem\":\"gateway/channels/telegram\"}",
            "_meta": {"logLevelName": level},
            "time": "2026-12-07T12:01:30.000+00:00",
            "message": msg,
        })
        .to_string()
    };
    w.knob(
        "alice-bot",
        "log",
        serde_json::json!([
            line(
                "INFO",
                "Inbound message telegram:555 -> @alice (direct, 31 chars)"
            ),
            line(
                "DEBUG",
                "telegram inbound: preview=\"my bank PIN is 4711, remember it\""
            ),
            line(
                "ERROR",
                "telegram polling failed: 409 Conflict: terminated by other getUpdates request"
            ),
            line("WARN", "event loop delay 2300 ms"),
        ]),
    )
    .await;
    w.knob("alice-bot", "openclaw_version", "2026.9.7".into())
        .await;
    w.knob("alice-bot", "channel_stopped", true.into()).await;
    w.sweep().await;
    w.sweep().await;
    let alerts = posts_in(&w.posts.take(), ALERTS_CHAT);
    assert_eq!(alerts.len(), 1);
    let text = alerts[0].text();
    assert!(text.starts_with("🟠 alice-bot is DEGRADED"), "{text}");
    assert!(
        text.contains("Why: channel stopped: telegram:default"),
        "{text}"
    );
    assert!(
        text.contains(
            "Changed since the last good reading (12:01 UTC): OpenClaw 2026.9.6 → 2026.9.7"
        ),
        "{text}"
    );
    assert!(
        text.contains("12:01:30 ERROR telegram polling failed: 409"),
        "{text}"
    );
    assert!(text.contains("12:01:30 WARN event loop delay"), "{text}");
    assert!(
        !text.contains("PIN") && !text.contains("4711") && !text.contains("telegram:555"),
        "end users' messages never reach an alert: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_outage_arrives_as_one_grouped_message_whose_restart_asks_first() {
    let names: Vec<String> = (1..=20).map(|i| format!("bot-{i:02}")).collect();
    let w = watch_at(noon(), "", &names).await;
    w.sweep().await;
    for name in &names {
        w.knob(name, "gateway_down", true.into()).await;
    }
    w.sweep().await;
    w.sweep().await;
    let alerts = posts_in(&w.posts.take(), ALERTS_CHAT);
    assert_eq!(alerts.len(), 1, "one message for the outage");
    let text = alerts[0].text();
    assert!(
        text.starts_with("🔴 20 instances in trouble at once (20 down)"),
        "{text}"
    );
    assert!(text.contains("sim nbg1: 20 (20 OFFLINE)"), "{text}");
    assert!(text.contains("and 15 more"), "{text}");
    let alert = alert_of(&alerts[0]);
    // Restart acts on the group, and asks as a bulk restart does.
    let outcome = w.press(OPERATOR, "rst", &alert).await;
    let Outcome::Confirm { id, message } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        message.plain().contains("Restart 20 instances"),
        "{}",
        message.plain()
    );
    let (said, done) = w.fx.press_as(OPERATOR, &id).await;
    assert!(done, "{said}");
    let rows = w.fx.app.store.audit_tail(50).await.unwrap();
    assert!(
        rows.iter()
            .any(|r| r.actor == "telegram:111" && r.action == format!("/restart (alert {alert})")),
        "the restart is audited as the presser's"
    );
    w.sweep().await;
    w.sweep().await;
    let back = replies(&w.posts.take());
    assert_eq!(back.len(), 1);
    assert!(
        back[0].text().starts_with("🟢 20 recovered at"),
        "{}",
        back[0].text()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_critical_alert_repeats_and_escalates_until_acknowledged() {
    let w = watch_at(
        noon(),
        "[alerts]\nrepeat_every = \"30m\"\nescalate_after = \"15m\"\n",
        &["down-bot".to_string()],
    )
    .await;
    w.knob("down-bot", "gateway_down", true.into()).await;
    w.sweep().await;
    w.sweep().await; // 12:02: the alert
    let alert = alert_of(&posts_in(&w.posts.take(), ALERTS_CHAT)[0]);
    for _ in 0..14 {
        w.sweep().await;
    }
    assert!(w.posts.take().is_empty(), "nothing more before 15 min");
    w.sweep().await; // 12:17: 15 min after the alert
    let posted = w.posts.take();
    let escalated = posts_in(&posted, ESCALATIONS_CHAT);
    assert_eq!(escalated.len(), 1, "{posted:?}");
    assert!(
        escalated[0]
            .text()
            .starts_with("⏫ Escalated: Still down since 12:01 UTC"),
        "{}",
        escalated[0].text()
    );
    assert_eq!(escalated[0].buttons().len(), 3);
    for _ in 0..29 {
        w.sweep().await;
    }
    assert!(w.posts.take().is_empty(), "nothing more before 30 min");
    w.sweep().await; // 12:47
    let again = replies(&w.posts.take());
    assert_eq!(
        again.len(),
        2,
        "a repeat under the alert and under the escalation"
    );
    assert!(
        again[0]
            .text()
            .contains("Still down since 12:01 UTC (46 min)"),
        "{}",
        again[0].text()
    );
    // A viewer may acknowledge; then it stops.
    let outcome = w.press(VIEWER, "ack", &alert).await;
    let Outcome::Done(m) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        m.plain().contains("Acknowledged by telegram:222"),
        "{}",
        m.plain()
    );
    let edits = w.posts.take();
    assert!(
        edits
            .iter()
            .any(|p| p.text().contains("☑ Acknowledged by telegram:222")),
        "{edits:?}"
    );
    for _ in 0..61 {
        w.sweep().await;
    }
    assert!(w.posts.take().is_empty(), "no repeats after Acknowledge");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_hold_what_is_not_critical_and_summarise_it_when_they_end() {
    // 23:00 Berlin; quiet until 07:00.
    let late = chrono::DateTime::parse_from_rfc3339("2026-12-07T22:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let w = watch_at(
        late,
        "[[ops_channels]]\nplatform = \"telegram\"\nchat_id = -100300\ngets = [\"alerts\"]\nquiet_hours = \"22:00-07:00\"\nzone = \"Europe/Berlin\"\n",
        &["full-bot".to_string(), "down-bot".to_string()],
    )
    .await;
    w.knob("full-bot", "disk_full", true.into()).await;
    w.knob("down-bot", "gateway_down", true.into()).await;
    w.sweep().await;
    w.sweep().await;
    let posted = w.posts.take();
    let quiet = posts_in(&posted, "-100300");
    assert_eq!(
        quiet.len(),
        1,
        "only the critical one in quiet hours: {posted:?}"
    );
    assert!(
        quiet[0].text().contains("down-bot is OFFLINE"),
        "{}",
        quiet[0].text()
    );
    assert_eq!(
        posts_in(&posted, ALERTS_CHAT).len(),
        2,
        "a chat without quiet hours gets both"
    );
    // 07:01 Berlin.
    w.clock.advance(Duration::from_secs(8 * 3600));
    w.sweep().await;
    let summary = posts_in(&w.posts.take(), "-100300");
    assert_eq!(summary.len(), 1);
    let text = summary[0].text();
    assert!(
        text.starts_with("🌙 While this chat was quiet: 1 alert held back, 1 still open"),
        "{text}"
    );
    assert!(
        text.contains("full-bot DEGRADED since 22:01 UTC (disk over 85%, disk full), still open"),
        "{text}"
    );
    w.sweep().await;
    assert!(
        posts_in(&w.posts.take(), "-100300").is_empty(),
        "summarised once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_replies_to_the_alert_posted_before_a_restart_of_clawops() {
    let w = watch(&["down-bot"]).await;
    w.knob("down-bot", "gateway_down", true.into()).await;
    w.sweep().await;
    w.sweep().await;
    let alerts = posts_in(&w.posts.take(), ALERTS_CHAT);
    let Posted::Post { at: first, .. } = &alerts[0] else {
        unreachable!()
    };
    w.knob("down-bot", "gateway_down", false.into()).await;
    // The process goes away; its store stays for the next one.
    let Watch { fx, clock, .. } = w;
    let Fx { app, dir, .. } = fx;
    app.stop(Duration::from_secs(5)).await;
    let fx = Fx::start_with(dir, &config(""), clock.clone()).await;
    let w = Watch::over(fx, clock);
    w.sweep().await;
    w.sweep().await;
    let back = replies(&w.posts.take());
    assert_eq!(back.len(), 1);
    let Posted::Reply { to, .. } = &back[0] else {
        unreachable!()
    };
    assert_eq!(
        to, first,
        "the reply answers the alert sent before the restart"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_may_acknowledge_but_not_restart_or_silence() {
    let w = watch(&["down-bot"]).await;
    w.knob("down-bot", "gateway_down", true.into()).await;
    w.sweep().await;
    w.sweep().await;
    let alert = alert_of(&posts_in(&w.posts.take(), ALERTS_CHAT)[0]);
    for code in ["rst", "sil"] {
        let outcome = w.press(VIEWER, code, &alert).await;
        let Outcome::Refused(m) = outcome else {
            panic!("{code}: {outcome:?}")
        };
        assert!(m.plain().contains("needs operator"), "{}", m.plain());
    }
    assert!(
        w.fx.app
            .store
            .silences(w.clock.now())
            .await
            .unwrap()
            .is_empty(),
        "a refused press changes nothing"
    );
    let outcome = w.press(VIEWER, "ack", &alert).await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    // An operator's Restart runs at once for one instance, as the presser.
    let outcome = w.press(OPERATOR, "rst", &alert).await;
    let Outcome::Done(m) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(m.plain().contains("Restarted down-bot"), "{}", m.plain());
    let rows = w.fx.app.store.audit_tail(20).await.unwrap();
    assert!(
        rows.iter()
            .any(|r| r.actor == "telegram:222" && r.event == "refused")
    );
    assert!(
        rows.iter().any(|r| r.actor == "telegram:111"
            && r.action == format!("/restart down-bot (alert {alert})"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silences_keep_alerts_back_and_unsilence_lets_them_through() {
    let w = watch(&["down-bot"]).await;
    let (said, _) = w.fx.say_as(VIEWER, "/silence --region nbg1 --for 2h").await;
    assert!(said.contains("needs operator"), "{said}");
    let (said, _) =
        w.fx.say_as(OPERATOR, "/silence --region nbg1 --for 2h")
            .await;
    assert!(
        said.contains("🔕 Silenced until 14:00 UTC: region nbg1"),
        "{said}"
    );
    let (said, _) = w.fx.say_as(OPERATOR, "/silence down-bot --for 9d").await;
    assert!(said.contains("give from 1m to 7d"), "{said}");
    w.knob("down-bot", "gateway_down", true.into()).await;
    w.sweep().await;
    w.sweep().await;
    assert!(w.posts.take().is_empty(), "silenced");
    let (said, _) = w.fx.say_as(VIEWER, "/alerts").await;
    assert!(
        said.contains("down-bot") && said.contains("not told (silenced)"),
        "{said}"
    );
    assert!(said.contains("🔕 region nbg1 until 14:00 UTC"), "{said}");
    let (said, _) = w.fx.say_as(OPERATOR, "/unsilence --region nbg1").await;
    assert!(said.contains("come again"), "{said}");
    w.sweep().await;
    let alerts = posts_in(&w.posts.take(), ALERTS_CHAT);
    assert_eq!(alerts.len(), 1);
    let id = w.fx.app.store.open_incidents().await.unwrap()[0].id;
    let (said, _) = w.fx.say_as(VIEWER, &format!("/ack {id}")).await;
    assert!(
        said.contains("☑ Acknowledged by telegram:222: down-bot"),
        "{said}"
    );
    let (said, _) = w.fx.say_as(VIEWER, "/ack 999").await;
    assert!(said.contains("there is no incident #999"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_ops_chat_configured_the_console_gets_the_alerts_with_pressable_buttons() {
    use tokio::io::AsyncReadExt;
    let clock = clawops::clock::Clock::manual(noon());
    let fx = Fx::start_with(
        tempfile::tempdir().unwrap(),
        "[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n",
        clock.clone(),
    )
    .await;
    fx.say_as(OPERATOR, "/deploy down-bot nbg1").await;
    let (writer, mut reader) = tokio::io::duplex(1 << 16);
    let console = Arc::new(clawops::chat::console::ConsoleOut::new(writer));
    fx.app
        .bot
        .door()
        .ctx()
        .postboxes
        .attach(Platform::Console, console.clone());
    let posts = Arc::new(Postings::new());
    let w = Watch { fx, posts, clock };
    w.knob("down-bot", "gateway_down", true.into()).await;
    w.sweep().await;
    w.sweep().await;
    w.knob("down-bot", "gateway_down", false.into()).await;
    w.sweep().await;
    w.sweep().await;
    drop(w);
    let mut printed = vec![0u8; 1 << 16];
    let n = tokio::time::timeout(Duration::from_secs(5), reader.read(&mut printed))
        .await
        .unwrap()
        .unwrap();
    let printed = String::from_utf8_lossy(&printed[..n]).to_string();
    assert!(printed.contains("🔴 down-bot is OFFLINE"), "{printed}");
    assert!(
        printed.contains("[1] Acknowledge   [2] Silence 1h   [3] Restart"),
        "{printed}"
    );
    assert!(printed.contains("↳ 🟢 down-bot recovered at"), "{printed}");
    assert!(printed.contains("↻ ✓ Recovered at"), "{printed}");
    assert_eq!(
        console
            .take_button(3)
            .await
            .as_deref()
            .map(|d| d.starts_with("al:rst:")),
        Some(true)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_alert_that_turns_critical_goes_out_in_quiet_hours() {
    let late = chrono::DateTime::parse_from_rfc3339("2026-12-07T22:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    let w = watch_at(
        late,
        "[[ops_channels]]\nplatform = \"telegram\"\nchat_id = -100300\ngets = [\"alerts\"]\nquiet_hours = \"22:00-07:00\"\nzone = \"Europe/Berlin\"\n",
        &["full-bot".to_string()],
    )
    .await;
    w.knob("full-bot", "disk_full", true.into()).await;
    w.sweep().await;
    w.sweep().await;
    assert!(
        posts_in(&w.posts.take(), "-100300").is_empty(),
        "held: not critical"
    );
    w.knob("full-bot", "gateway_down", true.into()).await;
    w.sweep().await;
    let quiet = posts_in(&w.posts.take(), "-100300");
    assert_eq!(quiet.len(), 1);
    assert!(
        quiet[0]
            .text()
            .starts_with("🔴 Now critical — 🟠 full-bot is DEGRADED"),
        "{}",
        quiet[0].text()
    );
    assert_eq!(quiet[0].buttons().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_learns_nothing_and_changes_nothing_from_alerts_or_their_buttons() {
    let w = watch(&["down-bot"]).await;
    w.knob("down-bot", "gateway_down", true.into()).await;
    w.sweep().await;
    w.sweep().await;
    let alert = alert_of(&posts_in(&w.posts.take(), ALERTS_CHAT)[0]);
    const STRANGER: &str = "333";
    for line in [
        "/alerts",
        "/ack 1",
        "/silence down-bot --for 1h",
        "/pairings",
        "/approve down-bot 1",
    ] {
        let (said, _) = w.fx.say_as(STRANGER, line).await;
        assert!(said.contains("private operations bot"), "{line}: {said}");
        assert!(!said.contains("down-bot"), "{line}: {said}");
    }
    for code in ["ack", "sil", "rst"] {
        let outcome = w.press(STRANGER, code, &alert).await;
        let Outcome::Refused(m) = outcome else {
            panic!("{code}: {outcome:?}")
        };
        assert!(
            m.plain().contains("private operations bot"),
            "{}",
            m.plain()
        );
    }
    let pairing =
        w.fx.app
            .bot
            .press(
                &door_fx::person(STRANGER),
                "pa:ok:1",
                &clawops::chat::recorder::Recorder::new(),
            )
            .await;
    let Outcome::Refused(m) = pairing else {
        panic!("{pairing:?}")
    };
    assert!(
        m.plain().contains("private operations bot"),
        "{}",
        m.plain()
    );
    let open = w.fx.app.store.open_incidents().await.unwrap();
    assert!(open[0].acknowledged_by.is_none(), "nothing changed");
    assert!(
        w.fx.app
            .store
            .silences(w.clock.now())
            .await
            .unwrap()
            .is_empty()
    );
}
