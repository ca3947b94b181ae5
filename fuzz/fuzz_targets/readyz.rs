//! A gateway's `/readyz` body, as `gateway::probe` reads it, on any bytes: readiness is
//! read only from an object (or, serde's way, a list of its fields) whose `ready` is a
//! boolean, and says what the body says; the same bytes as `channels.status` name stopped
//! accounts sorted, once each, as `channel:account`.

#![no_main]

use clawops::gateway::{self, Readiness};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let readiness = serde_json::from_slice::<Readiness>(data);
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        assert!(readiness.is_err(), "readiness from bytes that are not JSON");
        return;
    };
    if let Ok(r) = &readiness {
        match &value {
            Value::Object(body) => {
                assert_eq!(body.get("ready"), Some(&Value::Bool(r.ready)));
                if let Some(ms) = r.uptime_ms {
                    assert_eq!(body.get("uptimeMs").and_then(Value::as_u64), Some(ms));
                }
            }
            Value::Array(fields) => assert_eq!(fields.first(), Some(&Value::Bool(r.ready))),
            other => panic!("readiness from {other}"),
        }
    }
    let stopped = gateway::stopped_channels(&value);
    assert!(stopped.windows(2).all(|w| w[0] < w[1]), "{stopped:?}");
    assert!(stopped.iter().all(|s| s.contains(':')), "{stopped:?}");
    if let Some(text) = value.as_str() {
        let _ = gateway::needs_a_person(text);
    }
});
