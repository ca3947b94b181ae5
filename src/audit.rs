//! The audit trail: an append-only chain of rows, each sealed with the SHA-256 of the
//! previous row's hash and its own content, and the verifier that finds the first broken
//! link after someone edits or deletes a row.
//!
//! Owns the hashing and the verdict; the rows themselves live in `store`. Callers must
//! never put a secret in a row: actions are recorded in their redacted command form.

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::clock::Clock;
use crate::store::{AuditRow, Store, StoreError};

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why the audit trail could not be written or read.
#[derive(Debug, Error)]
pub enum AuditError {
    #[error("cannot write the audit trail, so nothing was done: {0}")]
    Store(#[from] StoreError),
}

/// What kind of event a row records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// An action passed the gate and is about to run.
    Requested,
    /// The gate refused an action.
    Refused,
    /// An action waits for a confirmation press.
    AwaitingConfirmation,
    /// A confirmation was pressed: confirm.
    Confirmed,
    /// A confirmation was pressed: cancel.
    Cancelled,
    /// An action finished.
    Done,
    /// An action failed.
    Failed,
}

impl Event {
    /// The name stored in the row.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Requested => "requested",
            Event::Refused => "refused",
            Event::AwaitingConfirmation => "awaiting-confirmation",
            Event::Confirmed => "confirmed",
            Event::Cancelled => "cancelled",
            Event::Done => "done",
            Event::Failed => "failed",
        }
    }
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every link holds.
    Intact { rows: i64, tip: String },
    /// The first row where the chain breaks, and why.
    Broken { seq: i64, reason: String },
}

/// Appends rows to the chain.
#[derive(Clone, Debug)]
pub struct Audit {
    store: Store,
    clock: Clock,
}

impl Audit {
    /// An audit trail over `store`, timestamped by `clock`.
    pub fn new(store: Store, clock: Clock) -> Audit {
        Audit { store, clock }
    }

    /// Appends one row and returns it.
    pub async fn record(
        &self,
        actor: &str,
        event: Event,
        action: &str,
        detail: &str,
    ) -> Result<AuditRow, AuditError> {
        let at = crate::store::ts(self.clock.now());
        let row = self
            .store
            .append_audit(GENESIS, |seq, prev| {
                let mut row = AuditRow {
                    seq,
                    at,
                    actor: actor.to_string(),
                    event: event.as_str().to_string(),
                    action: crate::secrets::redact_known(action),
                    detail: crate::secrets::redact_known(detail),
                    prev_hash: prev.to_string(),
                    hash: String::new(),
                };
                row.hash = seal(&row);
                row
            })
            .await?;
        Ok(row)
    }
}

/// The hash of a row: SHA-256 over the previous hash and the row's fields, each
/// length-prefixed so that moving text from one field to another changes the hash.
pub fn seal(row: &AuditRow) -> String {
    let mut h = Sha256::new();
    h.update(row.prev_hash.as_bytes());
    let seq = row.seq.to_string();
    for field in [
        seq.as_str(),
        &row.at,
        &row.actor,
        &row.event,
        &row.action,
        &row.detail,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Walks the whole chain, a page at a time, and reports the first broken link.
pub async fn verify(store: &Store) -> Result<Verdict, AuditError> {
    const PAGE: i64 = 1000;
    let mut prev_hash = GENESIS.to_string();
    let mut prev_seq = 0;
    loop {
        let page = store.audit_page(prev_seq, PAGE).await?;
        if page.is_empty() {
            return Ok(Verdict::Intact {
                rows: prev_seq,
                tip: prev_hash,
            });
        }
        for row in &page {
            if let Some(reason) = check_link(row, prev_seq, &prev_hash) {
                return Ok(Verdict::Broken {
                    seq: row.seq,
                    reason,
                });
            }
            prev_seq = row.seq;
            prev_hash = row.hash.clone();
        }
    }
}

/// Why `row` does not follow the row (`prev_seq`, `prev_hash`), if it does not.
fn check_link(row: &AuditRow, prev_seq: i64, prev_hash: &str) -> Option<String> {
    if row.seq != prev_seq + 1 {
        return Some(format!(
            "rows {} to {} are missing (deleted)",
            prev_seq + 1,
            row.seq - 1
        ));
    }
    if row.prev_hash != prev_hash {
        return Some("its link to the previous row does not match that row's hash".into());
    }
    if seal(row) != row.hash {
        return Some(format!(
            "its content was changed after it was written ({} by {}: {})",
            row.event, row.actor, row.action
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: i64, prev: &str) -> AuditRow {
        let mut r = AuditRow {
            seq,
            at: "2026-11-23T07:00:00.000Z".into(),
            actor: "console:local".into(),
            event: "requested".into(),
            action: "/restart alice-bot".into(),
            detail: String::new(),
            prev_hash: prev.into(),
            hash: String::new(),
        };
        r.hash = seal(&r);
        r
    }

    #[test]
    fn a_good_link_passes_and_any_edit_breaks_it() {
        let a = row(1, GENESIS);
        let b = row(2, &a.hash);
        assert_eq!(check_link(&a, 0, GENESIS), None);
        assert_eq!(check_link(&b, 1, &a.hash), None);
        let mut edited = b.clone();
        edited.action = "/restart bob-bot".into();
        assert!(check_link(&edited, 1, &a.hash).unwrap().contains("changed"));
        assert!(check_link(&b, 0, GENESIS).unwrap().contains("missing"));
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let mut a = row(1, GENESIS);
        let original = a.hash.clone();
        a.action = "/restart alice".into();
        a.detail = "-bot".into();
        assert_ne!(seal(&a), original);
    }
}
