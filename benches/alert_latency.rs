//! How long from the sweep that sees a gateway go down to the alert at the (fake, loopback)
//! Telegram Bot API: p50 and p99 over 100 incidents, on a fleet of 100 simulated
//! instances. The flap guard is set to one reading, so the sweep that sees the transition
//! is the one that alerts; the time includes that whole sweep (probing all 100 hosts,
//! keeping the readings), the alert pass, and the Bot API call.
//! Run: `cargo bench --bench alert_latency`.

#[path = "../tests/common/fake_telegram.rs"]
mod fake_telegram;

use std::time::{Duration, Instant};

use clawops::app::App;
use clawops::chat::recorder::Recorder;
use clawops::clock::Clock;
use clawops::config::Config;
use clawops::jobs::JobKind;
use clawops::ops::{Actor, Outcome};
use fake_telegram::{FakeTelegram, TOKEN};
use tokio_util::sync::CancellationToken;

const FLEET: usize = 100;
const INCIDENTS: usize = 100;
const OPS_CHAT: i64 = -100777;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn knob(app: &App, name: &str, on: bool) {
    let row = app.store.instance(name).await.unwrap().unwrap();
    let id: i64 = row.server_id.unwrap().parse().unwrap();
    let server = app.store.sim_server(id).await.unwrap().unwrap();
    let mut host: serde_json::Value = serde_json::from_str(&server.host).unwrap();
    host["gateway_down"] = on.into();
    app.store.sim_set_host(id, &host.to_string()).await.unwrap();
}

async fn sweep(app: &App) -> String {
    let door = app.bot.door();
    let run = door
        .ctx()
        .jobs
        .claim(JobKind::HealthSweep, chrono::Utc::now())
        .unwrap();
    door.run_job(&run, "system").await.unwrap()
}

async fn run() {
    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[store]\npath = \"{dir}/fleet.db\"\n[[operators]]\nplatform = \"telegram\"\nuser_id = \"111\"\nrole = \"operator\"\n[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{url}\"\n\
         [[ops_channels]]\nplatform = \"telegram\"\nchat_id = {OPS_CHAT}\ngets = [\"alerts\"]\n\
         [alerts]\nflap_guard = 1\n[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n",
        dir = dir.path().display(),
        url = fake.url
    );
    let stop = CancellationToken::new();
    let app = App::start(
        Config::parse(&toml, "bench").unwrap(),
        Clock::system(),
        stop.clone(),
        &Recorder::new(),
    )
    .await
    .unwrap();
    // The surface's postbox is attached; its polling is not needed here.
    let _tg = app.telegram().unwrap().unwrap();
    let door = app.bot.door();
    let out = Recorder::new();
    for i in 0..FLEET {
        let action = clawops::command::parse(&format!("/deploy bot-{i:03}")).unwrap();
        let outcome = door.submit(&Actor::console(), action, &out).await;
        assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
        out.take();
    }
    sweep(&app).await;
    let mut took = Vec::new();
    for n in 0..INCIDENTS {
        let name = format!("bot-{:03}", n % FLEET);
        knob(&app, &name, true).await;
        let started = Instant::now();
        let said = sweep(&app).await;
        assert!(said.contains("1 alert sent"), "{said}");
        let needle = format!("{name} is OFFLINE");
        let arrived = fake
            .calls("sendmessage")
            .into_iter()
            .rev()
            .find(|c| c.body["text"].as_str().is_some_and(|t| t.contains(&needle)))
            .expect("the alert reached the fake Bot API");
        took.push(arrived.at.saturating_duration_since(started));
        knob(&app, &name, false).await;
        sweep(&app).await; // recovered: a reply, and the alert edited
    }
    took.sort();
    let pick = |q: f64| took[((took.len() as f64 - 1.0) * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("| incidents | fleet | p50 | p99 | max |");
    println!("| --- | --- | --- | --- | --- |");
    println!(
        "| {INCIDENTS} | {FLEET} | {:.1} ms | {:.1} ms | {:.1} ms |",
        ms(pick(0.5)),
        ms(pick(0.99)),
        ms(*took.last().unwrap())
    );
    stop.cancel();
}
