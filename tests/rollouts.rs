//! Fleet operations, rollouts: `/update --all --version V` and `/config --all set KEY VALUE`
//! over twelve simulated instances in batches of five, a failure injected on the seventh:
//! the rollout halts there, puts that one back, leaves the rest untouched, asks whether to
//! go on, comes back paused after a restart of clawops, and finishes when resumed. And
//! `/repair` of a channel on the sim (the real host's repair is in tests/host.rs).

mod common;
#[path = "common/door_fx.rs"]
mod door_fx;

use std::sync::Arc;
use std::time::Duration;

use clawops::app::App;
use clawops::chat::Outbound;
use clawops::chat::recorder::Recorder;
use clawops::clock::Clock;
use clawops::config::Config;
use clawops::ops::Outcome;
use door_fx::{Fx, OPERATOR, person};
use tokio_util::sync::CancellationToken;

const OLD: &str = "2026.9.6";
const NEW: &str = "2026.10.0";
const LIMIT: Duration = Duration::from_secs(60);

fn extra() -> String {
    format!(
        "[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n\
         [deploy]\nopenclaw_version = \"{OLD}\"\n\
         [rollouts]\npause = \"0s\"\nsettle = \"0s\"\n"
    )
}

fn names() -> Vec<String> {
    (1..=12).map(|i| format!("bot-{i:02}")).collect()
}

/// clawops in `dir` with bot-01 … bot-12 deployed.
async fn fleet() -> Fx {
    let fx = Fx::start(&extra()).await;
    for name in names() {
        let (said, _) = fx.say_as(OPERATOR, &format!("/deploy {name} nbg1")).await;
        assert!(said.contains(&format!("✓ {name} is ready")), "{said}");
    }
    fx
}

/// The simulated host of `name`, as JSON.
async fn host(fx: &Fx, name: &str) -> serde_json::Value {
    let row = fx.app.store.instance(name).await.unwrap().unwrap();
    let id: i64 = row.server_id.unwrap().parse().unwrap();
    let server = fx.app.store.sim_server(id).await.unwrap().unwrap();
    serde_json::from_str(&server.host).unwrap()
}

async fn version(fx: &Fx, name: &str) -> String {
    host(fx, name).await["openclaw_version"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Presses Confirm on `id` as the operator: the outcome's text, and the id of the
/// question it offers next (a halted rollout asks whether to go on).
async fn press(fx: &Fx, id: &str) -> (String, Option<String>) {
    let outcome = fx
        .app
        .bot
        .door()
        .press(&person(OPERATOR), id, true, &fx.out)
        .await;
    fx.out.take();
    match outcome {
        Outcome::Offer {
            message,
            id,
            prompt,
        } => (format!("{}\n{}", message.plain(), prompt.plain()), Some(id)),
        other => (other.message().plain(), None),
    }
}

async fn audit_lines(fx: &Fx) -> Vec<String> {
    fx.app
        .store
        .audit_tail(500)
        .await
        .unwrap()
        .into_iter()
        .map(|r| format!("{} {} {} {}", r.actor, r.event, r.action, r.detail))
        .collect()
}

/// clawops started again on the store of `fx` (the first process is gone): what it said
/// at start-up, and the new one.
async fn restarted(fx: Fx) -> (String, Fx) {
    let Fx { app, dir, .. } = fx;
    drop(app);
    let notes = Recorder::new();
    let toml = door_fx::config(dir.path(), &extra());
    let app = App::start(
        Config::parse(&toml, "test").unwrap(),
        Clock::system(),
        CancellationToken::new(),
        &notes,
    )
    .await
    .unwrap();
    let said = door_fx::plain(&notes.take());
    (
        said,
        Fx {
            app,
            out: Recorder::new(),
            dir,
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_halts_at_a_failure_puts_it_back_and_resumes_after_a_restart() {
    let fx = fleet().await;
    fx.knob("bot-07", "bad_versions", serde_json::json!([NEW]))
        .await;

    let (question, id) = fx
        .say_as(
            OPERATOR,
            &format!("/update --all --version {NEW} --batch 5 --pause 0s"),
        )
        .await;
    let id = id.unwrap_or_else(|| panic!("a rollout is confirmed: {question}"));
    assert!(question.contains("Update 12 instances"), "{question}");
    assert!(
        question.contains(&format!("Change: OpenClaw {NEW}")),
        "{question}"
    );
    assert!(
        question.contains("Plan: canary bot-01, then 3 batches of up to 5"),
        "{question}"
    );
    assert!(question.contains("Estimated duration: about"), "{question}");
    assert!(
        question.contains("halts at the first failure"),
        "{question}"
    );

    let (said, resume) = press(&fx, &id).await;
    assert!(said.contains("Rollout 1: halted"), "{said}");
    assert!(said.contains("bot-07 came back OFFLINE"), "{said}");
    assert!(
        said.contains(&format!("put back to OpenClaw {OLD}")),
        "{said}"
    );
    assert!(
        said.contains("6 changed, 1 rolled back, 5 not yet"),
        "{said}"
    );
    assert!(
        resume.is_some(),
        "a halted rollout asks whether to go on: {said}"
    );
    for (i, name) in names().iter().enumerate() {
        let want = if i < 6 { NEW } else { OLD };
        assert_eq!(version(&fx, name).await, want, "{name}");
    }
    assert_eq!(host(&fx, "bot-07").await["crash_loop"], false);
    // The rest were not touched at all: one gateway start each, the deploy's.
    for name in &names()[7..] {
        let log = host(&fx, name).await["log"].to_string();
        assert!(!log.contains(NEW), "{name} untouched: {log}");
    }
    let audit = audit_lines(&fx).await;
    let via = format!("telegram:{OPERATOR} via rollout 1");
    assert!(
        audit
            .iter()
            .any(|l| l.starts_with(&via) && l.contains(&format!("done /update bot-02 {NEW}"))),
        "{audit:#?}"
    );
    assert!(
        audit
            .iter()
            .any(|l| l.starts_with(&via) && l.contains(&format!("failed /update bot-07 {NEW}"))),
        "{audit:#?}"
    );
    let (listed, _) = fx.say_as(OPERATOR, "/rollouts").await;
    assert!(listed.contains("1 · paused"), "{listed}");
    assert!(listed.contains("bot-07 came back OFFLINE"), "{listed}");

    // clawops restarts: the rollout is still paused, and says so.
    let (notes, fx) = restarted(fx).await;
    assert!(
        notes.contains(&format!("Rollout 1: OpenClaw {NEW} on 12 instances")),
        "{notes}"
    );
    assert!(notes.contains("is paused"), "{notes}");
    assert!(notes.contains("/rollout resume 1"), "{notes}");

    // A person resumes it: the rest go, the failed one stays put back.
    let (question, id) = fx.say_as(OPERATOR, "/rollout resume 1").await;
    let id = id.unwrap_or_else(|| panic!("a resume is confirmed: {question}"));
    assert!(question.contains("Rollout 5 instances"), "{question}");
    let (said, offered) = press(&fx, &id).await;
    assert!(said.contains("Rollout 1: done"), "{said}");
    assert!(said.contains("11 changed, 1 rolled back"), "{said}");
    assert!(offered.is_none(), "{said}");
    for (i, name) in names().iter().enumerate() {
        let want = if i == 6 { OLD } else { NEW };
        assert_eq!(version(&fx, name).await, want, "{name}");
    }
    let (listed, _) = fx.say_as(OPERATOR, "/rollouts").await;
    assert!(listed.contains("1 · done"), "{listed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_push_halts_at_a_failure_and_puts_the_key_back() {
    let fx = fleet().await;
    let key = "agents.defaults.model.primary";
    fx.knob(
        "bot-07",
        "bad_config",
        serde_json::json!([format!("{key}=\"bad/model\"")]),
    )
    .await;
    let (question, id) = fx
        .say_as(
            OPERATOR,
            &format!("/config --all set {key} bad/model --batch 5"),
        )
        .await;
    let id = id.unwrap_or_else(|| panic!("a push is confirmed: {question}"));
    assert!(question.contains("Config 12 instances"), "{question}");
    assert!(
        question.contains(&format!("Change: {key} = bad/model")),
        "{question}"
    );
    let (said, resume) = press(&fx, &id).await;
    assert!(said.contains("Rollout 1: halted"), "{said}");
    assert!(said.contains("bot-07 came back OFFLINE"), "{said}");
    assert!(said.contains(&format!("put back to {key} unset")), "{said}");
    assert!(resume.is_some(), "{said}");
    for (i, name) in names().iter().enumerate() {
        let config = host(&fx, name).await["config"].clone();
        let set = config.pointer("/agents/defaults/model/primary").is_some();
        assert_eq!(set, i < 6, "{name}: {config}");
    }
    assert_eq!(host(&fx, "bot-07").await["crash_loop"], false);

    // Aborted: nothing more starts, what was changed stays.
    let (said, asked) = fx.say_as(OPERATOR, "/rollout abort 1").await;
    assert!(asked.is_none(), "{said}");
    assert!(
        said.contains("Rollout 1 aborted: 6 changed, 1 rolled back, 5 not yet"),
        "{said}"
    );
    let (said, _) = fx.say_as(OPERATOR, "/rollout resume 1").await;
    assert!(
        said.contains("rollout 1 is aborted: nothing to resume"),
        "{said}"
    );
    // A secret is never pushed to many.
    let (said, asked) = fx
        .say_as(
            OPERATOR,
            "/config --all set channels.telegram.botToken 123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .await;
    assert!(asked.is_none(), "{said}");
    assert!(
        said.contains("a secret is set one instance at a time"),
        "{said}"
    );
    assert!(!said.contains("AAAAAAAA"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollout_running_when_clawops_stops_comes_back_paused() {
    let fx = fleet().await;
    let (question, id) = fx
        .say_as(
            OPERATOR,
            &format!("/update --name 'bot-0*' --version {NEW} --batch 3 --pause 1h"),
        )
        .await;
    let id = id.unwrap_or_else(|| panic!("{question}"));
    assert!(question.contains("Update 9 instances"), "{question}");
    assert!(question.contains("1h between batches"), "{question}");
    let door = fx.app.bot.door().clone();
    let out = Arc::new(Recorder::new());
    let seen = out.clone();
    let task = tokio::spawn(async move { door.press(&person(OPERATOR), &id, true, &*seen).await });
    // The canary goes; the first batch waits an hour after it.
    let deadline = std::time::Instant::now() + LIMIT;
    loop {
        let (listed, _) = fx.say_as(OPERATOR, "/rollouts").await;
        if listed.contains("1 changed, 8 not yet") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the canary never ran: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    fx.app.shutdown.cancel();
    let outcome = tokio::time::timeout(LIMIT, task).await.unwrap().unwrap();
    let said = outcome.message().plain();
    assert!(
        said.contains("paused because clawops is stopping"),
        "{said}"
    );
    let progress = out.take();
    assert!(
        progress.iter().any(|o| matches!(o, Outbound::Progress(_))),
        "the rollout showed its progress"
    );
    assert_eq!(version(&fx, "bot-01").await, NEW);
    assert_eq!(version(&fx, "bot-02").await, OLD);

    let (notes, fx) = restarted(fx).await;
    assert!(notes.contains("is paused"), "{notes}");
    assert!(notes.contains("/rollout resume 1"), "{notes}");
    let (listed, _) = fx.say_as(OPERATOR, "/rollouts").await;
    assert!(listed.contains("1 · paused"), "{listed}");
    assert!(listed.contains("1 changed, 8 not yet"), "{listed}");
}

/// Channel repair on the sim: a channel whose poller stalled and whose config drifted
/// (disabled behind clawops' back) is repaired step by step; OpenClaw's own keys stay;
/// a session that needs a QR scan stops the repair with what a person must do; an
/// instance without a channel is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_is_repaired_step_by_step_and_a_qr_scan_is_left_to_a_person() {
    let fx = Fx::start(&extra()).await;
    for name in ["bot-01", "bot-02", "bot-03"] {
        let (said, _) = fx.say_as(OPERATOR, &format!("/deploy {name} nbg1")).await;
        assert!(said.contains(&format!("✓ {name} is ready")), "{said}");
    }
    let token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0";
    let drifted = serde_json::json!({
        "channels": {"telegram": {"enabled": false, "botToken": token, "dmPolicy": "pairing"}},
        "commands": {"ownerAllowFrom": ["telegram:4242"]},
    });
    for name in ["bot-01", "bot-02"] {
        fx.knob(name, "config", drifted.clone()).await;
    }
    fx.knob("bot-01", "channel_stopped", true.into()).await;
    let (said, asked) = fx.say_as(OPERATOR, "/repair bot-01").await;
    assert!(asked.is_none(), "{said}");
    assert!(said.contains("✓ bot-01's channel is repaired"), "{said}");
    assert!(
        said.contains("Probe the channel: stopped: telegram:default"),
        "{said}"
    );
    assert!(
        said.contains("restarted the stalled channel poller"),
        "{said}"
    );
    assert!(
        said.contains("put back: channels.telegram.enabled"),
        "{said}"
    );
    assert!(
        said.contains("Probe the channel again: channels running"),
        "{said}"
    );
    assert!(!said.contains("AAHdqTcv"), "{said}");
    let config = host(&fx, "bot-01").await["config"].clone();
    assert_eq!(config["channels"]["telegram"]["enabled"], true);
    assert_eq!(config["commands"]["ownerAllowFrom"][0], "telegram:4242");
    assert_eq!(host(&fx, "bot-01").await["channel_stopped"], false);

    // A logged-out session: the repair does what it can, then says what a person must do.
    fx.knob("bot-02", "channel_logged_out", true.into()).await;
    for _ in 0..2 {
        let (said, _) = fx.say_as(OPERATOR, "/repair bot-02").await;
        assert!(said.contains("bot-02's channel is not repaired"), "{said}");
        assert!(
            said.contains("needs a person: logged out: scan the QR code again"),
            "{said}"
        );
    }

    let (said, _) = fx.say_as(OPERATOR, "/repair bot-03").await;
    assert!(
        said.contains("bot-03 has no chat channel to repair"),
        "{said}"
    );
    let audit = audit_lines(&fx).await;
    assert!(
        audit.iter().any(|l| l.contains("done /repair bot-01")),
        "{audit:#?}"
    );
}

/// The fleet operations go through the door like every action: a viewer may list the
/// rollouts but starts, steers, resizes and repairs nothing (each refusal audited); a
/// stranger learns nothing, not even that a rollout exists.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_reads_rollouts_but_changes_nothing_and_a_stranger_learns_nothing() {
    const VIEWER: &str = "222";
    let fx = Fx::start(&format!(
        "{}[[operators]]\nplatform = \"telegram\"\nuser_id = \"{VIEWER}\"\nrole = \"viewer\"\n",
        extra()
    ))
    .await;
    for name in ["bot-01", "bot-02"] {
        let (said, _) = fx.say_as(OPERATOR, &format!("/deploy {name} nbg1")).await;
        assert!(said.contains(&format!("✓ {name} is ready")), "{said}");
    }
    let (_, id) = fx
        .say_as(
            OPERATOR,
            &format!("/update --all --version {NEW} --batch 1"),
        )
        .await;
    let (said, _) = press(&fx, &id.expect("a rollout asks")).await;
    assert!(said.contains("Rollout 1: done"), "{said}");

    let (listed, _) = fx.say_as(VIEWER, "/rollouts").await;
    assert!(listed.contains("1 · done"), "{listed}");
    for line in [
        format!("/update --all --version {OLD}"),
        "/config --all set agents.defaults.note hi".to_string(),
        "/rollout abort 1".to_string(),
        "/resize bot-01 cx32".to_string(),
        "/repair bot-01".to_string(),
    ] {
        let (said, asked) = fx.say_as(VIEWER, &line).await;
        assert!(asked.is_none(), "{line}: {said}");
        assert!(
            said.contains("Your role (viewer) may not run"),
            "{line}: {said}"
        );
        let (said, asked) = fx.say_as("555", &line).await;
        assert!(asked.is_none(), "{line}: {said}");
        assert!(!said.contains("bot-0"), "{line}: {said}");
    }
    let (said, _) = fx.say_as("555", "/rollouts").await;
    assert!(
        !said.contains("2026.10.0") && !said.contains("done"),
        "{said}"
    );
    assert_eq!(version(&fx, "bot-01").await, NEW);
    let refused = audit_lines(&fx)
        .await
        .into_iter()
        .filter(|l| l.starts_with(&format!("telegram:{VIEWER} refused")))
        .count();
    assert_eq!(refused, 5);
}
