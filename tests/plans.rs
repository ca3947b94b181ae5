//! Hardening III, item 24: a migration is a persisted plan. The drill: the real binary on
//! the simulated cloud, killed (SIGKILL) or stopped (SIGTERM) at chosen and at random
//! points of a migration, then started again. Whatever the point, start-up leaves a fleet
//! where the instance is ready, its gateway answers and its state is the one it had: at
//! the new place (the migration resumed, restore included) or at the old one (rolled back),
//! and the operators are told which.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Live, fast_config};
use rand::{RngExt, SeedableRng};

const LIMIT: Duration = Duration::from_secs(60);
const MODEL: &str = "anthropic/claude-sonnet";

/// Points of a migration, as the console prints the step that just ended.
const POINTS: &[&str] = &[
    "1/8 Stop the old gateway",
    "2/8 Back up its state",
    "3/8 Keep the old server",
    "4/8 Point the instance at the new place",
    "2/11 Create the server",
    "6/11 Node.js 24",
    "10/11 Health check",
    "5/8 Deploy the new server",
    "6/8 Restore the backup there",
    "7/8 Health check on the restored state",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Signal {
    Kill,
    Term,
}

/// One drill: deploy, set some state, migrate, stop the process at `point` with `signal`,
/// start again, and check the fleet. Returns where the instance ended up.
fn drill(point: &str, signal: Signal) -> &'static str {
    let dir = tempfile::tempdir().unwrap();
    // Host work (a step, a stop, a backup) takes 400 ms: a stop sent when a line is seen
    // lands inside the next piece of work, even on a busy machine.
    let cfg = fast_config(dir.path(), "0s", "400ms", "");
    let mut live = Live::start(dir.path(), &cfg);
    live.say("/deploy alice-bot nbg1");
    live.wait_for("✓ alice-bot is ready", LIMIT);
    live.say(&format!(
        "/config alice-bot set agents.defaults.model {MODEL}"
    ));
    live.wait_for("agents.defaults.model set", LIMIT);
    live.say("/migrate alice-bot --to sim/hel1");
    let asked = live.wait_for("Confirm", LIMIT);
    live.say(&button(&asked, "Confirm"));
    live.wait_for(point, LIMIT);
    stop(live, signal);

    // Start again: start-up decides, says so, and (when it resumes) finishes.
    let mut live = Live::start(dir.path(), &cfg);
    live.wait_for("you are the owner", LIMIT);
    let said = live.seen.join("\n");
    let noted = said.contains("Migrating alice-bot to hetzner-sim hel1 (plan 1");
    if said.contains("so it resumes now") {
        live.wait_for("✓ alice-bot moved to hetzner-sim hel1", LIMIT);
    } else if noted {
        assert!(said.contains("so it was rolled back"), "{said}");
        assert!(said.contains("its gateway was started again"), "{said}");
    }
    live.say("/status alice-bot");
    let status = live.wait_for("alice-bot —", LIMIT);
    live.say("/config alice-bot get agents.defaults.model");
    live.wait_for(MODEL, LIMIT);
    live.say("/list");
    let listed = live.wait_for("alice-bot", LIMIT);
    let shown = live.seen.join("\n");
    live.say("/quit");
    let _ = live.child.wait();
    assert!(status.contains("HEALTHY"), "{point} {signal:?}: {shown}");
    assert!(listed.contains(" ready "), "{point} {signal:?}: {shown}");
    // Whichever happened: no plan is left open.
    assert_eq!(
        open_plans(&dir.path().join("data/clawops.db")),
        0,
        "{shown}"
    );
    if listed.contains("hel1") {
        "new"
    } else {
        "old"
    }
}

#[test]
fn hardening_24_a_migration_stopped_anywhere_is_resumed_or_rolled_back_at_start_up() {
    // Chosen points. Killed during the backup: nothing is kept, so it goes back.
    assert_eq!(drill("1/8 Stop the old gateway", Signal::Kill), "old");
    // Killed after it: it goes on, restore included.
    assert_eq!(drill("2/8 Back up its state", Signal::Kill), "new");
    assert_eq!(drill("6/11 Node.js 24", Signal::Kill), "new");
    // SIGTERM during the backup: the backup finishes, the plan stops at the next step
    // boundary and the next start-up finishes it.
    assert_eq!(drill("1/8 Stop the old gateway", Signal::Term), "new");
    assert_eq!(drill("6/11 Node.js 24", Signal::Term), "new");

    // Random points and signals (the seed is printed so a failure can be replayed).
    let seed = std::env::var("CLAWOPS_DRILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random::<u64>());
    eprintln!("drill seed {seed} (CLAWOPS_DRILL_SEED replays it)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for _ in 0..2 {
        let point = POINTS[rng.random_range(0..POINTS.len())];
        let signal = if rng.random::<bool>() {
            Signal::Kill
        } else {
            Signal::Term
        };
        drill(point, signal);
    }
}

/// The number of the button labelled `label` in a console line ("[3] Confirm").
fn button(line: &str, label: &str) -> String {
    let at = line.find(&format!("] {label}")).expect(line);
    let open = line[..at].rfind('[').expect(line);
    line[open + 1..at].to_string()
}

fn stop(mut live: Live, signal: Signal) {
    match signal {
        Signal::Kill => live.kill(),
        Signal::Term => {
            let pid = live.child.id().to_string();
            Command::new("kill").args(["-TERM", &pid]).status().unwrap();
            let deadline = Instant::now() + LIMIT;
            loop {
                if live.child.try_wait().unwrap().is_some() {
                    break;
                }
                assert!(Instant::now() < deadline, "clawops did not stop on SIGTERM");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

fn open_plans(db: &std::path::Path) -> usize {
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = clawops::store::Store::open_read_only(db).await.unwrap();
        store.open_plans().await.unwrap().len()
    })
}
