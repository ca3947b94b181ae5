//! Health: the score 0-100 and the state (HEALTHY, DEGRADED, OFFLINE, UNREACHABLE) of one
//! probe's reading. Pure decisions over values; the probing itself is in `remote`.

use crate::remote::Reading;

/// Below this score an instance is DEGRADED.
pub const HEALTHY_AT: u8 = 70;

/// What state an instance is in after a probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthState {
    Healthy,
    Degraded,
    /// The host answers but its gateway does not.
    Offline,
    /// The host does not answer.
    Unreachable,
}

impl HealthState {
    /// The name shown to operators and stored.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "HEALTHY",
            HealthState::Degraded => "DEGRADED",
            HealthState::Offline => "OFFLINE",
            HealthState::Unreachable => "UNREACHABLE",
        }
    }

    /// The state named `s` (as stored).
    pub fn parse(s: &str) -> Option<HealthState> {
        [
            HealthState::Healthy,
            HealthState::Degraded,
            HealthState::Offline,
            HealthState::Unreachable,
        ]
        .into_iter()
        .find(|h| h.as_str() == s)
    }

    /// How bad it is: HEALTHY 0 up to UNREACHABLE 3.
    pub fn rank(self) -> u8 {
        match self {
            HealthState::Healthy => 0,
            HealthState::Degraded => 1,
            HealthState::Offline => 2,
            HealthState::Unreachable => 3,
        }
    }

    /// End users get no answers at all: an alert for it repeats and escalates.
    pub fn critical(self) -> bool {
        matches!(self, HealthState::Offline | HealthState::Unreachable)
    }
}

/// The score of a reading and the reasons for each deduction.
pub fn score(r: &Reading) -> (u8, Vec<String>) {
    let mut score: i32 = 100;
    let mut why = Vec::new();
    let mut deduct = |points: i32, cond: bool, reason: &str| {
        if cond {
            score -= points;
            why.push(reason.to_string());
        }
    };
    // A process its service says runs, that does not answer, hangs: a polite stop will
    // not end it (the heal kills it).
    let hung = !r.gateway_up && r.service_active == Some(true);
    deduct(
        40,
        hung,
        "gateway hung (its process runs but does not answer)",
    );
    deduct(40, !r.gateway_up && !hung, "gateway down");
    let not_ready = if r.failing.is_empty() {
        "gateway not ready".to_string()
    } else {
        format!("gateway not ready (failing: {})", r.failing.join(", "))
    };
    deduct(20, r.gateway_up && !r.gateway_ready, &not_ready);
    // Often passing (a busy host, a start); with other findings it tips the state.
    deduct(
        10,
        r.gateway_up && r.event_loop_degraded,
        "gateway event loop degraded",
    );
    // The process is up but a channel stopped: its end users get no answers.
    let stopped = format!("channel stopped: {}", r.channels_stopped.join(", "));
    deduct(40, r.gateway_up && !r.channels_stopped.is_empty(), &stopped);
    deduct(20, !r.docker_up, "docker down");
    deduct(10, r.cpu_percent > 90.0, "CPU over 90%");
    deduct(10, r.memory_percent > 85.0, "memory over 85%");
    deduct(10, r.disk_percent > 85.0, "disk over 85%");
    // A full disk stops the gateway's database from writing.
    deduct(30, r.disk_percent >= 95.0, "disk full");
    (score.clamp(0, 100) as u8, why)
}

/// The state of an instance from a probe: `None` when the host did not answer.
pub fn assess(reading: Option<&Reading>) -> (HealthState, u8, Vec<String>) {
    let Some(r) = reading else {
        return (HealthState::Unreachable, 0, vec!["host unreachable".into()]);
    };
    let (score, why) = score(r);
    let state = if !r.gateway_up {
        HealthState::Offline
    } else if score < HEALTHY_AT {
        HealthState::Degraded
    } else {
        HealthState::Healthy
    };
    (state, score, why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Reading {
        Reading {
            gateway_up: true,
            gateway_ready: true,
            docker_up: true,
            cpu_percent: 5.0,
            memory_percent: 30.0,
            disk_percent: 20.0,
            ..Reading::default()
        }
    }

    #[test]
    fn a_good_host_is_healthy_at_100() {
        assert_eq!(assess(Some(&good())).0, HealthState::Healthy);
        assert_eq!(score(&good()).0, 100);
    }

    #[test]
    fn pressure_degrades_and_a_dead_gateway_is_offline() {
        let mut r = good();
        r.cpu_percent = 95.0;
        r.memory_percent = 90.0;
        r.disk_percent = 90.0;
        assert_eq!(assess(Some(&r)).0, HealthState::Healthy);
        r.docker_up = false;
        let (state, score, _) = assess(Some(&r));
        assert_eq!((state, score), (HealthState::Degraded, 50));
        r.gateway_up = false;
        assert_eq!(assess(Some(&r)).0, HealthState::Offline);
        assert_eq!(assess(None).0, HealthState::Unreachable);
    }
}
