//! The pairing poll and the briefing on 100 simulated instances: wall time of a poll that
//! finds one new request on each (and posts 100 messages with Approve and Reject), of a
//! poll that finds nothing new, and of one briefing with its chart. Run:
//! `cargo bench --bench pairing_poll`. The simulated gateways answer from the store, so
//! this is clawops' own side; the host's side (CPU per RPC poll against one CLI call) is
//! measured by the real-host test (`tests/host.rs`), which prints it.

use std::sync::Arc;
use std::time::Instant;

use clawops::app::App;
use clawops::chat::recorder::{Postings, Recorder};
use clawops::clock::Clock;
use clawops::config::{Config, Platform};
use clawops::jobs::JobKind;
use clawops::ops::{Actor, Outcome};
use tokio_util::sync::CancellationToken;

const FLEET: usize = 100;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[store]\npath = \"{}/fleet.db\"\n[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n\
         [[ops_channels]]\nplatform = \"telegram\"\nchat_id = -100\n",
        dir.path().display()
    );
    let app = App::start(
        Config::parse(&toml, "bench").unwrap(),
        Clock::system(),
        CancellationToken::new(),
        &Recorder::new(),
    )
    .await
    .unwrap();
    let door = app.bot.door();
    let posts = Arc::new(Postings::new());
    door.ctx()
        .postboxes
        .attach(Platform::Telegram, posts.clone());
    let out = Recorder::new();
    let now = chrono::Utc::now();
    for i in 0..FLEET {
        let name = format!("bot-{i:04}");
        let action = clawops::command::parse(&format!("/deploy {name}")).unwrap();
        let outcome = door.submit(&Actor::console(), action, &out).await;
        assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
        out.take();
        let row = app.store.instance(&name).await.unwrap().unwrap();
        let id: i64 = row.server_id.unwrap().parse().unwrap();
        let server = app.store.sim_server(id).await.unwrap().unwrap();
        let mut host: serde_json::Value = serde_json::from_str(&server.host).unwrap();
        host["pairing"] = serde_json::json!([{
            "requestId": format!("r{i}"), "channel": "telegram", "accountId": "default",
            "senderId": format!("{}", 5000 + i), "metadata": {"username": format!("user{i}")},
            "createdAt": now.to_rfc3339(),
            "expiresAt": (now + chrono::Duration::hours(1)).to_rfc3339(),
        }]);
        app.store.sim_set_host(id, &host.to_string()).await.unwrap();
    }
    println!("| {FLEET} instances | wall time | result |");
    println!("| --- | --- | --- |");
    for label in ["poll, one new request each", "poll, nothing new"] {
        let run = door
            .ctx()
            .jobs
            .claim(JobKind::PairingPoll, chrono::Utc::now())
            .unwrap();
        let started = Instant::now();
        let said = door.run_job(&run, "system").await.unwrap();
        let took = started.elapsed();
        let posted = posts.take().len();
        println!(
            "| {label} | {:.1} ms | {said}; {posted} posted |",
            took.as_secs_f64() * 1000.0
        );
    }
    let started = Instant::now();
    let outcome = door
        .submit(
            &Actor::console(),
            clawops::command::parse("/brief").unwrap(),
            &out,
        )
        .await;
    let took = started.elapsed();
    let chart = out
        .take()
        .iter()
        .find_map(|o| match o {
            clawops::chat::Outbound::Photo(p) => Some(p.png.len()),
            _ => None,
        })
        .unwrap_or(0);
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    println!(
        "| /brief with its chart | {:.1} ms | chart {chart} bytes |",
        took.as_secs_f64() * 1000.0
    );
}
