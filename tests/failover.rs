//! Standby failover on the simulated cloud: a restore or the nightly sync never puts a
//! bot token on another instance; the heal ladder (or a person) promotes a healthy standby
//! when its primary stays down, the old primary is fenced so it cannot poll when it
//! returns, and `/failback` moves the channel home after a sync.

use clawops::chat::recorder::Posted;

#[path = "common/door_fx.rs"]
mod door_fx;
#[path = "common/watch_fx.rs"]
mod watch_fx;
use door_fx::OPERATOR;
use watch_fx::*;

const TOKEN: &str = "7777777:AAprimaryBotTokenForTheFailoverTest_01";

/// The sim's config of `name`.
async fn config_of(w: &Watch, name: &str) -> serde_json::Value {
    w.host(name).await
}

fn polls(host: &serde_json::Value) -> bool {
    host["config"]["channels"]["telegram"]["botToken"].as_str() == Some(TOKEN)
        && !host["suspended"].as_bool().unwrap_or(false)
        && !host["gateway_down"].as_bool().unwrap_or(false)
}

async fn pair(extra: &str) -> Watch {
    let w = watch_at(noon(), extra, &["alice-bot".to_string()]).await;
    let (said, _) =
        w.fx.say_as(
            OPERATOR,
            "/deploy alice-standby nbg1 --standby-for alice-bot",
        )
        .await;
    assert!(said.contains("✓ alice-standby is ready"), "{said}");
    let (said, _) =
        w.fx.say_as(
            OPERATOR,
            &format!("/config alice-bot set channels.telegram.botToken {TOKEN}"),
        )
        .await;
    assert!(said.contains("botToken = ••••"), "{said}");
    w
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_onto_another_instance_never_carries_the_sources_bot_token() {
    let w = pair("").await;
    let (said, _) = w.fx.say_as(OPERATOR, "/backup alice-bot").await;
    assert!(said.contains("✓ Backup 1 of alice-bot"), "{said}");
    let (_, asked) = w.fx.say_as(OPERATOR, "/restore alice-standby 1").await;
    let (said, done) =
        w.fx.press_as(OPERATOR, &asked.expect("a restore asks"))
            .await;
    assert!(done, "{said}");
    let standby = config_of(&w, "alice-standby").await;
    assert!(
        !standby.to_string().contains(TOKEN),
        "two gateways must never poll one bot: {standby}"
    );
    assert!(polls(&config_of(&w, "alice-bot").await));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nightly_sync_copies_the_state_but_never_the_channel() {
    let w = pair("").await;
    w.fx.say_as(
        OPERATOR,
        "/config alice-bot set agents.defaults.thinking high",
    )
    .await;
    let (said, _) = w.fx.say_as(OPERATOR, "/jobs run standby-sync").await;
    assert!(said.contains("✓ standby-sync: 1 standby synced"), "{said}");
    let standby = config_of(&w, "alice-standby").await;
    assert_eq!(
        standby["config"]["agents"]["defaults"]["thinking"], "high",
        "{standby}"
    );
    assert!(!standby.to_string().contains(TOKEN), "{standby}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ladder_fails_over_to_the_standby_and_the_old_primary_never_polls_again() {
    let w = pair("[heal]\nmode = \"heal\"\nbudget = 5\n[watch]\nreboot_wait = \"1s\"\n").await;
    w.sweep().await;
    w.knob("alice-bot", "needs_reboot", true.into()).await;
    w.knob("alice-bot", "unreachable", true.into()).await;
    w.sweep().await;
    w.healed().await;
    let posted = w.posts.take();
    let reports: Vec<String> = posts_in(&posted, ALERTS_CHAT)
        .iter()
        .map(Posted::text)
        .collect();
    assert_eq!(reports.len(), 1, "{posted:?}");
    assert!(
        reports[0].contains("moved the channel to its standby alice-standby"),
        "{}",
        reports[0]
    );
    assert!(
        polls(&config_of(&w, "alice-standby").await),
        "the standby polls now"
    );
    let rows = w.fx.app.store.fleet().await.unwrap();
    let role = |n: &str| {
        let r = rows.iter().find(|r| r.name == n).unwrap();
        (r.role.clone(), r.standby_of.clone(), r.status.to_string())
    };
    assert_eq!(
        role("alice-standby"),
        ("primary".into(), None, "ready".into())
    );
    assert_eq!(
        role("alice-bot"),
        (
            "standby".into(),
            Some("alice-standby".into()),
            "suspended".into()
        )
    );
    // The old primary comes back: the fence stops it before it can poll.
    w.knob("alice-bot", "unreachable", false.into()).await;
    w.knob("alice-bot", "needs_reboot", false.into()).await;
    w.sweep().await;
    let old = config_of(&w, "alice-bot").await;
    assert!(!polls(&old), "fenced");
    assert!(
        !old.to_string().contains(TOKEN),
        "the old primary holds no token: a /resume cannot make it poll: {old}"
    );
    let audit = w.fx.app.store.audit_tail(60).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|r| r.actor == "system" && r.action == "/failover alice-bot")
    );

    // Failback: a sync, then the channel goes home.
    let (_, asked) = w.fx.say_as(OPERATOR, "/failback alice-bot").await;
    let (said, done) =
        w.fx.press_as(OPERATOR, &asked.expect("failback asks"))
            .await;
    assert!(done, "{said}");
    assert!(polls(&config_of(&w, "alice-bot").await), "home again");
    assert!(!polls(&config_of(&w, "alice-standby").await));
    assert!(
        !config_of(&w, "alice-standby")
            .await
            .to_string()
            .contains(TOKEN)
    );
    let rows = w.fx.app.store.fleet().await.unwrap();
    let role = |n: &str| {
        let r = rows.iter().find(|r| r.name == n).unwrap();
        (r.role.clone(), r.standby_of.clone(), r.status.to_string())
    };
    assert_eq!(role("alice-bot"), ("primary".into(), None, "ready".into()));
    assert_eq!(
        role("alice-standby"),
        ("standby".into(), Some("alice-bot".into()), "ready".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_may_fail_over_only_to_a_healthy_standby() {
    let w = pair("").await;
    w.knob("alice-standby", "gateway_down", true.into()).await;
    let (said, asked) = w.fx.say_as(OPERATOR, "/failover alice-bot").await;
    let said = match asked {
        Some(id) => w.fx.press_as(OPERATOR, &id).await.0,
        None => said,
    };
    assert!(said.contains("alice-standby is OFFLINE"), "{said}");
    assert!(polls(&config_of(&w, "alice-bot").await), "nothing moved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_with_no_standby_is_refused_before_anyone_is_asked() {
    let w = watch(&["solo-bot"]).await;
    let (said, asked) = w.fx.say_as(OPERATOR, "/failover solo-bot").await;
    assert!(asked.is_none(), "{said}");
    assert!(said.contains("solo-bot has no ready standby"), "{said}");
    let (said, asked) = w.fx.say_as(OPERATOR, "/failback solo-bot").await;
    assert!(asked.is_none(), "{said}");
    assert!(said.contains("nothing to fail back"), "{said}");
}
