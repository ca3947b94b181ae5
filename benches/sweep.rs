//! One health sweep of 10, 100 and 1,000 simulated instances: wall time and the process's
//! memory (resident now, and its peak so far). Run: `cargo bench --bench sweep`.
//! The simulated hosts answer from the store, so this measures clawops' own side of a
//! sweep (scheduling the probes, scoring, keeping the readings in one transaction).

use std::time::Instant;

use clawops::app::App;
use clawops::chat::recorder::Recorder;
use clawops::clock::Clock;
use clawops::config::Config;
use clawops::jobs::JobKind;
use clawops::ops::{Actor, Outcome};
use tokio_util::sync::CancellationToken;

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
        "[store]\npath = \"{}/fleet.db\"\n[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n",
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
    let out = Recorder::new();
    let mut seeded = 0;
    println!("| instances | sweep (first) | sweep (second) | RSS | peak RSS |");
    println!("| --- | --- | --- | --- | --- |");
    for fleet in [10, 100, 1000] {
        while seeded < fleet {
            let action = clawops::command::parse(&format!("/deploy bot-{seeded:04}")).unwrap();
            let outcome = door.submit(&Actor::console(), action, &out).await;
            assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
            out.take();
            seeded += 1;
        }
        let mut times = Vec::new();
        for _ in 0..2 {
            let run = door
                .ctx()
                .jobs
                .claim(JobKind::HealthSweep, chrono::Utc::now())
                .unwrap();
            let started = Instant::now();
            let said = door.run_job(&run, "system").await.unwrap();
            times.push(started.elapsed());
            assert!(said.starts_with(&format!("{fleet} probed")), "{said}");
        }
        let (rss, peak) = clawops::bench::own_memory();
        println!(
            "| {fleet} | {:.1} ms | {:.1} ms | {rss:.0} MiB | {peak:.0} MiB |",
            times[0].as_secs_f64() * 1000.0,
            times[1].as_secs_f64() * 1000.0
        );
    }
}
