//! The payloads of the RPC replies clawops reads (`logs.tail`, `channels.pairing.list`,
//! `channels.status`) on any bytes: a log tail keeps one line per line and the text of
//! every line that is not JSON; a pairing list keeps each request's own id and account;
//! stopped channels are sorted and named once.
//!
//! The frame loop itself (`Rpc::call_value`: skip events and other ids, take the answer
//! with the call's id) needs a socket; `tests/fuzz.rs` drives it against a played gateway.

#![no_main]

use clawops::gateway::{self, LogTail, PairingList};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        // Raw log text, as the log file gives it when the gateway is down.
        let text = String::from_utf8_lossy(data);
        let tail = LogTail {
            file: None,
            lines: text.lines().map(str::to_string).collect(),
        };
        let parsed = tail.parsed();
        assert_eq!(parsed.len(), tail.lines.len());
        for (line, read) in tail.lines.iter().zip(&parsed) {
            if serde_json::from_str::<Value>(line).is_err() {
                assert_eq!(&read.message, line);
            }
        }
        return;
    };
    if let Ok(tail) = serde_json::from_value::<LogTail>(value.clone()) {
        assert_eq!(tail.parsed().len(), tail.lines.len());
    }
    if let Ok(list) = serde_json::from_value::<PairingList>(value.clone()) {
        for request in &list.requests {
            match request.seen() {
                Some(seen) => {
                    assert_eq!(Some(&seen.request_id), request.request_id.as_ref());
                    assert_eq!(
                        seen.account,
                        request
                            .account_id
                            .clone()
                            .unwrap_or_else(|| "default".into())
                    );
                }
                None => assert!(request.request_id.is_none()),
            }
        }
    }
    let stopped = gateway::stopped_channels(&value);
    assert!(stopped.windows(2).all(|w| w[0] < w[1]), "{stopped:?}");
});
