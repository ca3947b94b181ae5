//! A surface that keeps what it is sent: for tests, evals and benchmarks that drive the
//! bot in-process and look at its replies.

use std::sync::Mutex;

use async_trait::async_trait;

use super::{Outbound, Replier};

/// Keeps every outbound in order.
#[derive(Debug, Default)]
pub struct Recorder {
    sent: Mutex<Vec<Outbound>>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Recorder {
        Recorder::default()
    }

    /// Everything sent so far, and forgets it.
    pub fn take(&self) -> Vec<Outbound> {
        std::mem::take(&mut *self.sent.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[async_trait]
impl Replier for Recorder {
    async fn send(&self, out: Outbound) {
        self.sent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(out);
    }
}
