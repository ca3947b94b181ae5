//! The gate, through the real door over a real SQLite file: roles, confirmations bound to
//! one actor, single use, expiring.

use std::time::Duration;

use clawops::app::App;
use clawops::chat::recorder::Recorder;
use clawops::clock::Clock;
use clawops::config::{Config, Platform};
use clawops::ops::{Actor, Outcome};
use tokio_util::sync::CancellationToken;

fn config(dir: &std::path::Path) -> Config {
    Config::parse(
        &format!(
            r#"
[store]
path = "{}/fleet.db"
[[operators]]
platform = "telegram"
user_id = "111"
role = "operator"
[[operators]]
platform = "telegram"
user_id = "112"
role = "operator"
[[operators]]
platform = "telegram"
user_id = "222"
role = "viewer"
[safety]
confirmation_ttl = "5m"
[providers.sim]
boot_time = "0s"
step_time = "0s"
"#,
            dir.display()
        ),
        "test",
    )
    .unwrap()
}

fn tg(id: &str) -> Actor {
    Actor::Person {
        platform: Platform::Telegram,
        user_id: id.into(),
        display: format!("user {id}"),
    }
}

struct Fixture {
    app: App,
    clock: Clock,
    out: Recorder,
    _dir: tempfile::TempDir,
}

async fn fleet_of(names: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let clock = Clock::manual("2026-11-23T07:00:00Z".parse().unwrap());
    let out = Recorder::new();
    let app = App::start(
        config(dir.path()),
        clock.clone(),
        CancellationToken::new(),
        &out,
    )
    .await
    .unwrap();
    for name in names {
        let action = clawops::command::parse(&format!("/deploy {name}")).unwrap();
        let outcome = app.bot.door().submit(&tg("111"), action, &out).await;
        assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    }
    out.take();
    Fixture {
        app,
        clock,
        out,
        _dir: dir,
    }
}

impl Fixture {
    async fn submit(&self, who: &str, line: &str) -> Outcome {
        let action = clawops::command::parse(line).unwrap();
        self.app
            .bot
            .door()
            .submit(&tg(who), action, &self.out)
            .await
    }

    async fn press(&self, who: &str, id: &str, confirm: bool) -> Outcome {
        self.app
            .bot
            .door()
            .press(&tg(who), id, confirm, &self.out)
            .await
    }

    async fn status(&self, name: &str) -> String {
        self.app
            .store
            .instance(name)
            .await
            .unwrap()
            .unwrap()
            .status
            .to_string()
    }

    async fn audit_events(&self) -> Vec<(String, String, String)> {
        self.app
            .store
            .audit_tail(200)
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.actor, r.event, r.action))
            .collect()
    }
}

fn confirm_id(outcome: Outcome) -> String {
    match outcome {
        Outcome::Confirm { id, .. } => id,
        other => panic!("expected a confirmation, got {other:?}"),
    }
}

#[tokio::test]
async fn a_viewer_cannot_restart_and_the_refusal_is_audited() {
    let f = fleet_of(&["alice-bot"]).await;
    let outcome = f.submit("222", "/restart alice-bot").await;
    let Outcome::Refused(m) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        m.plain()
            .contains("Your role (viewer) may not run /restart"),
        "{}",
        m.plain()
    );
    assert!(f.audit_events().await.contains(&(
        "telegram:222".into(),
        "refused".into(),
        "/restart alice-bot".into()
    )));
    // A viewer may still look.
    assert!(matches!(
        f.submit("222", "/status alice-bot").await,
        Outcome::Done(_)
    ));
    // A stranger learns nothing.
    let Outcome::Refused(m) = f.submit("999", "/list").await else {
        panic!()
    };
    assert!(!m.plain().contains("alice"), "{}", m.plain());
}

#[tokio::test]
async fn nobody_destroys_without_pressing_and_a_press_works_once() {
    let f = fleet_of(&["bob-bot"]).await;
    let outcome = f.submit("111", "/destroy bob-bot").await;
    let Outcome::Confirm { id, message } = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        message
            .plain()
            .starts_with("⚠ Destroy bob-bot (hetzner-sim nbg1, no end users)?")
    );
    assert!(
        message.plain().contains("removes €3.79"),
        "{}",
        message.plain()
    );
    assert_eq!(
        f.status("bob-bot").await,
        "ready",
        "nothing happens before the press"
    );

    // Someone else's press changes nothing, even another operator's.
    let Outcome::Refused(m) = f.press("112", &id, true).await else {
        panic!()
    };
    assert!(m.plain().contains("belongs to someone else"));
    assert_eq!(f.status("bob-bot").await, "ready");

    // The owner of the button presses: it runs.
    assert!(matches!(f.press("111", &id, true).await, Outcome::Done(_)));
    assert_eq!(f.status("bob-bot").await, "destroyed");

    // A second press is refused.
    let Outcome::Refused(m) = f.press("111", &id, true).await else {
        panic!()
    };
    assert!(m.plain().contains("already used"));
    let events = f.audit_events().await;
    let confirmed = events.iter().filter(|e| e.1 == "confirmed").count();
    assert_eq!(confirmed, 1, "{events:?}");
}

#[tokio::test]
async fn an_expired_confirmation_does_nothing() {
    let f = fleet_of(&["bob-bot"]).await;
    let id = confirm_id(f.submit("111", "/destroy bob-bot").await);
    f.clock.advance(Duration::from_secs(301));
    let Outcome::Refused(m) = f.press("111", &id, true).await else {
        panic!()
    };
    assert!(m.plain().contains("expired"));
    assert_eq!(f.status("bob-bot").await, "ready");
}

#[tokio::test]
async fn cancel_drops_the_action_and_a_viewer_cannot_confirm_their_own_way_in() {
    let f = fleet_of(&["bob-bot"]).await;
    let id = confirm_id(f.submit("111", "/destroy bob-bot").await);
    assert!(matches!(f.press("111", &id, false).await, Outcome::Done(_)));
    assert_eq!(f.status("bob-bot").await, "ready");
    // A viewer never gets a destroy confirmation in the first place.
    assert!(matches!(
        f.submit("222", "/destroy bob-bot").await,
        Outcome::Refused(_)
    ));
}

#[tokio::test]
async fn bulk_restart_over_the_threshold_asks_first() {
    let f = fleet_of(&["a1", "a2", "a3", "b1"]).await;
    // Three is within confirm_bulk_over = 3: runs at once.
    let Outcome::Done(done) = f.submit("111", "/restart --name a*").await else {
        panic!("three instances run without a confirmation")
    };
    assert!(
        done.plain().contains("✓ Restarted 3 instances"),
        "{}",
        done.plain()
    );
    let all = f.submit("111", "/restart --all").await;
    let Outcome::Confirm { message, id } = all else {
        panic!("four instances need a confirmation: {all:?}")
    };
    assert!(
        message
            .plain()
            .contains("⚠ Restart 4 instances (no end users)?"),
        "{}",
        message.plain()
    );
    assert!(
        message
            .plain()
            .contains("it touches 4 instances (more than 3)")
    );
    let Outcome::Done(done) = f.press("111", &id, true).await else {
        panic!()
    };
    assert!(
        done.plain().contains("✓ Restarted 4 instances"),
        "{}",
        done.plain()
    );
}
