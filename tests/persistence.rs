//! Kill the real process mid-deploy (SIGKILL), start it again: the deploy is reported as
//! interrupted, resumes from where it stopped, and never makes a second server.

mod common;

use std::time::Duration;

use common::{Live, fast_config, run};

#[test]
fn a_killed_deploy_is_reported_and_resumes_without_a_second_server() {
    let dir = tempfile::tempdir().unwrap();
    // The server takes 8 s to boot: the kill lands while the deploy waits for it.
    let cfg = fast_config(dir.path(), "8s", "10ms", "");
    let mut live = Live::start(dir.path(), &cfg);
    live.say("/deploy alice-bot nbg1");
    live.wait_for("2/11 Create the server", Duration::from_secs(30));
    live.kill();

    // Restart: the interruption is reported at once. Resume: steps 1-2 are not redone
    // (the server exists), the deploy waits for the boot and finishes.
    let cfg_text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("boot_time = \"8s\"", "boot_time = \"1s\"");
    std::fs::write(&cfg, cfg_text).unwrap();
    let args = ["--config", cfg.to_str().unwrap(), "console"];
    let (code, out, err) = run(
        dir.path(),
        &args,
        "/status alice-bot\n/deploy alice-bot nbg1\n/deploy alice-bot --resume\n/list\n",
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("⚠ The deploy of alice-bot was interrupted at step 3/11 (wait-running)"),
        "{out}"
    );
    assert!(out.contains("alice-bot — interrupted"), "{out}");
    // A plain deploy of the same name is refused with the way forward.
    assert!(
        out.contains("/deploy alice-bot --resume continues it"),
        "{out}"
    );
    // On resume, steps 1 and 2 stay done and are not run again.
    assert!(
        out.contains("✓ 1/11 Resolve region, size and price (already done)"),
        "{out}"
    );
    assert!(
        out.contains("✓ 2/11 Create the server (cloud-init) (already done)"),
        "{out}"
    );
    assert!(out.contains("✓ alice-bot is ready"), "{out}");
    assert!(out.contains("1 instance · €3.79 per month"), "{out}");

    let servers = count_servers(&dir.path().join("data/clawops.db"));
    assert_eq!(servers, 1, "exactly one server in the sim cloud");
}

#[test]
fn a_failed_step_stops_the_deploy_and_resume_continues_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fast_config(
        dir.path(),
        "0s",
        "0s",
        "fail_once_at = \"install-openclaw\"",
    );
    let args = ["--config", cfg.to_str().unwrap(), "console"];
    let (code, out, err) = run(
        dir.path(),
        &args,
        "/deploy alice-bot\n/status alice-bot\n/deploy alice-bot --resume\n",
        Duration::from_secs(60),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("✗ 7/11 OpenClaw (pinned version)"), "{out}");
    assert!(
        out.contains("✗ deploy of alice-bot failed at step 7/11 (install-openclaw)"),
        "{out}"
    );
    assert!(
        out.contains("The server is kept. Fix the cause, then /deploy alice-bot --resume"),
        "{out}"
    );
    assert!(out.contains("alice-bot — failed"), "{out}");
    for step in 1..=6 {
        assert!(
            out.contains(&format!("✓ {step}/11 "))
                && out.matches(&format!("✓ {step}/11 ")).count() == 2,
            "step {step} once run, once already done:\n{out}"
        );
    }
    assert!(out.contains("✓ 7/11 OpenClaw (pinned version) ("), "{out}");
    assert!(out.contains("✓ alice-bot is ready"), "{out}");
    assert_eq!(count_servers(&dir.path().join("data/clawops.db")), 1);
}

fn count_servers(db: &std::path::Path) -> usize {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = clawops::store::Store::open_read_only(db).await.unwrap();
        let n = store.sim_servers().await.unwrap().len();
        store.close().await;
        n
    })
}

/// Reads `live`'s lines until one contains one of `needles`; which one, or a panic after
/// `limit`.
fn wait_any(live: &mut common::Live, needles: &[&str], limit: Duration) -> usize {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let line = live.lines.recv_timeout(left).unwrap_or_else(|_| {
            panic!(
                "none of {needles:?} within {limit:?}; saw:\n{}",
                live.seen.join("\n")
            )
        });
        live.seen.push(line.clone());
        if let Some(i) = needles.iter().position(|n| line.contains(n)) {
            return i;
        }
    }
}

/// Fault drill: 20 deploys, each SIGKILLed at a random point (a seeded choice of the
/// step after which the process dies, from "just sent" to step 10 of 11). After each
/// restart the interrupted deploy is resumed (or started, when the kill came before it
/// was recorded). Every deploy ends ready, the cloud holds exactly 20 servers, and /reconcile
/// finds nothing orphaned.
#[test]
fn drill_twenty_deploys_killed_at_random_points_each_finish_once() {
    use rand::{RngExt, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let cfg = fast_config(dir.path(), "1s", "20ms", "");
    let mut dice = rand::rngs::StdRng::seed_from_u64(19);
    let limit = Duration::from_secs(60);
    let mut interrupted: Option<String> = None;
    for i in 0..20 {
        let mut live = Live::start(dir.path(), &cfg);
        if let Some(name) = interrupted.take() {
            live.say(&format!("/deploy {name} --resume"));
            let ready = format!("✓ {name} is ready");
            let seen = wait_any(
                &mut live,
                &[&ready, "has no deploy to resume", "no instance called"],
                limit,
            );
            if seen > 0 {
                live.say(&format!("/deploy {name}"));
                live.wait_for(&ready, limit);
            }
        }
        let name = format!("kill-{i:02}");
        live.say(&format!("/deploy {name}"));
        let step: u32 = dice.random_range(0..=10);
        if step > 0 {
            live.wait_for(&format!(" {step}/11 "), limit);
        }
        live.kill();
        interrupted = Some(name);
    }
    let last = interrupted.unwrap();
    let args = ["--config", cfg.to_str().unwrap(), "console"];
    let (code, out, err) = run(
        dir.path(),
        &args,
        &format!("/deploy {last} --resume\n/deploy {last}\n/reconcile\n/list\n"),
        Duration::from_secs(90),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains(&format!("✓ {last} is ready")), "{out}");
    assert!(out.contains("agree"), "/reconcile: {out}");
    assert!(out.contains("20 instances"), "{out}");
    assert_eq!(
        count_servers(&dir.path().join("data/clawops.db")),
        20,
        "exactly one server per deploy"
    );
}
