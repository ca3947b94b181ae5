//! The console session of the README, driven through a pipe on the built-in defaults,
//! then a second session that finds the fleet, the pending confirmation and the audit
//! trail where the first left them.

mod common;

use std::time::Duration;

use common::run;

const LIMIT: Duration = Duration::from_secs(90);

#[test]
fn the_readme_session_works_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let session = "/help\n/deploy alice-bot nbg1\n/deploy bob-bot fsn1 --size cx32\n/list\n/status alice-bot\n/restart alice-bot\n/destroy bob-bot\n1\n/audit 10\n/destroy alice-bot\n";
    let (code, out, err) = run(dir.path(), &["console"], session, LIMIT);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    // No clawops.toml here: the built-in defaults, and a note saying so.
    assert!(err.contains("built-in defaults"), "{err}");
    // /help comes from the catalogue.
    for cmd in [
        "/deploy", "/list", "/status", "/restart", "/destroy", "/audit",
    ] {
        assert!(out.contains(cmd), "help lacks {cmd}:\n{out}");
    }
    // One progress line per step, then a summary with id, region, size, price, IP.
    assert!(
        out.contains("Deploying alice-bot to hetzner-sim nbg1 (cx22)"),
        "{out}"
    );
    for step in 1..=11 {
        assert!(
            out.contains(&format!(" {step}/11 ")),
            "no line for step {step}:\n{out}"
        );
    }
    assert!(out.contains("✓ alice-bot is ready"), "{out}");
    assert!(
        out.contains("server 1  hetzner-sim nbg1 (Nuremberg)  cx22  €3.79"),
        "{out}"
    );
    assert!(out.contains("203.0.113.1"), "{out}");
    assert!(out.contains("✓ bob-bot is ready"), "{out}");
    assert!(out.contains("cx32  €6.80"), "{out}");
    // /list shows both with the total.
    assert!(out.contains("2 instances · €10.59 per month"), "{out}");
    // /status probes.
    assert!(out.contains("alice-bot — HEALTHY (100/100)"), "{out}");
    assert!(out.contains("✓ Restarted alice-bot"), "{out}");
    // The destroy asks first, with the blast radius, numbered buttons; 1 confirms.
    assert!(
        out.contains("⚠ Destroy bob-bot (hetzner-sim fsn1, no end users)?"),
        "{out}"
    );
    assert!(out.contains("Monthly cost: removes €6.80"), "{out}");
    assert!(out.contains("Cannot be undone"), "{out}");
    assert!(out.contains("[1] Confirm   [2] Cancel"), "{out}");
    assert!(out.contains("✓ Destroyed bob-bot"), "{out}");
    // The audit tail shows the confirmation and the destroy.
    assert!(
        out.contains("awaiting-confirmation  /destroy bob-bot"),
        "{out}"
    );
    assert!(
        out.contains("confirmed              /destroy bob-bot"),
        "{out}"
    );
    // A second destroy is left pending when the session ends.
    assert!(out.contains("⚠ Destroy alice-bot"), "{out}");

    // Start again: the fleet is there, the pending confirmation is shown again with fresh
    // numbers, and pressing it works; the audit trail kept the first session's rows.
    let (code, out, err) = run(
        dir.path(),
        &["console"],
        "/list\n1\n/list\n/audit 40\n",
        LIMIT,
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let pending = out
        .find("⚠ Destroy alice-bot")
        .expect("pending confirmation shown again");
    let first_list = out
        .find("1 instance · €3.79 per month")
        .expect("fleet kept");
    assert!(pending < first_list, "pending shown at start:\n{out}");
    assert!(out.contains("[1] Confirm   [2] Cancel"), "{out}");
    assert!(out.contains("✓ Destroyed alice-bot"), "{out}");
    assert!(out.contains("The fleet is empty."), "{out}");
    assert!(
        out.contains("/deploy bob-bot fsn1 --size cx32"),
        "audit kept:\n{out}"
    );

    let (code, out, _) = run(dir.path(), &["audit", "verify"], "", LIMIT);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("audit trail intact"), "{out}");
}

#[test]
fn bad_input_gets_one_line_and_the_closest_usage() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, _) = run(
        dir.path(),
        &["console"],
        "/deplyo alice-bot\n/deploy Alice!\n/deploy alice-bot atlantis\nhello there\n7\n/list\n",
        LIMIT,
    );
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.contains(&"Unknown command /deplyo. Did you mean: /deploy NAME [REGION] [--size SIZE] [--provider PROVIDER] [--resume] [--openclaw VERSION] [--standby-for PRIMARY] [--owner USER_ID] [--telegram-token TOKEN] [--cell] [--cell-host HOST] [--cpus N] [--memory MB] [--pids N]"),
        "{out}"
    );
    assert!(
        out.contains("/deploy: NAME \"Alice!\" is not valid"),
        "{out}"
    );
    assert!(
        out.contains(
            "hetzner-sim has no region \"atlantis\"; regions: nbg1, fsn1, hel1, ash, hil, sin"
        ),
        "{out}"
    );
    assert!(
        out.contains("Natural-language requests need an LLM endpoint"),
        "{out}"
    );
    assert!(out.contains("There is no button [7] waiting."), "{out}");
    // The bad region left nothing half-made behind.
    assert!(out.contains("The fleet is empty."), "{out}");
}

#[test]
fn check_config_names_the_bad_key_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "[store]\npath = \"x.db\"\n[safety]\nconfirmation_ttl = \"1s\"\n[providers.sim]\n",
    )
    .unwrap();
    let (code, _, err) = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "check-config"],
        "",
        LIMIT,
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("safety.confirmation_ttl") && err.contains("\"5m\""),
        "{err}"
    );

    let (code, out, err) = run(dir.path(), &["check-config"], "", LIMIT);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("configuration OK") && err.contains("built-in defaults"),
        "{out}{err}"
    );

    let missing = dir.path().join("nope.toml");
    let (code, _, err) = run(
        dir.path(),
        &["--config", missing.to_str().unwrap(), "console"],
        "",
        LIMIT,
    );
    assert_ne!(code, 0);
    assert!(
        err.contains("cannot read") && err.contains("nope.toml"),
        "{err}"
    );
}

#[test]
fn regions_sizes_and_cost_come_from_the_price_tables_and_the_fleet() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::fast_config(dir.path(), "0s", "0s", "fail_once_at = \"install-node\"");
    let (code, out, err) = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "console"],
        "/regions\n/sizes sim\n/deploy a-bot\n/deploy b-bot fsn1 --size cx32\n/cost\n/sizes hetzner\n",
        LIMIT,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("hetzner-sim  hel1    Helsinki"), "{out}");
    assert!(
        out.contains(
            "cx22  2 vCPU, 4 GB, 40 GB disk     €3.79      €0.0052   smallest for OpenClaw"
        ),
        "{out}"
    );
    // Both deploys failed once (injected on every host) and are billed while serving nobody.
    assert!(
        out.contains("Fleet cost: €10.59 per month (2 instances)"),
        "{out}"
    );
    assert!(
        out.contains("hetzner-sim  fsn1    cx32  1          €6.80"),
        "{out}"
    );
    assert!(
        out.contains("2 instance(s) with a stopped deploy are billed €10.59 per month"),
        "{out}"
    );
    assert!(
        out.contains("no provider \"hetzner\" is enabled; enabled: sim"),
        "{out}"
    );
}

#[test]
fn lifecycle_commands_work_on_the_simulated_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = common::fast_config(dir.path(), "0s", "0s", "");
    let (code, out, err) = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "console"],
        "/deploy a-bot\n/version a-bot\n/suspend a-bot\n/status a-bot\n/logs a-bot\n/resume a-bot\n\
         /config a-bot set agents.defaults.model.primary openai/gpt-4.1-mini\n\
         /config a-bot get gateway.auth\n/backup a-bot\n/deploy b-bot\n/restore b-bot 1\n1\n\
         /config b-bot get agents.defaults.model\n/audit 30\n",
        LIMIT,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("a-bot — OpenClaw 2026.9.6"), "{out}");
    assert!(out.contains("⏸ a-bot suspended"), "{out}");
    assert!(out.contains("a-bot — suspended"), "{out}");
    assert!(
        out.contains("gateway stopped by clawops (suspend)"),
        "{out}"
    );
    assert!(out.contains("▶ a-bot resumed"), "{out}");
    assert!(
        out.contains("✓ a-bot: agents.defaults.model.primary = \"openai/gpt-4.1-mini\""),
        "{out}"
    );
    assert!(out.contains("\"token\": \"••••\""), "{out}");
    assert!(!out.contains("sim-gateway-token"), "{out}");
    assert!(out.contains("✓ Backup 1 of a-bot"), "{out}");
    assert!(out.contains("⚠ Restore b-bot"), "{out}");
    assert!(
        out.contains("✓ Backup 1 of a-bot restored onto b-bot"),
        "{out}"
    );
    assert!(
        out.contains("\"primary\": \"openai/gpt-4.1-mini\""),
        "{out}"
    );
}

#[test]
fn check_config_lists_every_enabled_provider_and_who_gets_the_bootstrap() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("clawops.toml");
    std::fs::write(
        &cfg,
        "[store]\npath = \"x.db\"\n[providers.sim]\n[providers.ssh]\nbootstrap_password_env = \"X\"\nbootstrap_hosts = [\"203.0.113.*\"]\n[[providers.hetzner]]\nname = \"hz\"\ntoken = \"t\"\n",
    )
    .unwrap();
    let (code, out, err) = run(
        dir.path(),
        &["--config", cfg.to_str().unwrap(), "check-config"],
        "",
        LIMIT,
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("providers:  sim, ssh, hz"), "{out}");
    assert!(
        out.contains(
            "deploys by owner and up; a bootstrap credential, offered only to 203.0.113.*"
        ),
        "{out}"
    );
}
