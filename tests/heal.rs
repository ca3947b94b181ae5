//! The watch III on the simulated cloud with an injected clock: the heal ladder climbs
//! step by step and stops when mended or at its budget; a crash loop after an update
//! rolls back; the brake holds when many turn UNREACHABLE at once and one alert says why;
//! heals keep to their hours.

use clawops::chat::recorder::Posted;

#[path = "common/door_fx.rs"]
mod door_fx;
#[path = "common/watch_fx.rs"]
mod watch_fx;
use door_fx::OPERATOR;
use watch_fx::*;

const HEAL: &str = "[heal]\nmode = \"heal\"\n";

fn texts(posted: &[Posted], chat: &str) -> Vec<String> {
    posts_in(posted, chat).iter().map(Posted::text).collect()
}

async fn healing(extra: &str, names: &[&str]) -> Watch {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    watch_at(noon(), &format!("{HEAL}{extra}"), &names).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_gateway_is_killed_and_started_and_the_heal_reports_instead_of_an_alert() {
    let w = healing("", &["hung-bot", "ok-bot"]).await;
    w.sweep().await;
    w.knob("hung-bot", "hung", true.into()).await;
    let said = w.sweep().await;
    assert!(said.contains("1 heal(s) started"), "{said}");
    w.healed().await;
    let posted = w.posts.take();
    let reports = texts(&posted, ALERTS_CHAT);
    assert_eq!(reports.len(), 1, "{posted:?}");
    let report = &reports[0];
    assert!(
        report.starts_with("🩹 hung-bot healed: OFFLINE → HEALTHY (60 → 100/100)"),
        "{report}"
    );
    assert!(
        report
            .contains("Was OFFLINE (60/100): gateway hung (its process runs but does not answer)"),
        "{report}"
    );
    // A hung process ignores a polite stop: the ladder goes straight to killing it.
    assert!(
        report.contains("Tried: killed and restarted the gateway's service → HEALTHY 100."),
        "{report}"
    );
    assert!(
        report.contains("Heal budget left: 2 of 3 steps"),
        "{report}"
    );
    for _ in 0..3 {
        w.sweep().await;
    }
    w.healed().await;
    assert!(
        w.posts.take().is_empty(),
        "mended: no alert, no second heal"
    );
    // Each step went through the door as the system.
    let rows = w.fx.app.store.audit_tail(40).await.unwrap();
    assert!(rows.iter().any(|r| r.actor == "system"
        && r.action == "/restart hung-bot (the service, killed and started)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ladder_climbs_to_a_reboot_and_the_budget_stops_it() {
    let w = healing("budget = 3\n", &["stuck-bot", "stubborn-bot"]).await;
    w.sweep().await;
    w.knob("stuck-bot", "needs_reboot", true.into()).await;
    w.sweep().await;
    w.healed().await;
    let reports = texts(&w.posts.take(), ALERTS_CHAT);
    assert_eq!(reports.len(), 1);
    assert!(
        reports[0].contains("Tried: restarted the gateway → OFFLINE 60; killed and restarted the gateway's service → OFFLINE 60; rebooted the server → HEALTHY 100."),
        "{}",
        reports[0]
    );
    assert!(
        reports[0].contains("Heal budget left: 0 of 3"),
        "{}",
        reports[0]
    );

    // Out of budget: the next trouble within the hour is left to a person.
    w.knob("stuck-bot", "hung", true.into()).await;
    w.sweep().await;
    w.healed().await;
    w.sweep().await;
    w.healed().await;
    let posted = w.posts.take();
    let alerts = texts(&posted, ALERTS_CHAT);
    assert_eq!(alerts.len(), 1, "{posted:?}");
    assert!(
        alerts[0].starts_with("🔴 stuck-bot is OFFLINE"),
        "{}",
        alerts[0]
    );
    assert_eq!(
        w.fx.app
            .store
            .heal_steps_since("stuck-bot", noon())
            .await
            .unwrap(),
        3,
        "no step beyond the budget"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heal_that_cannot_mend_escalates_and_the_alert_says_what_it_tried() {
    let w = healing("budget = 2\n", &["stuck-bot"]).await;
    w.sweep().await;
    w.knob("stuck-bot", "needs_reboot", true.into()).await;
    w.sweep().await;
    w.healed().await;
    let posted = w.posts.take();
    let escalated = texts(&posted, ESCALATIONS_CHAT);
    assert_eq!(escalated.len(), 1, "{posted:?}");
    assert!(
        escalated[0].starts_with(
            "⏫ stuck-bot: the heal out of budget — still OFFLINE (60/100); a person is needed"
        ),
        "{}",
        escalated[0]
    );
    w.sweep().await;
    let alerts = texts(&w.posts.take(), ALERTS_CHAT);
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].contains("The heal tried (out of budget): restarted the gateway → OFFLINE 60; killed and restarted the gateway's service → OFFLINE 60."),
        "{}",
        alerts[0]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_loop_after_an_update_rolls_back_instead_of_looping() {
    let w = healing("", &["new-bot"]).await;
    w.sweep().await; // good, on the pinned version
    let before =
        w.fx.app
            .store
            .last_reading("new-bot")
            .await
            .unwrap()
            .unwrap()
            .version
            .unwrap();
    let (said, _) = w.fx.say_as(OPERATOR, "/update new-bot 2099.1.1").await;
    assert!(said.contains("runs OpenClaw 2099.1.1"), "{said}");
    w.knob("new-bot", "crash_loop", true.into()).await;
    w.knob("new-bot", "restarts", 7.into()).await;
    w.sweep().await;
    w.healed().await;
    let reports = texts(&w.posts.take(), ALERTS_CHAT);
    assert_eq!(reports.len(), 1);
    assert!(
        reports[0].contains(
            &"Tried: rolled back to the version before the update → HEALTHY 100".to_string()
        ),
        "{}",
        reports[0]
    );
    let (said, _) = w.fx.say_as(OPERATOR, "/version new-bot").await;
    assert!(said.contains(&before), "{said}");
    let rows = w.fx.app.store.audit_tail(40).await.unwrap();
    assert!(rows.iter().any(|r| r.actor == "system"
        && r.action == format!("/update new-bot {before} (roll-back after a crash loop)")));
    // Any other update stays a person's.
    let update = clawops::command::parse("/update new-bot 2099.1.1").unwrap();
    let outcome =
        w.fx.app
            .bot
            .door()
            .submit(
                &clawops::ops::Actor::System,
                update,
                &clawops::chat::recorder::Recorder::new(),
            )
            .await;
    assert!(
        matches!(outcome, clawops::ops::Outcome::Refused(_)),
        "{outcome:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_brake_holds_when_many_turn_unreachable_at_once() {
    let names: Vec<String> = (1..=10).map(|i| format!("bot-{i:02}")).collect();
    let w = watch_at(noon(), HEAL, &names).await;
    w.sweep().await;
    for name in &names[..4] {
        w.knob(name, "unreachable", true.into()).await;
    }
    w.knob(&names[9], "hung", true.into()).await;
    let said = w.sweep().await;
    assert!(said.contains("the brake holds: no heals"), "{said}");
    w.healed().await;
    let posted = w.posts.take();
    let alerts = texts(&posted, ALERTS_CHAT);
    assert_eq!(alerts.len(), 1, "{posted:?}");
    assert!(
        alerts[0].starts_with("🛑 clawops may have lost its network: 4 of 10 instances (40 %) stopped answering at once"),
        "{}",
        alerts[0]
    );
    assert!(alerts[0].contains("sim nbg1: 4"), "{}", alerts[0]);
    for _ in 0..3 {
        w.sweep().await;
    }
    w.healed().await;
    let later = texts(&w.posts.take(), ALERTS_CHAT);
    assert_eq!(
        later.len(),
        1,
        "one alert for the brake, none per unreachable host: {later:?}"
    );
    assert!(
        later[0].contains("bot-10 is OFFLINE"),
        "a reachable instance still alerts: {later:?}"
    );
    assert_eq!(
        w.fx.app
            .store
            .heal_steps_since("bot-10", noon())
            .await
            .unwrap(),
        0,
        "no heal while braked"
    );
    for name in &names[..4] {
        w.knob(name, "unreachable", false.into()).await;
    }
    w.sweep().await;
    w.healed().await;
    let back = texts(&w.posts.take(), ALERTS_CHAT);
    assert!(
        back.iter()
            .any(|t| t.starts_with("✓ The sweep reaches the fleet again")),
        "{back:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heals_keep_to_their_hours() {
    // Noon UTC is 13:00 in Berlin: outside 22:00-06:00.
    let w = healing(
        "hours = \"22:00-06:00\"\nzone = \"Europe/Berlin\"\n",
        &["hung-bot"],
    )
    .await;
    w.sweep().await;
    w.knob("hung-bot", "hung", true.into()).await;
    let said = w.sweep().await;
    assert!(!said.contains("heal"), "{said}");
    w.healed().await;
    assert_eq!(
        w.fx.app
            .store
            .heal_steps_since("hung-bot", noon())
            .await
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_that_needs_a_person_is_alerted_not_restarted() {
    let w = healing("", &["wa-bot"]).await;
    w.sweep().await;
    w.knob("wa-bot", "channel_logged_out", true.into()).await;
    let said = w.sweep().await;
    assert!(!said.contains("heal"), "{said}");
    w.sweep().await;
    w.healed().await;
    let alerts = texts(&w.posts.take(), ALERTS_CHAT);
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].contains("whatsapp:default (needs a person: logged out: scan the QR code again)"),
        "{}",
        alerts[0]
    );
    assert_eq!(
        w.fx.app
            .store
            .heal_steps_since("wa-bot", noon())
            .await
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_heal_per_bad_spell() {
    let w = healing(
        "budget = 10\n[watch]\nreboot_wait = \"1s\"\n",
        &["stuck-bot"],
    )
    .await;
    w.sweep().await;
    w.knob("stuck-bot", "needs_reboot", true.into()).await;
    w.knob("stuck-bot", "unreachable", true.into()).await;
    for _ in 0..4 {
        w.sweep().await;
        w.healed().await;
    }
    let escalated = texts(&w.posts.take(), ESCALATIONS_CHAT);
    assert_eq!(escalated.len(), 1, "{escalated:?}");
}
