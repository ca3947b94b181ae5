//! The review's third part (issue "Hardening III"): one action at a time per instance, and
//! a migration's deploy left to its plan. The migration drill is in tests/plans.rs.
//! A stop that waits and Telegram's kept offset are in tests/telegram.rs.

use std::time::{Duration, Instant};

use clawops::chat::Inbound;
use clawops::chat::recorder::Recorder;

#[path = "common/door_fx.rs"]
mod door_fx;
use door_fx::{Fx, OPERATOR, person, plain};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardening_25_a_busy_instance_says_who_holds_it_and_a_name_deploys_once() {
    let fx = Fx::start(
        "[providers.sim]\nboot_time = \"0s\"\nstep_time = \"1s\"\n[safety]\nbusy_wait = \"100ms\"\n",
    )
    .await;
    let bot = fx.app.bot.clone();
    let first = tokio::spawn(async move {
        let out = Recorder::new();
        bot.handle(
            Inbound::Text {
                actor: person(OPERATOR),
                text: "/deploy alice-bot nbg1".into(),
            },
            &out,
        )
        .await;
        plain(&out.take())
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while fx
        .app
        .store
        .instance("alice-bot")
        .await
        .unwrap()
        .is_none_or(|r| r.status.as_str() != "deploying")
    {
        assert!(Instant::now() < deadline, "the deploy never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The same name again: it cannot start a second deploy.
    let (said, _) = fx.say_as(OPERATOR, "/deploy alice-bot nbg1").await;
    assert!(
        said.contains("busy: /deploy alice-bot nbg1 is running since"),
        "{said}"
    );
    // Another action on it waits its turn briefly (here 100 ms), then says who holds it.
    let (said, _) = fx.say_as(OPERATOR, "/suspend alice-bot").await;
    assert!(said.contains("busy: /deploy alice-bot nbg1"), "{said}");
    let done = first.await.unwrap();
    assert!(done.contains("✓ alice-bot is ready"), "{done}");
    // Free again.
    let (said, _) = fx.say_as(OPERATOR, "/suspend alice-bot").await;
    assert!(said.contains("alice-bot suspended"), "{said}");
    let deploys = fx
        .app
        .store
        .audit_tail(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.action.starts_with("/deploy alice-bot") && r.event == "done")
        .count();
    assert_eq!(deploys, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hardening_24_a_migrations_deploy_is_not_resumed_alone() {
    let fx = Fx::start("[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n").await;
    let (said, _) = fx.say_as(OPERATOR, "/deploy alice-bot nbg1").await;
    assert!(said.contains("✓ alice-bot is ready"), "{said}");
    // A migration a dead process left open (its steps are the plan's business).
    fx.app
        .store
        .start_plan(
            &clawops::store::NewPlan {
                kind: "migrate",
                subject: "alice-bot",
                actor: "telegram:111",
                body: "{}",
                steps: &["stop-old"],
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap();
    let (said, _) = fx.say_as(OPERATOR, "/deploy alice-bot --resume").await;
    assert!(
        said.contains("part of an unfinished /migrate (plan 1, running)"),
        "{said}"
    );
    // A second plan on the same instance cannot be saved either.
    let again = fx
        .app
        .store
        .start_plan(
            &clawops::store::NewPlan {
                kind: "migrate",
                subject: "alice-bot",
                actor: "telegram:111",
                body: "{}",
                steps: &["stop-old"],
            },
            chrono::Utc::now(),
        )
        .await;
    assert!(again.is_err(), "two open plans on one instance");
}
