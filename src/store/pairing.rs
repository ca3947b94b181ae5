//! Rows of pairing approvals: `pairing_requests` (each end user's request to talk to an
//! instance's bot, as the pairing poll found it, and how it ended) and `pairing_messages`
//! (where each was posted, to edit it when it is decided or expires).

use chrono::{DateTime, Utc};

use super::{Store, StoreError, ts};
use crate::chat::MessageRef;

/// One pairing request.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PairingRow {
    pub id: i64,
    pub instance: String,
    pub channel: String,
    pub request_id: String,
    pub account: String,
    pub sender_id: Option<String>,
    pub sender_name: Option<String>,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
    pub seen_at: String,
    /// pending | approved | rejected | expired | gone
    pub state: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
}

/// A request as the gateway lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenRequest {
    pub request_id: String,
    pub account: String,
    pub sender_id: Option<String>,
    pub sender_name: Option<String>,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
}

impl Store {
    /// Records a request the poll saw; returns its row when it is new.
    pub async fn saw_pairing(
        &self,
        instance: &str,
        channel: &str,
        seen: &SeenRequest,
        now: DateTime<Utc>,
    ) -> Result<Option<PairingRow>, StoreError> {
        Ok(sqlx::query_as(
            "INSERT INTO pairing_requests (instance, channel, request_id, account, sender_id, sender_name, created_at, expires_at, seen_at, state)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')
             ON CONFLICT(instance, channel, request_id) DO NOTHING RETURNING *",
        )
        .bind(instance)
        .bind(channel)
        .bind(&seen.request_id)
        .bind(&seen.account)
        .bind(&seen.sender_id)
        .bind(&seen.sender_name)
        .bind(&seen.created_at)
        .bind(&seen.expires_at)
        .bind(ts(now))
        .fetch_optional(self.pool())
        .await?)
    }

    /// One request by its row id.
    pub async fn pairing(&self, id: i64) -> Result<Option<PairingRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM pairing_requests WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// The pending requests, of one instance or all, oldest first.
    pub async fn pending_pairings(
        &self,
        instance: Option<&str>,
    ) -> Result<Vec<PairingRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM pairing_requests WHERE state = 'pending' AND (? IS NULL OR instance = ?) ORDER BY id",
        )
        .bind(instance)
        .bind(instance)
        .fetch_all(self.pool())
        .await?)
    }

    /// Claims a pending request for one decision (a second press finds it taken); false
    /// when it was not pending.
    pub async fn claim_pairing(&self, id: i64) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE pairing_requests SET state = 'deciding' WHERE id = ? AND state = 'pending'",
        )
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1)
    }

    /// A claimed request goes back to pending (its decision failed on the way).
    pub async fn release_pairing(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE pairing_requests SET state = 'pending' WHERE id = ? AND state = 'deciding'",
        )
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Ends a pending request (`approved`, `rejected`, `expired`, `gone`); false when it
    /// was not pending any more (decided elsewhere, or a second press).
    pub async fn end_pairing(
        &self,
        id: i64,
        state: &str,
        by: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE pairing_requests SET state = ?, decided_by = ?, decided_at = ? WHERE id = ? AND state IN ('pending', 'deciding')",
        )
        .bind(state)
        .bind(by)
        .bind(ts(now))
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1)
    }

    /// Where a request was posted.
    pub async fn add_pairing_message(&self, id: i64, at: &MessageRef) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pairing_messages (request, platform, chat, message) VALUES (?, ?, ?, ?)",
        )
        .bind(id)
        .bind(at.platform.as_str())
        .bind(&at.chat)
        .bind(&at.message)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The messages of a request.
    pub async fn pairing_messages(&self, id: i64) -> Result<Vec<MessageRef>, StoreError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT platform, chat, message FROM pairing_messages WHERE request = ? ORDER BY rowid",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(platform, chat, message)| {
                let platform = match platform.as_str() {
                    "telegram" => crate::config::Platform::Telegram,
                    "discord" => crate::config::Platform::Discord,
                    "console" => crate::config::Platform::Console,
                    _ => return None,
                };
                Some(MessageRef {
                    platform,
                    chat,
                    message,
                })
            })
            .collect())
    }
}
