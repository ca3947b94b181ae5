//! The safe lifecycle on the simulated cloud, through the one door: a primary is not
//! destroyed while its standby is unhealthy; `/destroy --snapshot` keeps a snapshot
//! first and shows its price; `/migrate` moves an instance with its state, keeps the old
//! server until the offered deletion is confirmed, and rolls back to the old server when
//! the new one fails; `/reconcile --adopt` takes a server the store lost back.

use clawops::app::App;
use clawops::chat::recorder::Recorder;
use clawops::chat::{Inbound, Outbound};
use clawops::clock::Clock;
use clawops::config::{Config, Platform};
use clawops::ops::{Actor, Outcome};
use clawops::store::InstanceStatus;
use tokio_util::sync::CancellationToken;

struct Fx {
    app: App,
    out: Recorder,
    _dir: tempfile::TempDir,
}

fn operator() -> Actor {
    Actor::Person {
        platform: Platform::Telegram,
        user_id: "111".into(),
        display: "op".into(),
    }
}

async fn start(sim_extra: &str) -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"
[store]
path = "{dir}/fleet.db"
[[operators]]
platform = "telegram"
user_id = "111"
role = "operator"
[telegram]
enabled = false
[providers.sim]
boot_time = "0s"
step_time = "0s"
{sim_extra}
"#,
        dir = dir.path().display()
    );
    let app = App::start(
        Config::parse(&toml, "test").unwrap(),
        Clock::system(),
        CancellationToken::new(),
        &Recorder::new(),
    )
    .await
    .unwrap();
    Fx {
        app,
        out: Recorder::new(),
        _dir: dir,
    }
}

fn plain(sent: &[Outbound]) -> String {
    sent.iter()
        .filter_map(|o| match o {
            Outbound::Message(m) => Some(m.plain()),
            Outbound::Buttons { message, .. } => Some(message.plain()),
            Outbound::Progress(_) => None,
            Outbound::Photo(p) => Some(format!("[photo] {}", p.caption)),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn confirm_id(sent: &[Outbound]) -> Option<String> {
    sent.iter().find_map(|o| match o {
        Outbound::Buttons { buttons, .. } => buttons
            .iter()
            .find(|b| b.label == "Confirm")
            .map(|b| b.data.trim_start_matches("cf:").to_string()),
        _ => None,
    })
}

impl Fx {
    /// Says `text`; returns what came back (a question stays unanswered).
    async fn say(&self, text: &str) -> (String, Option<String>) {
        self.app
            .bot
            .handle(
                Inbound::Text {
                    actor: operator(),
                    text: text.into(),
                },
                &self.out,
            )
            .await;
        let sent = self.out.take();
        (plain(&sent), confirm_id(&sent))
    }

    /// Says `text` and presses Confirm if it asks: (the question, the outcome).
    async fn run(&self, text: &str) -> (String, Outcome) {
        let (question, id) = self.say(text).await;
        let Some(id) = id else {
            return (
                String::new(),
                Outcome::Done(clawops::chat::Message::text(question)),
            );
        };
        let outcome = self
            .app
            .bot
            .door()
            .press(&operator(), &id, true, &self.out)
            .await;
        self.out.take();
        (question, outcome)
    }

    async fn done(&self, text: &str) -> String {
        match self.run(text).await.1 {
            Outcome::Done(m) => m.plain(),
            other => panic!("{text}: {other:?}"),
        }
    }

    async fn sim_servers(&self) -> usize {
        self.app.store.sim_servers().await.unwrap().len()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_waits_for_a_healthy_standby_and_a_snapshot_is_priced_first() {
    let fx = start("").await;
    assert!(
        fx.done("/deploy alice nbg1")
            .await
            .contains("✓ alice is ready")
    );
    let said = fx
        .done("/deploy alice-standby hel1 --standby-for alice")
        .await;
    assert!(said.contains("✓ alice-standby is ready"), "{said}");
    let row = fx
        .app
        .store
        .instance("alice-standby")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (row.role.as_str(), row.standby_of.as_deref()),
        ("standby", Some("alice"))
    );
    // A standby of a standby, or of itself, is refused.
    let (said, _) = fx
        .say("/deploy carol nbg1 --standby-for alice-standby")
        .await;
    assert!(said.contains("is itself the standby of alice"), "{said}");

    // The standby goes down: the primary may not go.
    fx.done("/suspend alice-standby").await;
    let (said, asked) = fx.say("/destroy alice").await;
    assert!(
        asked.is_none(),
        "no question while the standby is down: {said}"
    );
    assert!(
        said.contains("its standby alice-standby is OFFLINE"),
        "{said}"
    );
    assert_eq!(
        fx.app
            .store
            .instance("alice")
            .await
            .unwrap()
            .unwrap()
            .status,
        InstanceStatus::Ready
    );

    // Back up: the destroy asks, with the snapshot's price, and keeps one first.
    fx.done("/resume alice-standby").await;
    let (question, outcome) = fx.run("/destroy alice --snapshot").await;
    assert!(
        question.contains("a snapshot of each disk is kept first, up to €0.48/month"),
        "{question}"
    );
    let Outcome::Done(m) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        m.plain().contains("snapshot sim-snapshot-1 kept"),
        "{}",
        m.plain()
    );
    assert_eq!(fx.app.store.sim_snapshot_count().await.unwrap(), 1);
    assert_eq!(
        fx.sim_servers().await,
        1,
        "only the standby's server is left"
    );
    // The standby itself may always go.
    assert!(
        fx.done("/destroy alice-standby")
            .await
            .contains("✓ Destroyed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_migration_moves_the_state_and_offers_to_delete_the_old_server() {
    let fx = start("").await;
    fx.done("/deploy bob nbg1").await;
    let said = fx.done("/reboot bob").await;
    assert!(said.contains("✓ bob rebooted"), "{said}");
    assert!(said.contains("HEALTHY"), "{said}");
    fx.done("/config bob set agents.defaults.model anthropic/claude-sonnet")
        .await;
    let (said, _) = fx.say("/migrate bob --to sim/nbg1").await;
    assert!(said.contains("already at hetzner-sim nbg1"), "{said}");
    let (said, _) = fx.say("/migrate bob --to sim/atlantis").await;
    assert!(said.contains("no region \"atlantis\""), "{said}");

    let (question, outcome) = fx.run("/migrate bob --to sim/hel1").await;
    assert!(
        question.contains("hetzner-sim nbg1 → hetzner-sim hel1"),
        "{question}"
    );
    assert!(question.contains("old server stays"), "{question}");
    let Outcome::Offer {
        message,
        id,
        prompt,
    } = outcome
    else {
        panic!("{outcome:?}")
    };
    let said = message.plain();
    assert!(said.contains("✓ bob moved to hetzner-sim hel1"), "{said}");
    assert!(said.contains("/destroy bob --old"), "{said}");
    assert!(prompt.plain().contains("old server"), "{}", prompt.plain());

    // The instance runs at the new place with its state; the old server is kept.
    let row = fx.app.store.instance("bob").await.unwrap().unwrap();
    assert_eq!(
        (row.region.as_str(), row.status.as_str()),
        ("hel1", "ready")
    );
    let said = fx.done("/config bob get agents.defaults.model").await;
    assert!(said.contains("anthropic/claude-sonnet"), "{said}");
    assert!(fx.done("/status bob").await.contains("HEALTHY"));
    assert_eq!(fx.sim_servers().await, 2);
    assert!(fx.done("/cost").await.contains("1 old server(s) kept"));
    assert!(
        fx.done("/reconcile").await.contains("agree"),
        "the old server is no orphan"
    );

    // The offered deletion, confirmed.
    let outcome = fx
        .app
        .bot
        .door()
        .press(&operator(), &id, true, &fx.out)
        .await;
    let Outcome::Done(m) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(
        m.plain().contains("the old server(s) of bob"),
        "{}",
        m.plain()
    );
    assert_eq!(fx.sim_servers().await, 1);
    assert_eq!(fx.app.store.kept_old_servers(None).await.unwrap().len(), 0);
    let (said, _) = fx.say("/destroy bob --old").await;
    assert!(said.contains("no old server kept"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_migration_goes_back_to_the_old_server() {
    let fx = start("fail_once_at = \"install-openclaw\"").await;
    // The first deploy meets the injected failure once, and is resumed.
    let (said, _) = fx.say("/deploy carol nbg1").await;
    assert!(said.contains("✗ deploy of carol failed"), "{said}");
    fx.done("/deploy carol --resume").await;
    let before = fx.app.store.instance("carol").await.unwrap().unwrap();

    // The new server fails at the same step: carol goes back where she was.
    let (_, outcome) = fx.run("/migrate carol --to sim/fsn1").await;
    let Outcome::Failed(m) = outcome else {
        panic!("{outcome:?}")
    };
    let said = m.plain();
    assert!(
        said.contains("the migration of carol to hetzner-sim fsn1 failed"),
        "{said}"
    );
    assert!(said.contains("back on its old server"), "{said}");
    assert!(said.contains("its gateway was started again"), "{said}");
    let after = fx.app.store.instance("carol").await.unwrap().unwrap();
    assert_eq!(
        (after.region, after.server_id, after.status.as_str()),
        (before.region, before.server_id, "ready")
    );
    assert!(fx.done("/status carol").await.contains("HEALTHY"));
    // The half-made server is kept for a look, and found; the deploy cannot be resumed.
    let said = fx.done("/reconcile").await;
    assert!(said.contains("1 orphan server(s)"), "{said}");
    let (said, _) = fx.say("/deploy carol --resume").await;
    assert!(said.contains("nothing to resume"), "{said}");

    // Adopting it is refused while the name is taken; --fix deletes it.
    let said = fx.done("/reconcile --adopt").await;
    assert!(said.contains("orphan: not in the store"), "{said}");
    fx.done("/reconcile --fix").await;
    assert_eq!(fx.sim_servers().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_the_store_lost_is_adopted() {
    let fx = start("").await;
    fx.done("/deploy dave nbg1").await;
    // The store loses the row (a restored old copy of the store, say).
    fx.app
        .store
        .set_instance_status("dave", InstanceStatus::Destroyed, chrono::Utc::now())
        .await
        .unwrap();
    let said = fx.done("/reconcile").await;
    assert!(said.contains("1 orphan server(s)"), "{said}");
    let said = fx.done("/reconcile --adopt").await;
    assert!(said.contains("adopted as dave: HEALTHY"), "{said}");
    let row = fx.app.store.instance("dave").await.unwrap().unwrap();
    assert_eq!(row.status, InstanceStatus::Ready);
    assert!(fx.done("/reconcile").await.contains("agree"));
    assert!(fx.done("/status dave").await.contains("HEALTHY"));
}
