//! A started clawops driven through its door as named people, for the tests that need
//! more than one role: say something, see what came back and whether it asked, press.
#![allow(dead_code)]

use clawops::app::App;
use clawops::chat::recorder::Recorder;
use clawops::chat::{Inbound, Outbound};
use clawops::clock::Clock;
use clawops::config::{Config, Platform};
use clawops::ops::{Actor, Outcome};
use tokio_util::sync::CancellationToken;

/// The operator of the configs below (role operator).
pub const OPERATOR: &str = "111";
/// Their owner (role owner).
pub const OWNER: &str = "999";

pub fn person(id: &str) -> Actor {
    Actor::Person {
        platform: Platform::Telegram,
        user_id: id.into(),
        display: format!("user {id}"),
    }
}

pub struct Fx {
    pub app: App,
    pub out: Recorder,
    pub dir: tempfile::TempDir,
}

/// `[[operators]]` for an operator and an owner, the store in `dir`, then `extra`.
pub fn config(dir: &std::path::Path, extra: &str) -> String {
    format!(
        r#"
[store]
path = "{dir}/fleet.db"
[[operators]]
platform = "telegram"
user_id = "{OPERATOR}"
role = "operator"
[[operators]]
platform = "telegram"
user_id = "{OWNER}"
role = "owner"
[telegram]
enabled = false
{extra}
"#,
        dir = dir.display()
    )
}

impl Fx {
    /// clawops on `config(dir, extra)` in a new temporary folder.
    pub async fn start(extra: &str) -> Fx {
        let dir = tempfile::tempdir().unwrap();
        Fx::start_in(dir, extra).await
    }

    pub async fn start_in(dir: tempfile::TempDir, extra: &str) -> Fx {
        Fx::start_with(dir, extra, Clock::system()).await
    }

    /// clawops on `config(dir, extra)` whose time is `clock`.
    pub async fn start_with(dir: tempfile::TempDir, extra: &str, clock: Clock) -> Fx {
        let toml = config(dir.path(), extra);
        let app = App::start(
            Config::parse(&toml, "test").unwrap(),
            clock,
            CancellationToken::new(),
            &Recorder::new(),
        )
        .await
        .unwrap();
        Fx {
            app,
            out: Recorder::new(),
            dir,
        }
    }

    /// `text` from `who`: what came back, and the Confirm button's id if it asked.
    pub async fn say_as(&self, who: &str, text: &str) -> (String, Option<String>) {
        self.app
            .bot
            .handle(
                Inbound::Text {
                    actor: person(who),
                    text: text.into(),
                },
                &self.out,
            )
            .await;
        let sent = self.out.take();
        (plain(&sent), confirm_id(&sent))
    }

    /// Presses Confirm on `id` as `who`; the outcome's text, and whether it was done.
    pub async fn press_as(&self, who: &str, id: &str) -> (String, bool) {
        let outcome = self
            .app
            .bot
            .door()
            .press(&person(who), id, true, &self.out)
            .await;
        self.out.take();
        let done = matches!(outcome, Outcome::Done(_) | Outcome::Offer { .. });
        (outcome.message().plain(), done)
    }

    /// Sets one knob of a simulated host (`approved`, `hung`, …).
    pub async fn knob(&self, name: &str, knob: &str, value: serde_json::Value) {
        let store = &self.app.store;
        let row = store.instance(name).await.unwrap().unwrap();
        let id: i64 = row.server_id.unwrap().parse().unwrap();
        let server = store.sim_server(id).await.unwrap().unwrap();
        let mut host: serde_json::Value = serde_json::from_str(&server.host).unwrap();
        host[knob] = value;
        store.sim_set_host(id, &host.to_string()).await.unwrap();
    }

    /// Runs one health sweep now, as the scheduler would.
    pub async fn sweep(&self) -> String {
        let door = self.app.bot.door();
        let run = door
            .ctx()
            .jobs
            .claim(clawops::jobs::JobKind::HealthSweep, door.ctx().clock.now())
            .expect("the sweep is free");
        door.run_job(&run, "system").await.unwrap()
    }

    /// `text` from `who`, which must ask; then Confirm: (the question, the outcome's text).
    pub async fn confirmed_as(&self, who: &str, text: &str) -> (String, String) {
        let (question, id) = self.say_as(who, text).await;
        let id = id.unwrap_or_else(|| panic!("{text} asked nothing: {question}"));
        (question, self.press_as(who, &id).await.0)
    }
}

pub fn plain(sent: &[Outbound]) -> String {
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

pub fn confirm_id(sent: &[Outbound]) -> Option<String> {
    sent.iter().find_map(|o| match o {
        Outbound::Buttons { buttons, .. } => buttons
            .iter()
            .find(|b| b.label.contains("Confirm"))
            .map(|b| b.data.trim_start_matches("cf:").to_string()),
        _ => None,
    })
}
