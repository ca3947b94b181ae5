//! One action at a time per instance: whoever changes an instance holds its lock for the
//! whole action; a second single-instance action waits its turn briefly, then answers
//! "busy: /migrate alice-bot is running since 12:01 UTC"; bulk actions skip busy instances
//! and list them. Locks live in memory: a restart frees them, and the deploys they guarded
//! are then recovered as interrupted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

/// Who holds an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Busy {
    pub instance: String,
    /// The action holding it, in command form.
    pub action: String,
    pub since: DateTime<Utc>,
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "busy: {} is running since {}",
            self.action,
            self.since.format("%H:%M UTC")
        )
    }
}

#[derive(Default)]
struct Inner {
    held: Mutex<HashMap<String, Busy>>,
    freed: Notify,
}

/// The locks of every instance. Cloning shares them.
#[derive(Clone, Default)]
pub struct Locks {
    inner: Arc<Inner>,
}

/// Held locks; dropping it frees them.
#[must_use = "the locks are freed when this is dropped"]
pub struct Guard {
    inner: Arc<Inner>,
    names: Vec<String>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut held = self.inner.held.lock().unwrap_or_else(|p| p.into_inner());
        for name in &self.names {
            held.remove(name);
        }
        drop(held);
        self.inner.freed.notify_waiters();
    }
}

impl Locks {
    /// Takes every instance in `names` for `action`, all or none, now.
    pub fn try_take(
        &self,
        names: &[String],
        action: &str,
        now: DateTime<Utc>,
    ) -> Result<Guard, Busy> {
        let mut held = self.inner.held.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(busy) = names.iter().find_map(|n| held.get(n)) {
            return Err(busy.clone());
        }
        let mut names: Vec<String> = names.to_vec();
        names.sort();
        names.dedup();
        for name in &names {
            held.insert(
                name.clone(),
                Busy {
                    instance: name.clone(),
                    action: action.to_string(),
                    since: now,
                },
            );
        }
        Ok(Guard {
            inner: self.inner.clone(),
            names,
        })
    }

    /// Takes them, waiting up to `wait` for a holder to finish.
    pub async fn take(
        &self,
        names: &[String],
        action: &str,
        now: DateTime<Utc>,
        wait: Duration,
    ) -> Result<Guard, Busy> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let freed = self.inner.freed.notified();
            match self.try_take(names, action, now) {
                Ok(guard) => return Ok(guard),
                Err(busy) if tokio::time::Instant::now() >= deadline => return Err(busy),
                Err(_) => {
                    if tokio::time::timeout_at(deadline, freed).await.is_err() {
                        return self.try_take(names, action, now);
                    }
                }
            }
        }
    }

    /// Who holds `name`, if anyone.
    pub fn holder(&self, name: &str) -> Option<Busy> {
        let held = self.inner.held.lock().unwrap_or_else(|p| p.into_inner());
        held.get(name).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[tokio::test]
    async fn hardening_25_one_action_at_a_time_per_instance() {
        let locks = Locks::default();
        let now = Utc::now();
        let held = locks.try_take(&names(&["a"]), "/migrate a", now).unwrap();
        let busy = locks
            .try_take(&names(&["b", "a"]), "/restart --all", now)
            .err()
            .unwrap();
        assert_eq!(busy.action, "/migrate a");
        assert!(
            busy.to_string()
                .starts_with("busy: /migrate a is running since")
        );
        // All or none: b was not taken either.
        assert!(locks.holder("b").is_none());
        // A waiter gets its turn when the holder finishes.
        let waiting = {
            let locks = locks.clone();
            tokio::spawn(async move {
                locks
                    .take(&names(&["a"]), "/config a", now, Duration::from_secs(10))
                    .await
                    .map(drop)
            })
        };
        drop(held);
        assert!(waiting.await.unwrap().is_ok());
        // A waiter whose turn does not come in time hears who is busy.
        let _held = locks.try_take(&names(&["a"]), "/deploy a", now).unwrap();
        let late = locks
            .take(&names(&["a"]), "/config a", now, Duration::from_millis(50))
            .await
            .err()
            .unwrap();
        assert_eq!(late.action, "/deploy a");
    }
}
