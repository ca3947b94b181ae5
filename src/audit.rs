//! The audit trail: an append-only chain of rows, each sealed with an HMAC-SHA256 (under a
//! key derived from the master key, so rows cannot be recomputed without it) of the
//! previous row's hash and its own content; a head witness kept outside the database (the
//! newest row's number and hash, in a file beside the key file) so that deleting the
//! newest rows is seen too; and the verifier that finds the first broken link.
//!
//! Owns the hashing, the witness and the verdict; the rows themselves live in `store`.
//! Callers must never put a secret in a row: actions are recorded in their redacted
//! command form, and every registered secret is cut out here again.

use std::path::{Path, PathBuf};

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::clock::Clock;
use crate::store::{AuditRow, Store, StoreError};

/// What the chain's HMAC key is derived as from the master key.
pub const KEY_FAMILY: &str = "audit-chain";

/// The `prev_hash` of the first row.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Why the audit trail could not be written or read.
#[derive(Debug, Error)]
pub enum AuditError {
    #[error("cannot write the audit trail, so nothing was done: {0}")]
    Store(#[from] StoreError),
    #[error("cannot write the audit trail's head witness {path}, so nothing was done: {source}")]
    Witness {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The file beside the store that witnesses the trail's newest row.
pub fn witness_path(store: &Path) -> PathBuf {
    store.with_extension("audit-head")
}

/// What the witness file says: the newest row's number and hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

/// Reads the witness at `path`; None when there is none yet (a new store).
pub fn read_witness(path: &Path) -> Result<Option<Head>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let mut parts = text.split_whitespace();
    match (parts.next().and_then(|s| s.parse().ok()), parts.next()) {
        (Some(seq), Some(hash)) => Ok(Some(Head {
            seq,
            hash: hash.to_string(),
        })),
        _ => Err(format!("{} is not a witness (damaged?)", path.display())),
    }
}

fn write_witness(path: &Path, head: &Head) -> std::io::Result<()> {
    let temp = path.with_extension(format!("audit-head.{}.tmp", std::process::id()));
    {
        let mut file = std::fs::File::create(&temp)?;
        std::io::Write::write_all(
            &mut file,
            format!("{} {}\n", head.seq, head.hash).as_bytes(),
        )?;
        file.sync_all()?;
    }
    std::fs::rename(&temp, path)
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
#[derive(Clone)]
pub struct Audit {
    store: Store,
    clock: Clock,
    key: [u8; 32],
    witness: Option<PathBuf>,
    /// The newest row the witness names: rows appended at once (a sweep's job row and a
    /// heal's step) write it one at a time, and never back to an older row.
    witnessed: std::sync::Arc<std::sync::Mutex<i64>>,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Audit(witness {:?})", self.witness)
    }
}

impl Audit {
    /// An audit trail over `store`, timestamped by `clock`, keyed with `key`, its head
    /// witnessed in `witness`.
    pub fn new(store: Store, clock: Clock, key: [u8; 32], witness: Option<PathBuf>) -> Audit {
        Audit {
            store,
            clock,
            key,
            witness,
            witnessed: Default::default(),
        }
    }

    /// Appends one row and returns it; then the witness names it.
    pub async fn record(
        &self,
        actor: &str,
        event: Event,
        action: &str,
        detail: &str,
    ) -> Result<AuditRow, AuditError> {
        let at = crate::store::ts(self.clock.now());
        let key = self.key;
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
                    keyed: 1,
                };
                row.hash = seal(&row, &key);
                row
            })
            .await?;
        self.witness(&row)?;
        Ok(row)
    }

    fn witness(&self, row: &AuditRow) -> Result<(), AuditError> {
        let Some(path) = &self.witness else {
            return Ok(());
        };
        let head = Head {
            seq: row.seq,
            hash: row.hash.clone(),
        };
        let mut witnessed = self.witnessed.lock().unwrap_or_else(|p| p.into_inner());
        if *witnessed >= row.seq {
            // A newer row is witnessed already.
            return Ok(());
        }
        write_witness(path, &head).map_err(|source| AuditError::Witness {
            path: path.clone(),
            source,
        })?;
        *witnessed = row.seq;
        Ok(())
    }

    /// Re-seals a trail written before the chain was keyed, once its old chain is checked
    /// intact; returns what happened, for the operators (None when nothing was to do).
    pub async fn upgrade(&self) -> Result<Option<String>, AuditError> {
        let old = self.store.unkeyed_audit_rows().await?;
        if old == 0 {
            return Ok(None);
        }
        if let Verdict::Broken { seq, reason } = walk(&self.store, &self.key, None).await? {
            return Ok(Some(format!(
                "⚠ The audit trail is broken at row {seq} ({reason}); its {old} older rows were not re-sealed with the keyed chain. Look with `clawops audit verify`."
            )));
        }
        let mut rows = Vec::new();
        let mut prev = GENESIS.to_string();
        let mut after = 0;
        loop {
            let page = self.store.audit_page(after, 1000).await?;
            if page.is_empty() {
                break;
            }
            for mut row in page {
                after = row.seq;
                row.prev_hash = prev;
                row.keyed = 1;
                row.hash = seal(&row, &self.key);
                prev = row.hash.clone();
                rows.push(row);
            }
        }
        self.store.reseal_audit(&rows).await?;
        if let Some(last) = rows.last() {
            self.witness(last)?;
        }
        let said = format!(
            "audit trail upgraded: {} rows re-sealed with a keyed chain (HMAC-SHA256 under the master key) and a head witness",
            rows.len()
        );
        self.record("system", Event::Done, "audit upgrade", &said)
            .await?;
        Ok(Some(format!("ℹ {said}.")))
    }
}

/// The hash of a row: HMAC-SHA256 under `key` (SHA-256 for a row written before the chain
/// was keyed) over the previous hash and the row's fields, each length-prefixed so that
/// moving text from one field to another changes the hash.
pub fn seal(row: &AuditRow, key: &[u8; 32]) -> String {
    if row.keyed == 0 {
        return seal_unkeyed(row);
    }
    let mut mac = <hmac::Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .expect("HMAC takes a key of any length");
    for part in parts(row) {
        mac.update(&part);
    }
    hex::encode(mac.finalize().into_bytes())
}

/// The hash of a row as the chain had it before it was keyed: plain SHA-256, which anyone
/// can recompute.
pub fn seal_unkeyed(row: &AuditRow) -> String {
    let mut h = Sha256::new();
    for part in parts(row) {
        h.update(&part);
    }
    hex::encode(h.finalize())
}

fn parts(row: &AuditRow) -> Vec<Vec<u8>> {
    let mut out = vec![row.prev_hash.as_bytes().to_vec()];
    let seq = row.seq.to_string();
    for field in [
        seq.as_str(),
        &row.at,
        &row.actor,
        &row.event,
        &row.action,
        &row.detail,
    ] {
        out.push((field.len() as u64).to_be_bytes().to_vec());
        out.push(field.as_bytes().to_vec());
    }
    out
}

/// Walks the whole chain, a page at a time, and reports the first broken link; then
/// compares its newest row with the witness at `witness` (rows deleted from the end).
pub async fn verify(
    store: &Store,
    key: &[u8; 32],
    witness: Option<&Path>,
) -> Result<Verdict, AuditError> {
    let head = match witness.map(read_witness).transpose() {
        Ok(head) => head.flatten(),
        Err(why) => {
            return Ok(Verdict::Broken {
                seq: 0,
                reason: why,
            });
        }
    };
    walk(store, key, head.as_ref()).await
}

async fn walk(store: &Store, key: &[u8; 32], head: Option<&Head>) -> Result<Verdict, AuditError> {
    const PAGE: i64 = 1000;
    let mut prev_hash = GENESIS.to_string();
    let mut prev_seq = 0;
    let mut keyed = false;
    loop {
        let page = store.audit_page(prev_seq, PAGE).await?;
        if page.is_empty() {
            return Ok(match head {
                Some(h) => against_witness(store, h, prev_seq, &prev_hash).await?,
                None => Verdict::Intact {
                    rows: prev_seq,
                    tip: prev_hash,
                },
            });
        }
        for row in &page {
            if keyed && row.keyed == 0 {
                return Ok(Verdict::Broken {
                    seq: row.seq,
                    reason:
                        "an unkeyed row after the keyed chain began (rewritten without the key)"
                            .into(),
                });
            }
            keyed |= row.keyed == 1;
            if let Some(reason) = check_link(row, prev_seq, &prev_hash, key) {
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

/// The chain's end (`last`, `tip`) against the witness `head`.
async fn against_witness(
    store: &Store,
    head: &Head,
    last: i64,
    tip: &str,
) -> Result<Verdict, AuditError> {
    if head.seq > last {
        return Ok(Verdict::Broken {
            seq: last + 1,
            reason: format!(
                "rows {} to {} were deleted from the end: the head witness says the newest row is {}",
                last + 1,
                head.seq,
                head.seq
            ),
        });
    }
    // The witness may lag one write behind a crash; it must still name a row of the chain.
    let named = store.audit_row(head.seq).await?;
    if named.as_ref().map(|r| r.hash.as_str()) != Some(head.hash.as_str()) {
        return Ok(Verdict::Broken {
            seq: head.seq,
            reason: "its hash is not the one the head witness recorded".into(),
        });
    }
    Ok(Verdict::Intact {
        rows: last,
        tip: tip.to_string(),
    })
}

/// Why `row` does not follow the row (`prev_seq`, `prev_hash`), if it does not.
fn check_link(row: &AuditRow, prev_seq: i64, prev_hash: &str, key: &[u8; 32]) -> Option<String> {
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
    if seal(row, key) != row.hash {
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
            keyed: 1,
        };
        r.hash = seal(&r, &KEY);
        r
    }

    const KEY: [u8; 32] = [5; 32];

    #[test]
    fn a_good_link_passes_and_any_edit_breaks_it() {
        let a = row(1, GENESIS);
        let b = row(2, &a.hash);
        assert_eq!(check_link(&a, 0, GENESIS, &KEY), None);
        assert_eq!(check_link(&b, 1, &a.hash, &KEY), None);
        let mut edited = b.clone();
        edited.action = "/restart bob-bot".into();
        assert!(
            check_link(&edited, 1, &a.hash, &KEY)
                .unwrap()
                .contains("changed")
        );
        assert!(
            check_link(&b, 0, GENESIS, &KEY)
                .unwrap()
                .contains("missing")
        );
        // Recomputed without the key (plain SHA-256, or another key): still broken.
        let mut forged = edited.clone();
        forged.hash = seal_unkeyed(&forged);
        assert!(check_link(&forged, 1, &a.hash, &KEY).is_some());
        forged.hash = seal(&forged, &[6; 32]);
        assert!(check_link(&forged, 1, &a.hash, &KEY).is_some());
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let mut a = row(1, GENESIS);
        let original = a.hash.clone();
        a.action = "/restart alice".into();
        a.detail = "-bot".into();
        assert_ne!(seal(&a, &KEY), original);
    }
}

#[cfg(test)]
mod concurrency {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn rows_appended_at_once_in_one_process_all_land_and_the_witness_names_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("fleet.db");
        let store = Store::open(&db).await.unwrap();
        let witness = witness_path(&db);
        let audit = Audit::new(
            store.clone(),
            Clock::system(),
            [7; 32],
            Some(witness.clone()),
        );
        let mut tasks = Vec::new();
        for i in 0..32 {
            let audit = audit.clone();
            tasks.push(tokio::spawn(async move {
                audit
                    .record("system", Event::Done, &format!("job {i}"), "")
                    .await
            }));
        }
        for t in tasks {
            t.await.unwrap().expect("every append lands");
        }
        let head = read_witness(&witness).unwrap().unwrap();
        assert_eq!(head.seq, 32, "the witness names the newest row");
        let verdict = verify(&store, &[7; 32], Some(&witness)).await.unwrap();
        assert!(
            matches!(verdict, Verdict::Intact { rows: 32, .. }),
            "{verdict:?}"
        );
    }
}
