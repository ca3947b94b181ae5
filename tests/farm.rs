//! The host farm as clawops meets it: every pretend host reached over real SSH, probed
//! through its forwarded gateway port and RPC, and each programmable fault read the way
//! an operator needs it.

#[path = "common/door_fx.rs"]
mod door_fx;
#[path = "common/farm_fx.rs"]
mod farm_fx;

use clawops::farm::Fault;
use farm_fx::FarmFx;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn farm_hosts_read_healthy_through_ssh_the_gateway_port_and_rpc() {
    let f = FarmFx::start(3, "").await;
    let said = f.sweep().await;
    let status = f.say("/status farm-0001").await;
    assert!(
        status.contains("farm-0001 — HEALTHY (100/100)") && status.contains("OpenClaw 2026.9.6"),
        "{status}"
    );
    let counts = f.farm.counts();
    assert!(said.starts_with("3 probed"), "{said}");
    assert_eq!(counts.logins, 3, "one login per host: {counts:?}");
    assert!(counts.forwards >= 6, "{counts:?}");
    assert!(counts.rpc_calls >= 3, "{counts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_fault_reads_as_an_operator_needs_it() {
    let f = FarmFx::start(8, "").await;
    let faults = [
        Fault::GatewayDown,
        Fault::DiskFull,
        Fault::DegradedEventLoop,
        Fault::WrongHostKey,
        Fault::Refused,
        Fault::CrashLoop,
        Fault::GatewayHung,
    ];
    for (i, fault) in faults.iter().enumerate() {
        f.fault(&format!("farm-{:04}", i + 1), *fault).await;
    }
    let said = f.sweep().await;
    assert!(
        said.starts_with("8 probed")
            && said.contains("2 HEALTHY, 1 DEGRADED, 3 OFFLINE, 2 UNREACHABLE"),
        "{said}"
    );
    let expect = [
        ("farm-0000", "HEALTHY (100/100)", "disk 23%"),
        ("farm-0001", "OFFLINE", "gateway down"),
        ("farm-0002", "DEGRADED", "disk full"),
        ("farm-0003", "HEALTHY", "event loop degraded"),
        ("farm-0004", "UNREACHABLE", "host unreachable"),
        ("farm-0005", "UNREACHABLE", "host unreachable"),
        ("farm-0006", "OFFLINE", "gateway down"),
        ("farm-0007", "OFFLINE", "gateway hung"),
    ];
    for (name, state, why) in expect {
        let status = f.say(&format!("/status {name}")).await;
        assert!(
            status.contains(&format!("{name} — {state}")) && status.contains(why),
            "{name}: {status}"
        );
    }
    // The crash loop's restart count grows with every look; a wrong host key is never
    // logged in to (one connection, no login).
    let counts = f.farm.counts();
    assert_eq!(counts.logins, 6, "{counts:?}");
}

/// Fault drill: 100 of 120 hosts stop answering at once (their SSH port refuses, open
/// sessions cut). clawops may have lost its own network: one alert says so, grouped by
/// provider and region, and the heal brake holds (no heal touches anything) until they
/// answer again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_a_hundred_hosts_failing_at_once_raise_one_alert_and_the_brake_holds() {
    let f = FarmFx::start(
        120,
        "[[ops_channels]]\nplatform = \"telegram\"\nchat_id = -100100\ngets = [\"alerts\"]\n\
         [heal]\nmode = \"heal\"\n",
    )
    .await;
    let posts = std::sync::Arc::new(clawops::chat::recorder::Postings::new());
    let ctx = f.fx.app.bot.door().ctx();
    ctx.postboxes
        .attach(clawops::config::Platform::Telegram, posts.clone());
    let said = f.sweep().await;
    assert!(said.contains("120 HEALTHY"), "{said}");
    for i in 0..100 {
        f.fault(&format!("farm-{i:04}"), Fault::Refused).await;
    }
    let said = f.sweep().await;
    assert!(said.contains("the brake holds: no heals"), "{said}");
    assert!(said.contains("100 UNREACHABLE"), "{said}");
    for _ in 0..2 {
        f.sweep().await;
    }
    let posted = posts.take();
    assert_eq!(posted.len(), 1, "one alert, not one per host: {posted:?}");
    let alert = posted[0].text();
    assert!(
        alert.contains("100 of 120 instances") && alert.contains("ssh"),
        "{alert}"
    );
    // One probe per reachable host and sweep, and nothing else: no heal ran a command.
    assert_eq!(f.farm.counts().execs, 120 + 3 * 20);
    for i in 0..100 {
        f.fault(&format!("farm-{i:04}"), Fault::None).await;
    }
    // Past the longest back-off between a sweep's tries of an unreachable host.
    f.clock.advance(std::time::Duration::from_secs(300));
    let said = f.sweep().await;
    assert!(said.contains("120 HEALTHY"), "{said}");
}
