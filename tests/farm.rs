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
    let said = f.fx.sweep().await;
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
    let said = f.fx.sweep().await;
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
    assert_eq!(counts.logins, 5, "{counts:?}");
}
