//! The watch with an injected clock and an ops surface that records: clawops with
//! simulated instances, sweeps run as the scheduler runs them, faults turned on and off.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use clawops::chat::recorder::{Posted, Postings, Recorder};
use clawops::clock::Clock;
use clawops::config::Platform;
use clawops::ops::Outcome;

use super::door_fx::{Fx, OPERATOR, person};

pub const VIEWER: &str = "222";
pub const ALERTS_CHAT: &str = "-100100";
pub const ESCALATIONS_CHAT: &str = "-100200";

/// A Monday noon, UTC.
pub fn noon() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
}

pub struct Watch {
    pub fx: Fx,
    pub posts: Arc<Postings>,
    pub clock: Clock,
}

pub fn config(extra: &str) -> String {
    format!(
        "[[operators]]\nplatform = \"telegram\"\nuser_id = \"{VIEWER}\"\nrole = \"viewer\"\n\
         [providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n\
         [[ops_channels]]\nplatform = \"telegram\"\nchat_id = {ALERTS_CHAT}\ngets = [\"alerts\"]\n\
         [[ops_channels]]\nplatform = \"telegram\"\nchat_id = {ESCALATIONS_CHAT}\ngets = [\"escalations\"]\n\
         {extra}"
    )
}

/// clawops at `start` with `names` deployed in nbg1 and an ops surface that records.
pub async fn watch_at(
    start: chrono::DateTime<chrono::Utc>,
    extra: &str,
    names: &[String],
) -> Watch {
    let clock = Clock::manual(start);
    let dir = tempfile::tempdir().unwrap();
    let fx = Fx::start_with(dir, &config(extra), clock.clone()).await;
    for name in names {
        let (said, _) = fx.say_as(OPERATOR, &format!("/deploy {name} nbg1")).await;
        assert!(said.contains(&format!("✓ {name} is ready")), "{said}");
    }
    Watch::over(fx, clock)
}

pub async fn watch(names: &[&str]) -> Watch {
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    watch_at(noon(), "", &names).await
}

impl Watch {
    /// `fx` with a recording Telegram ops surface attached.
    pub fn over(fx: Fx, clock: Clock) -> Watch {
        let posts = Arc::new(Postings::new());
        fx.app
            .bot
            .door()
            .ctx()
            .postboxes
            .attach(Platform::Telegram, posts.clone());
        Watch { fx, posts, clock }
    }

    /// One scheduled sweep (and its alert pass), a minute after the last.
    pub async fn sweep(&self) -> String {
        self.clock.advance(Duration::from_secs(60));
        let door = self.fx.app.bot.door();
        let run = door
            .ctx()
            .jobs
            .claim(clawops::jobs::JobKind::HealthSweep, self.clock.now())
            .expect("no sweep is running");
        door.run_job(&run, "system").await.unwrap()
    }

    /// Waits for the heals the sweeps started.
    pub async fn healed(&self) {
        self.fx.app.bot.door().ctx().heals.settled().await;
    }

    /// The simulated host of `name`, as its knobs and what its bot did stand now.
    pub async fn host(&self, name: &str) -> serde_json::Value {
        let store = &self.fx.app.store;
        let row = store.instance(name).await.unwrap().unwrap();
        let server = store
            .sim_server(row.server_id.unwrap().parse().unwrap())
            .await
            .unwrap()
            .unwrap();
        serde_json::from_str(&server.host).unwrap()
    }

    pub async fn knob(&self, name: &str, knob: &str, value: serde_json::Value) {
        self.fx.knob(name, knob, value).await;
    }

    /// Presses a button under alert `alert` as `who`.
    pub async fn press(&self, who: &str, code: &str, alert: &str) -> Outcome {
        self.fx
            .app
            .bot
            .press(
                &person(who),
                &format!("al:{code}:{alert}"),
                &Recorder::new(),
            )
            .await
    }
}

pub fn posts_in(posted: &[Posted], chat: &str) -> Vec<Posted> {
    posted
        .iter()
        .filter(|p| matches!(p, Posted::Post { chat: c, .. } if c == chat))
        .cloned()
        .collect()
}

pub fn replies(posted: &[Posted]) -> Vec<Posted> {
    posted
        .iter()
        .filter(|p| matches!(p, Posted::Reply { .. }))
        .cloned()
        .collect()
}

/// The alert id behind the buttons of a post.
pub fn alert_of(post: &Posted) -> String {
    let Posted::Post {
        out: clawops::chat::Outbound::Buttons { buttons, .. },
        ..
    } = post
    else {
        panic!("no buttons: {post:?}")
    };
    buttons[0].data.rsplit(':').next().unwrap().to_string()
}
