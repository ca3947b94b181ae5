//! Off-host backups against a real S3-compatible server on loopback (moto): sixty nights
//! of the `backups` job on the injected clock keep exactly the retained set, here and in
//! the bucket; a tampered off-host archive is refused; `/recover` rebuilds an instance
//! whose server was deleted behind clawops' back from its newest off-host backup; and
//! `clawops restore-store` brings the fleet and a verifying audit trail back into an
//! empty folder.

use std::time::Duration;

#[path = "common/door_fx.rs"]
mod door_fx;
#[path = "common/s3.rs"]
mod s3;
#[path = "common/watch_fx.rs"]
mod watch_fx;
use door_fx::OPERATOR;
use s3::S3;
use watch_fx::*;

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

/// One run of the `backups` job at the clock's time.
async fn nightly(w: &Watch) -> Result<String, String> {
    let door = w.fx.app.bot.door();
    let run = door
        .ctx()
        .jobs
        .claim(clawops::jobs::JobKind::Backups, w.clock.now())
        .expect("no backup run is going");
    door.run_job(&run, "system").await
}

/// The dates (YYYYMMDD) in the names of `keys`.
fn dates(keys: &[String]) -> Vec<String> {
    let mut d: Vec<String> = keys
        .iter()
        .filter_map(|k| {
            k.split(['-', '/'])
                .find(|p| p.len() == 16 && p.ends_with('Z'))
        })
        .map(|t| t[..8].to_string())
        .collect();
    d.sort();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_nights_keep_the_newest_of_seven_days_four_weeks_and_six_months() {
    let s3 = S3::start().await;
    let w = watch_at(
        at("2026-09-30T23:00:00Z"),
        &s3.config(),
        &["alice-bot".to_string()],
    )
    .await;
    // 1 October to 29 November 2026, 02:15 UTC each night.
    let first = at("2026-10-01T02:15:00Z");
    for night in 0..60 {
        let when = first + chrono::Duration::days(night);
        w.clock
            .advance((when - w.clock.now()).to_std().expect("forward"));
        let said = nightly(&w).await.expect("the night went through");
        assert!(
            said.starts_with("1 instance backed up off-host")
                && said.contains("clawops' store too"),
            "{said}"
        );
    }
    // Sunday 29 November: days 23-29 November; ISO weeks 48 (29th), 47 (22nd), 46 (15th),
    // 45 (8th); months November (29th), October (31st).
    let expected: Vec<String> = [
        "20261031", "20261108", "20261115", "20261122", "20261123", "20261124", "20261125",
        "20261126", "20261127", "20261128", "20261129",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let instance = s3.objects("instances/alice-bot/").await;
    assert_eq!(dates(&instance), expected, "{instance:#?}");
    let store = s3.objects("clawops/store/").await;
    assert_eq!(dates(&store), expected, "{store:#?}");
    // The store keeps one row per kept backup, and only the newest keeps a copy here.
    let rows = w.fx.app.store.all_backups().await.unwrap();
    assert_eq!(rows.len(), 22, "{rows:#?}");
    let here: Vec<_> = rows.iter().filter(|r| r.file.is_some()).collect();
    assert_eq!(here.len(), 2, "{here:#?}");
    assert!(here.iter().all(|r| r.created_at.starts_with("2026-11-29")));
    let files = std::fs::read_dir(w.fx.dir.path().join("backups"))
        .unwrap()
        .count();
    assert_eq!(files, 2, "one local copy each of alice-bot and the store");
    // Everything in the bucket is sealed: no plain tar, no gzip.
    for key in instance.iter().chain(&store) {
        let bytes = s3.get(key).await;
        assert!(bytes.starts_with(b"CV2\0"), "{key} is not sealed");
    }
    // The viewer sees where they are.
    let (said, _) = w.fx.say_as(VIEWER, "/backups alice-bot").await;
    assert!(said.contains("Backups of alice-bot: 11"), "{said}");
    assert!(said.contains("here and off-host"), "{said}");
    assert!(said.contains("s3://clawops-test/clawops"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tampered_off_host_backup_is_refused_and_nothing_is_restored() {
    let s3 = S3::start().await;
    let w = watch_at(noon(), &s3.config(), &["alice-bot".to_string()]).await;
    w.fx.say_as(
        OPERATOR,
        "/config alice-bot set agents.defaults.thinking high",
    )
    .await;
    let (said, _) = w.fx.say_as(OPERATOR, "/backup alice-bot").await;
    assert!(said.contains("✓ Backup 1 of alice-bot"), "{said}");
    assert!(
        said.contains("Off-host copy: clawops/instances/alice-bot/"),
        "{said}"
    );
    // The machine's disk is lost: only the bucket has it.
    std::fs::remove_dir_all(w.fx.dir.path().join("backups")).unwrap();
    let key = s3.objects("instances/alice-bot/").await.remove(0);
    let mut sealed = s3.get(&key).await;
    let middle = sealed.len() / 2;
    sealed[middle] ^= 0x01;
    s3.put(&key, sealed).await;
    w.fx.say_as(
        OPERATOR,
        "/config alice-bot set agents.defaults.thinking low",
    )
    .await;
    let (_, done) = w.fx.confirmed_as(OPERATOR, "/restore alice-bot 1").await;
    assert!(
        done.contains("was changed since it was made") && done.contains("nothing restored"),
        "{done}"
    );
    let host = w.host("alice-bot").await;
    assert_eq!(
        host["config"]["agents"]["defaults"]["thinking"], "low",
        "the state was left alone: {host}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_rebuilds_a_lost_server_from_its_newest_off_host_backup() {
    let s3 = S3::start().await;
    let w = watch_at(noon(), &s3.config(), &["alice-bot".to_string()]).await;
    w.fx.say_as(
        OPERATOR,
        "/config alice-bot set agents.defaults.thinking high",
    )
    .await;
    nightly(&w).await.expect("the night went through");
    // A server that still answers is moved with /migrate, not recovered.
    let (said, _) =
        w.fx.say_as(OPERATOR, "/recover alice-bot --to sim/hel1")
            .await;
    assert!(
        said.contains("still exists") && said.contains("/migrate"),
        "{said}"
    );
    // The server is deleted behind clawops' back, and this machine's copies are lost.
    let row = w.fx.app.store.instance("alice-bot").await.unwrap().unwrap();
    let old = row.server_id.clone().unwrap();
    let ctx = w.fx.app.bot.door().ctx();
    ctx.providers
        .get("sim")
        .unwrap()
        .delete_server(&old)
        .await
        .unwrap();
    std::fs::remove_dir_all(w.fx.dir.path().join("backups")).unwrap();
    // A viewer may not; a stranger learns nothing, not even what is backed up.
    let (said, asked) =
        w.fx.say_as(VIEWER, "/recover alice-bot --to sim/hel1")
            .await;
    assert!(asked.is_none(), "{said}");
    assert!(said.contains("Your role (viewer) may not run"), "{said}");
    for line in [
        "/recover alice-bot --to sim/hel1",
        "/backups alice-bot",
        "/backups",
        "/backup alice-bot",
        "/restore alice-bot 1",
    ] {
        let (said, asked) = w.fx.say_as("555", line).await;
        assert!(asked.is_none(), "{line}: {said}");
        assert!(
            !said.contains("alice-bot") && !said.contains("s3://"),
            "{line}: {said}"
        );
    }
    let (question, done) =
        w.fx.confirmed_as(OPERATOR, "/recover alice-bot --to sim/hel1")
            .await;
    assert!(question.contains("off-host backup 1"), "{question}");
    assert!(done.contains("✓ alice-bot recovered at"), "{done}");
    let row = w.fx.app.store.instance("alice-bot").await.unwrap().unwrap();
    assert_eq!(row.region, "hel1");
    assert_ne!(row.server_id.as_deref(), Some(old.as_str()));
    assert_eq!(row.status.to_string(), "ready");
    let host = w.host("alice-bot").await;
    assert_eq!(
        host["config"]["agents"]["defaults"]["thinking"], "high",
        "the state is there: {host}"
    );
    // The lost server is not offered for deletion, nor billed.
    let kept = w.fx.app.store.kept_old_servers(None).await.unwrap();
    assert!(kept.is_empty(), "{kept:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_store_brings_the_fleet_and_a_verifying_audit_trail_into_an_empty_folder() {
    let s3 = S3::start().await;
    let w = watch_at(
        noon(),
        &s3.config(),
        &["alice-bot".to_string(), "bob-bot".to_string()],
    )
    .await;
    nightly(&w).await.expect("the night went through");
    w.clock.advance(Duration::from_secs(3600));
    // A change after the backup is not in it.
    w.fx.say_as(OPERATOR, "/suspend bob-bot").await;

    let new = tempfile::tempdir().unwrap();
    let config = new.path().join("clawops.toml");
    std::fs::write(
        &config,
        door_fx::config(new.path(), &format!("[providers.sim]\n{}", s3.config())),
    )
    .unwrap();
    let run = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_clawops"))
            .args(["--config", config.to_str().unwrap(), "restore-store"])
            .env_remove(clawops::vault::MASTER_KEY_ENV)
            .output()
            .unwrap()
    };
    // Without the master key nothing can be opened: said, and nothing written.
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("no master key"), "{err}");
    assert!(!new.path().join("fleet.db").exists());
    // With the key kept from the lost machine.
    std::fs::copy(
        w.fx.dir.path().join("fleet.key"),
        new.path().join("fleet.key"),
    )
    .unwrap();
    let out = run();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{said}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("2 instances: alice-bot, bob-bot"), "{said}");
    assert!(said.contains("audit trail intact"), "{said}");
    // The restored store is the one of the backup: bob-bot was still ready then.
    let store = clawops::store::Store::open_read_only(&new.path().join("fleet.db"))
        .await
        .unwrap();
    let bob = store.instance("bob-bot").await.unwrap().unwrap();
    assert_eq!(bob.status.to_string(), "ready");
    store.close().await;
    // A second run never overwrites a store.
    let out = run();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("restore-store only fills an empty place"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
