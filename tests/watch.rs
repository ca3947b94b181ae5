//! The watch I: the health sweep on the simulated cloud (a gateway down, a host that does
//! not answer, a full disk), `/health`, `/jobs`, and what the system may do on its own.
//! The scheduler's timing (DST, catch-up, no stacking) is tested in `src/schedule.rs` and
//! `src/jobs.rs` on hand-set instants.

use clawops::chat::recorder::Recorder;
use clawops::ops::{Action, Actor, Outcome};

#[path = "common/door_fx.rs"]
mod door_fx;
use door_fx::{Fx, OPERATOR, plain};

const VIEWER: &str = "222";

async fn fleet() -> Fx {
    let fx = Fx::start(
        "[[operators]]\nplatform = \"telegram\"\nuser_id = \"222\"\nrole = \"viewer\"\n[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n",
    )
    .await;
    for name in ["ok-bot", "down-bot", "gone-bot", "full-bot", "mute-bot"] {
        let (said, _) = fx.say_as(OPERATOR, &format!("/deploy {name} nbg1")).await;
        assert!(said.contains(&format!("✓ {name} is ready")), "{said}");
    }
    knob(&fx, "down-bot", "gateway_down").await;
    knob(&fx, "gone-bot", "unreachable").await;
    knob(&fx, "full-bot", "disk_full").await;
    knob(&fx, "mute-bot", "channel_stopped").await;
    fx
}

/// Turns on a fault of the simulated host of `name`.
async fn knob(fx: &Fx, name: &str, knob: &str) {
    let row = fx.app.store.instance(name).await.unwrap().unwrap();
    let id: i64 = row.server_id.unwrap().parse().unwrap();
    let server = fx.app.store.sim_server(id).await.unwrap().unwrap();
    let mut host: serde_json::Value = serde_json::from_str(&server.host).unwrap();
    host[knob] = true.into();
    fx.app
        .store
        .sim_set_host(id, &host.to_string())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_turns_each_fault_into_its_state_and_reasons() {
    let fx = fleet().await;
    let (said, _) = fx.say_as(OPERATOR, "/health").await;
    assert!(said.contains("No sweep has run yet"), "{said}");

    let (said, _) = fx.say_as(OPERATOR, "/jobs run health-sweep").await;
    assert!(
        said.contains("✓ health-sweep: 5 probed")
            && said.contains("1 HEALTHY, 2 DEGRADED, 1 OFFLINE, 1 UNREACHABLE"),
        "{said}"
    );
    let state = |name: &'static str| {
        let store = fx.app.store.clone();
        async move {
            let r = store.instance(name).await.unwrap().unwrap();
            (
                r.health.unwrap(),
                r.health_reasons.unwrap(),
                r.health_since.is_some(),
            )
        }
    };
    assert_eq!(state("ok-bot").await.0, "HEALTHY");
    let (h, why, since) = state("down-bot").await;
    assert_eq!(h, "OFFLINE");
    assert!(why.contains("gateway down") && since, "{why}");
    let (h, why, _) = state("gone-bot").await;
    assert_eq!(
        (h.as_str(), why.as_str()),
        ("UNREACHABLE", "host unreachable")
    );
    let (h, why, _) = state("full-bot").await;
    assert_eq!(h, "DEGRADED");
    assert!(why.contains("disk full"), "{why}");
    // The process is up, but its channel stopped: end users get no answers.
    let (h, why, _) = state("mute-bot").await;
    assert_eq!(h, "DEGRADED");
    assert!(why.contains("channel stopped: telegram:default"), "{why}");

    // "What's down?": worst first, with reasons, since when, and the sweep's age.
    let (said, _) = fx.say_as(VIEWER, "/health").await;
    assert!(
        said.contains("4 of 5 ready instances not HEALTHY"),
        "{said}"
    );
    let (gone, down, full) = (
        said.find("gone-bot").unwrap(),
        said.find("down-bot").unwrap(),
        said.find("full-bot").unwrap(),
    );
    assert!(gone < down && down < full, "worst first: {said}");
    assert!(!said.contains("ok-bot"), "{said}");
    assert!(
        said.contains("Last sweep") && said.contains("5 probed"),
        "{said}"
    );

    // A second sweep keeps "since" where the state began, and /health NAME draws the trend.
    let since = fx
        .app
        .store
        .instance("down-bot")
        .await
        .unwrap()
        .unwrap()
        .health_since;
    fx.say_as(OPERATOR, "/jobs run health-sweep").await;
    let again = fx
        .app
        .store
        .instance("down-bot")
        .await
        .unwrap()
        .unwrap()
        .health_since;
    assert_eq!(since, again);
    let (said, _) = fx.say_as(VIEWER, "/health full-bot").await;
    assert!(said.contains("full-bot — DEGRADED"), "{said}");
    assert!(said.contains("Last 2 h, 2 readings"), "{said}");
    assert!(said.contains("Last 24 h by hour"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_the_jobs_but_may_not_run_one() {
    let fx = fleet().await;
    let (said, _) = fx.say_as(VIEWER, "/jobs").await;
    assert!(
        said.contains("health-sweep") && said.contains("* * * * *"),
        "{said}"
    );
    assert!(said.contains("never"), "no run yet: {said}");
    let (said, _) = fx.say_as(VIEWER, "/jobs run health-sweep").await;
    assert!(said.contains("needs operator"), "{said}");
    let (said, _) = fx.say_as(OPERATOR, "/jobs run nightly-party").await;
    assert!(said.contains("there is no job \"nightly-party\""), "{said}");
    fx.say_as(OPERATOR, "/jobs run health-sweep").await;
    let (said, _) = fx.say_as(VIEWER, "/jobs").await;
    assert!(said.contains("ok: 5 probed"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_run_is_one_audit_row() {
    let fx = fleet().await;
    let door = fx.app.bot.door();
    let before = fx.app.store.audit_tail(1000).await.unwrap().len();
    let run = door
        .ctx()
        .jobs
        .claim(clawops::jobs::JobKind::HealthSweep, chrono::Utc::now())
        .unwrap();
    let said = door.run_job(&run, "system").await.unwrap();
    drop(run);
    assert!(said.contains("5 probed"), "{said}");
    let rows = fx.app.store.audit_tail(1000).await.unwrap();
    assert_eq!(rows.len(), before + 1, "one row for the run, none per host");
    let last = rows.iter().max_by_key(|r| r.seq).unwrap();
    assert_eq!(
        (
            last.actor.as_str(),
            last.event.as_str(),
            last.action.as_str()
        ),
        ("system", "done", "job health-sweep")
    );
    assert!(last.detail.contains("5 probed"), "{}", last.detail);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_may_restart_but_never_destroy() {
    let fx = fleet().await;
    let door = fx.app.bot.door();
    let out = Recorder::new();
    let restart = clawops::command::parse("/restart down-bot").unwrap();
    let outcome = door.submit(&Actor::System, restart, &out).await;
    let Outcome::Done(m) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(m.plain().contains("Restarted down-bot"), "{}", m.plain());
    // A bulk restart would ask a person; the system restarts within its policy alone.
    let destroy = clawops::command::parse("/destroy ok-bot").unwrap();
    let outcome = door.submit(&Actor::System, destroy, &out).await;
    let Outcome::Refused(m) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        m.plain()
            .contains("The system may not run /destroy on its own"),
        "{}",
        m.plain()
    );
    assert!(fx.app.store.instance("ok-bot").await.unwrap().is_some());
    for line in [
        "/migrate ok-bot --to sim/hel1",
        "/config ok-bot set logging.level debug",
        "/suspend ok-bot",
    ] {
        let action: Action = clawops::command::parse(line).unwrap();
        let outcome = door.submit(&Actor::System, action, &out).await;
        assert!(
            matches!(outcome, Outcome::Refused(_)),
            "{line}: {outcome:?}"
        );
    }
    let _ = plain(&out.take());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_scraped_and_the_heartbeat_is_pinged_after_a_sweep() {
    // The dead-man's switch: a loopback server counting pings.
    let pings = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = pings.clone();
    let hc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hc_addr = hc.local_addr().unwrap();
    tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/ping/fleet",
            axum::routing::get(move || {
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async { "OK" }
            }),
        );
        axum::serve(hc, app).await.unwrap();
    });
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let fx = Fx::start(&format!(
        "[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n[watch]\nmetrics_listen = \"127.0.0.1:{port}\"\nheartbeat_url = \"http://{hc_addr}/ping/fleet\"\n[[jobs]]\nname = \"health-sweep\"\nschedule = \"* * * * *\"\nenabled = false\n"
    ))
    .await;
    fx.app.start_watch().await.unwrap();
    for name in ["ok-bot", "down-bot"] {
        fx.say_as(OPERATOR, &format!("/deploy {name} nbg1")).await;
    }
    knob(&fx, "down-bot", "gateway_down").await;
    let (said, _) = fx.say_as(OPERATOR, "/jobs run health-sweep").await;
    assert!(said.contains("2 probed"), "{said}");
    assert_eq!(pings.load(std::sync::atomic::Ordering::SeqCst), 1);

    let body = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        body.contains("clawops_instances{state=\"HEALTHY\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("clawops_instances{state=\"OFFLINE\"} 1"),
        "{body}"
    );
    assert!(body.contains("clawops_probes_total 2"), "{body}");
    assert!(
        body.contains("clawops_job_runs_total{job=\"health-sweep\"} 1"),
        "{body}"
    );
    assert!(
        body.contains("clawops_sweep_duration_seconds_count 1"),
        "{body}"
    );
    // The disabled job shows as off.
    let (said, _) = fx.say_as(OPERATOR, "/jobs").await;
    assert!(said.contains("* * * * * (off)"), "{said}");
    fx.app.shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_learns_nothing_from_health_or_jobs_and_runs_nothing() {
    let fx = fleet().await;
    for line in [
        "/health",
        "/health down-bot",
        "/jobs",
        "/jobs run health-sweep",
    ] {
        let (said, _) = fx.say_as("555", line).await;
        assert!(said.contains("private operations bot"), "{line}: {said}");
        assert!(
            !said.contains("bot —") && !said.contains("probed"),
            "{line}: {said}"
        );
    }
    // No sweep ran for the stranger.
    let runs = fx.app.store.last_job_runs().await.unwrap();
    assert!(runs.is_empty(), "{runs:?}");
    let row = fx.app.store.instance("down-bot").await.unwrap().unwrap();
    assert_ne!(row.health.as_deref(), Some("OFFLINE"), "not swept");
}
