//! How long `/status NAME` takes on Telegram with a fleet of 1,000 simulated instances:
//! from the update arriving at the fake Bot API to the reply being sent to it.
//! Run: `cargo bench --bench telegram_status`.

#[path = "../tests/common/fake_telegram.rs"]
mod fake_telegram;

use std::time::{Duration, Instant};

use clawops::app::App;
use clawops::chat::recorder::Recorder;
use clawops::clock::Clock;
use clawops::config::Config;
use clawops::ops::{Actor, Outcome};
use fake_telegram::{FakeTelegram, TOKEN};
use tokio_util::sync::CancellationToken;

const FLEET: usize = 1000;
const SAMPLES: usize = 300;
const OPERATOR: i64 = 111;

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run());
}

async fn run() {
    let fake = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        "[store]\npath = \"{}/fleet.db\"\n[[operators]]\nplatform = \"telegram\"\nuser_id = \"{OPERATOR}\"\nrole = \"operator\"\n[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n",
        dir.path().display(),
        fake.url
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
    let seeded = Instant::now();
    let out = Recorder::new();
    for i in 0..FLEET {
        let action = clawops::command::parse(&format!("/deploy bot-{i:04}")).unwrap();
        let outcome = app.bot.door().submit(&Actor::console(), action, &out).await;
        assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
        out.take();
    }
    println!(
        "seeded {FLEET} instances through the deploy steps in {:.1}s",
        seeded.elapsed().as_secs_f64()
    );

    let tg = app.telegram().unwrap().unwrap();
    let s = stop.clone();
    tokio::spawn(async move { tg.run(s).await });
    fake.wait_until(Duration::from_secs(30), "the command menu", |c| {
        c.iter().any(|c| c.method == "setmycommands")
    })
    .await;

    let mut samples = Vec::with_capacity(SAMPLES);
    for n in 0..SAMPLES {
        let name = format!("bot-{:04}", (n * 7919) % FLEET);
        let before = fake.calls("sendmessage").len();
        let queued = Instant::now();
        fake.text_from(OPERATOR, &format!("/status {name}"));
        let deadline = queued + Duration::from_secs(10);
        let sent = loop {
            let calls = fake.calls("sendmessage");
            if let Some(c) = calls
                .iter()
                .skip(before)
                .find(|c| c.body.to_string().contains(&name))
            {
                break c.at;
            }
            assert!(Instant::now() < deadline, "no reply for {name}");
            tokio::time::sleep(Duration::from_micros(200)).await;
        };
        samples.push(sent.duration_since(queued));
    }
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    println!(
        "/status on a fleet of {FLEET}: {SAMPLES} samples, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (update queued at the fake → reply received by it)",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        samples[samples.len() - 1].as_secs_f64() * 1e3
    );
    stop.cancel();
}
