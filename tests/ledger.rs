//! The ledger on a simulated fleet with a known history: eight days of hourly sweeps in
//! which alice-bot (cx42) barely works, bob-bot's last message is twenty days old,
//! carol-bot is suspended and dave-bot left a server behind when it moved. `/waste` names
//! each saving with its monthly figure and the command that takes it, and changes nothing.

use std::time::Duration;

#[path = "common/door_fx.rs"]
mod door_fx;
#[path = "common/watch_fx.rs"]
mod watch_fx;
use door_fx::OPERATOR;
use watch_fx::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waste_names_each_saving_with_its_figure_and_command_and_changes_nothing() {
    let w = watch_at(
        noon(),
        "",
        &[
            "bob-bot".to_string(),
            "carol-bot".to_string(),
            "dave-bot".to_string(),
        ],
    )
    .await;
    let (said, _) =
        w.fx.say_as(OPERATOR, "/deploy alice-bot nbg1 --size cx42")
            .await;
    assert!(said.contains("✓ alice-bot is ready"), "{said}");
    w.knob("alice-bot", "light", true.into()).await;
    let (said, _) = w.fx.say_as(OPERATOR, "/suspend carol-bot").await;
    assert!(said.contains("carol-bot"), "{said}");
    let (_, done) =
        w.fx.confirmed_as(OPERATOR, "/migrate dave-bot --to sim/fsn1")
            .await;
    assert!(done.contains("✓ dave-bot moved"), "{done}");
    // Eight days of hourly sweeps; bob-bot's last message was twelve days before them.
    let last = (noon() - chrono::Duration::days(12)).to_rfc3339();
    w.knob("bob-bot", "last_inbound", last.clone().into()).await;
    for _ in 0..(8 * 24) {
        w.clock.advance(Duration::from_secs(3600 - 60));
        w.sweep().await;
    }
    let changes_before = w.fx.app.store.audit_tail(1).await.unwrap();

    let (said, asked) = w.fx.say_as(VIEWER, "/waste").await;
    assert!(asked.is_none(), "{said}");
    for expected in [
        // cx42 €16.40 → cx22 €3.79; the simulated cloud grows disks, so a new server.
        "alice-bot — oversized: cx42 (8 vCPU, 16 GB) peaked at 2% CPU and 9% memory over 8 days; cx22 (2 vCPU, 4 GB) carries that twice; saves €12.61/month → a new server",
        "/deploy NEW nbg1 --size cx22",
        "bob-bot — idle: no message for 20 days",
        "saves €3.79/month → /backup bob-bot then /destroy bob-bot",
        "carol-bot — stopped but billed: suspended since",
        "dave-bot — old server: server",
        "→ /destroy dave-bot --old",
        "Nothing was changed",
    ] {
        assert!(said.contains(expected), "missing {expected:?} in:\n{said}");
    }
    // A stranger learns nothing of the fleet or its bill.
    let (said_to_stranger, _) = w.fx.say_as("555", "/waste").await;
    assert!(
        !said_to_stranger.contains("-bot") && !said_to_stranger.contains('€'),
        "{said_to_stranger}"
    );
    // Largest first.
    let alice = said.find("alice-bot — oversized").unwrap();
    let bob = said.find("bob-bot — idle").unwrap();
    assert!(alice < bob, "{said}");
    // The healthy, busy, right-sized ones are not named.
    assert!(!said.contains("dave-bot — idle"), "{said}");
    // Asking changed nothing but the audit line of the question itself.
    let after = w.fx.app.store.audit_tail(2).await.unwrap();
    assert!(
        after
            .iter()
            .all(|r| r.seq <= changes_before[0].seq || r.action == "/waste"),
        "{after:?}"
    );
}
