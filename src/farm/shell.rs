//! What a farm host prints for a command: clawops' own scripts (recognised by their first
//! comment line: the probe, the service) and the one-line checks operators put in their
//! `ssh` loops. Anything else fails plainly: the farm plays a running host, it does not
//! install one.

use super::{FarmHost, Fault, VERSION};

/// A command's output and exit status.
pub(super) struct Answer {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub status: u32,
}

fn ok(text: String) -> Answer {
    Answer {
        stdout: text.into_bytes(),
        stderr: Vec::new(),
        status: 0,
    }
}

fn failed(status: u32, text: String) -> Answer {
    Answer {
        stdout: Vec::new(),
        stderr: text.into_bytes(),
        status,
    }
}

/// Runs `command` with `stdin` on `host`.
pub(super) fn run(host: &FarmHost, command: &str, stdin: &[u8]) -> Answer {
    let script = String::from_utf8_lossy(stdin);
    if command.contains("sh -s") {
        // clawops' scripts: the prelude, then the body, whose first line names it.
        let body = script
            .split_once("export PATH=")
            .and_then(|(_, rest)| rest.split_once('\n'))
            .map_or(script.as_ref(), |(_, body)| body);
        let args = command
            .split_once(" -- ")
            .map(|(_, a)| a.trim_end_matches('\'').to_string())
            .unwrap_or_default();
        let first = body.trim_start().lines().next().unwrap_or("");
        return if first.starts_with("# probe:") {
            ok(probe(host))
        } else if first.starts_with("# The gateway service:") {
            service(host, args.split_whitespace().next().unwrap_or("status"))
        } else if body.contains("gateway.out") {
            ok("gateway listening on 127.0.0.1\n".into())
        } else {
            failed(
                1,
                format!(
                    "farm host {}: plays a running gateway and does not run {first:?}\n",
                    host.name
                ),
            )
        };
    }
    one_line_check(host, command)
}

/// The probe's `key=value` lines, as `remote/scripts/probe.sh` prints them.
fn probe(host: &FarmHost) -> String {
    let mut state = host.lock();
    let fault = state.behaviour.fault;
    if fault == Fault::CrashLoop {
        state.restarts += 1;
    }
    let service = match fault {
        Fault::GatewayDown => "failed",
        Fault::CrashLoop => "activating",
        _ => "active",
    };
    let disk = if fault == Fault::DiskFull { 100 } else { 23 };
    let load = if fault == Fault::DegradedEventLoop {
        "1.96"
    } else {
        "0.08"
    };
    format!(
        "load={load} cores=2\nmem_total=3931508 mem_avail=2716020\ndisk={disk}\ndocker=absent\nversion={VERSION}\nservice={service} restarts={}\nboot={}\nusers={} owner=telegram:4242\n",
        state.restarts, state.boot_id, state.behaviour.end_users
    )
}

/// `service.sh ACTION PORT`.
fn service(host: &FarmHost, action: &str) -> Answer {
    let mut state = host.lock();
    match action {
        "start" | "restart" | "hard-restart" => {
            if state.behaviour.fault == Fault::CrashLoop {
                return failed(
                    1,
                    "Job for openclaw-gateway.service failed because the control process exited with error code.\n".into(),
                );
            }
            if matches!(
                state.behaviour.fault,
                Fault::GatewayDown | Fault::GatewayHung
            ) {
                state.behaviour.fault = Fault::None;
            }
            state.started = std::time::Instant::now();
            ok(format!("{action}: openclaw-gateway.service active\n"))
        }
        "stop" => {
            state.behaviour.fault = Fault::GatewayDown;
            ok("stopped openclaw-gateway.service\n".into())
        }
        "status" => ok(format!(
            "{}\n",
            if state.behaviour.fault.gateway_runs() {
                "active"
            } else {
                "inactive"
            }
        )),
        other => failed(2, format!("service.sh: unknown action {other}\n")),
    }
}

/// What an operator's script asks over plain `ssh host CMD`.
fn one_line_check(host: &FarmHost, command: &str) -> Answer {
    if command.contains("/readyz") {
        if !host.behaviour().fault.gateway_runs() {
            return failed(
                7,
                "curl: (7) Failed to connect to 127.0.0.1 port 18789: Connection refused\n".into(),
            );
        }
        return ok(format!("{}\n", super::gateway::readiness(host)));
    }
    if command.contains("is-active") {
        let runs = host.behaviour().fault.gateway_runs();
        return Answer {
            stdout: if runs {
                b"active\n".to_vec()
            } else {
                b"failed\n".to_vec()
            },
            stderr: Vec::new(),
            status: if runs { 0 } else { 3 },
        };
    }
    if command.contains("/proc/loadavg") || command.trim() == "uptime" {
        return ok("0.08 0.05 0.01 1/123 4567\n".into());
    }
    if command.trim_start().starts_with("df") {
        let used = if host.behaviour().fault == Fault::DiskFull {
            100
        } else {
            23
        };
        return ok(format!(
            "Filesystem     1024-blocks    Used Available Capacity Mounted on\n/dev/sda1         39062500 {} {} {used}% /\n",
            390625 * used,
            390625 * (100 - used)
        ));
    }
    if command.trim() == "true" {
        return ok(String::new());
    }
    failed(
        127,
        format!(
            "sh: 1: {}: not found\n",
            command.split_whitespace().next().unwrap_or("")
        ),
    )
}
