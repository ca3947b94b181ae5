//! Fault drill: the store's disk fills up. A small tmpfs that `scripts/test-host up`
//! mounts (root ignores file modes, so only a full filesystem proves anything) holds the
//! store; it is filled to ENOSPC while clawops runs, then freed.

#[path = "common/door_fx.rs"]
mod door_fx;
#[path = "common/host_env.rs"]
mod host_env;

use std::io::Write;

use door_fx::{Fx, OPERATOR};

/// Fills the filesystem holding `dir` until a write fails with ENOSPC; the filler file.
fn fill(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 << 10];
    // 16 MiB of tmpfs: at most 256 chunks, and a few more for the rounding.
    for _ in 0..400 {
        if let Err(e) = file.write_all(&chunk).and_then(|_| file.sync_all()) {
            assert_eq!(e.raw_os_error(), Some(28), "ENOSPC expected: {e}");
            return path;
        }
    }
    panic!("{} never filled up", dir.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_a_full_disk_is_said_plainly_corrupts_nothing_and_passes_when_freed() {
    let env = host_env::HostEnv::load();
    let tiny = std::path::PathBuf::from(env.get("CLAWOPS_TEST_TINYFS"));
    let dir = tempfile::tempdir_in(&tiny).unwrap();
    let fx = Fx::start_in(
        dir,
        "[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n",
    )
    .await;
    let (said, _) = fx.say_as(OPERATOR, "/deploy alpha-bot").await;
    assert!(said.contains("✓ alpha-bot is ready"), "{said}");

    let filler = fill(fx.dir.path());
    // Every action is audited before it runs, so with no room for the audit row nothing
    // runs: each says why and what to do, and nothing is half done.
    for command in ["/deploy beta-bot", "/list"] {
        let (said, _) = fx.say_as(OPERATOR, command).await;
        assert!(
            said.contains("the disk holding the store is full")
                && said.contains("Free some space there"),
            "{command}: {said}"
        );
    }
    assert!(fx.app.store.instance("beta-bot").await.unwrap().is_none());

    std::fs::remove_file(&filler).unwrap();
    assert_eq!(fx.app.store.integrity_check().await.unwrap(), "ok");
    let (said, _) = fx.say_as(OPERATOR, "/deploy beta-bot").await;
    let (resumed, _) = fx.say_as(OPERATOR, "/deploy beta-bot --resume").await;
    assert!(
        said.contains("✓ beta-bot is ready") || resumed.contains("✓ beta-bot is ready"),
        "{said}\n{resumed}"
    );
    let (listed, _) = fx.say_as(OPERATOR, "/list").await;
    assert!(listed.contains("2 instances"), "{listed}");
}
