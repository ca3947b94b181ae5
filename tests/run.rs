//! `clawops run` as an operator starts it: the real binary, Telegram against the fake Bot
//! API, start-up notes to the ops chats, and SIGTERM stopping a deploy at a step boundary.

mod common;
#[path = "common/fake_telegram.rs"]
mod fake_telegram;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Live, bin, fast_config, run};
use fake_telegram::{FakeTelegram, TOKEN};

#[tokio::test]
async fn run_serves_telegram_and_tells_the_ops_chat_about_interrupted_deploys() {
    let dir = tempfile::tempdir().unwrap();
    // First a console session killed mid-deploy leaves an interrupted deploy behind.
    let cfg = fast_config(dir.path(), "30s", "0s", "");
    let mut live = Live::start(dir.path(), &cfg);
    live.say("/deploy alice-bot");
    live.wait_for("2/11 Create the server", Duration::from_secs(30));
    live.kill();

    let fake = FakeTelegram::start().await;
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = format!(
        "{text}\n[console]\nenabled = false\n[telegram]\napi_url = \"{}\"\n[[ops_channels]]\nplatform = \"telegram\"\nchat_id = 111\ngets = [\"notes\"]\nquiet_hours = \"{}\"\nzone = \"Europe/Berlin\"\n",
        fake.url,
        quiet_now()
    );
    std::fs::write(&cfg, text).unwrap();
    let mut child = Command::new(bin())
        .args(["--config", cfg.to_str().unwrap(), "run"])
        .current_dir(dir.path())
        .env("CLAWOPS_TELEGRAM_TOKEN", TOKEN)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let limit = Duration::from_secs(30);
    fake.wait_until(limit, "the start-up note in the ops chat", |c| {
        c.iter().any(|c| {
            c.method == "sendmessage"
                && c.body["chat_id"] == 111
                && c.body.to_string().contains("interrupted at step 3/11")
                // In the channel's quiet hours: without a sound.
                && c.body["disable_notification"] == true
        })
    })
    .await;
    fake.text_from(111, "/status alice-bot");
    fake.wait_until(limit, "the status reply", |c| {
        c.iter().any(|c| {
            c.method == "sendmessage" && c.body.to_string().contains("alice-bot — interrupted")
        })
    })
    .await;
    // SIGTERM: a clean stop.
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let deadline = std::time::Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "clawops run did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(status.success(), "{err}");
    assert!(!err.contains(TOKEN), "the token never reaches the logs");
}

#[test]
fn sigterm_stops_a_deploy_at_a_step_boundary_and_records_it() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = fast_config(dir.path(), "30s", "0s", "");
    let mut live = Live::start(dir.path(), &cfg);
    live.say("/deploy alice-bot");
    live.wait_for("2/11 Create the server", Duration::from_secs(30));
    Command::new("kill")
        .args(["-TERM", &live.child.id().to_string()])
        .status()
        .unwrap();
    live.wait_for(
        "deploy of alice-bot was interrupted before step 3/11 (wait-running) because clawops is shutting down",
        Duration::from_secs(10),
    );
    let status = live.child.wait().unwrap();
    assert!(status.success());
    // On the next start the deploy is already recorded as interrupted (not lost, not running).
    let (code, out, _) = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "console"],
        "/status alice-bot\n",
        Duration::from_secs(30),
    );
    assert_eq!(code, 0);
    assert!(out.contains("alice-bot — interrupted"), "{out}");
    assert!(
        out.contains("Last deploy: interrupted at step wait-running"),
        "{out}"
    );
}

/// Quiet hours around now in Berlin: from an hour ago to an hour ahead.
fn quiet_now() -> String {
    let now = chrono::Utc::now().with_timezone(&chrono_tz::Europe::Berlin);
    let at = |h: i64| {
        (now + chrono::Duration::hours(h))
            .format("%H:%M")
            .to_string()
    };
    format!("{}-{}", at(-1), at(1))
}
