//! Rows of the `confirmations` table: buttons waiting for one actor's press. They live in
//! SQLite so that a restart neither loses nor replays them.

use chrono::{DateTime, Utc};

use super::{ConfirmationState, Store, StoreError, ts};

/// One confirmation as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ConfirmationRow {
    pub id: String,
    pub platform: String,
    pub user_id: String,
    pub action: String,
    pub prompt: String,
    pub state: ConfirmationState,
    pub created_at: String,
    pub expires_at: String,
    pub decided_at: Option<String>,
}

/// What happened when someone pressed a confirmation's button.
#[derive(Debug, Clone, PartialEq)]
pub enum PressResult {
    /// The press was taken: the row is now decided and cannot be pressed again.
    Taken(ConfirmationRow),
    /// No such confirmation.
    Unknown,
    /// Someone else's button.
    NotYours,
    /// Already confirmed or cancelled.
    AlreadyDecided(ConfirmationState),
    /// Pressed after it expired.
    Expired,
}

impl Store {
    /// Stores a new pending confirmation.
    pub async fn add_confirmation(&self, row: &ConfirmationRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO confirmations (id, platform, user_id, action, prompt, state, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&row.id)
        .bind(&row.platform)
        .bind(&row.user_id)
        .bind(&row.action)
        .bind(&row.prompt)
        .bind(ConfirmationState::Pending)
        .bind(&row.created_at)
        .bind(&row.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Takes a press atomically: only the bound actor, only once, only before expiry.
    pub async fn press_confirmation(
        &self,
        id: &str,
        platform: &str,
        user_id: &str,
        decision: ConfirmationState,
        now: DateTime<Utc>,
    ) -> Result<PressResult, StoreError> {
        let now_s = ts(now);
        let taken = sqlx::query(
            "UPDATE confirmations SET state = ?, decided_at = ?
             WHERE id = ? AND platform = ? AND user_id = ? AND state = ? AND expires_at > ?",
        )
        .bind(decision)
        .bind(&now_s)
        .bind(id)
        .bind(platform)
        .bind(user_id)
        .bind(ConfirmationState::Pending)
        .bind(&now_s)
        .execute(self.pool())
        .await?;
        let row = sqlx::query_as::<_, ConfirmationRow>("SELECT * FROM confirmations WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        let Some(row) = row else {
            return Ok(PressResult::Unknown);
        };
        if taken.rows_affected() == 1 {
            return Ok(PressResult::Taken(row));
        }
        Ok(if row.platform != platform || row.user_id != user_id {
            PressResult::NotYours
        } else if row.state != ConfirmationState::Pending {
            PressResult::AlreadyDecided(row.state)
        } else {
            PressResult::Expired
        })
    }

    /// The pending, unexpired confirmations of one actor, oldest first.
    pub async fn pending_confirmations(
        &self,
        platform: &str,
        user_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<ConfirmationRow>, StoreError> {
        Ok(sqlx::query_as::<_, ConfirmationRow>(
            "SELECT * FROM confirmations WHERE platform = ? AND user_id = ? AND state = ? AND expires_at > ?
             ORDER BY created_at",
        )
        .bind(platform)
        .bind(user_id)
        .bind(ConfirmationState::Pending)
        .bind(ts(now))
        .fetch_all(self.pool())
        .await?)
    }

    /// One confirmation by id, whatever its state.
    pub async fn confirmation(&self, id: &str) -> Result<Option<ConfirmationRow>, StoreError> {
        Ok(
            sqlx::query_as::<_, ConfirmationRow>("SELECT * FROM confirmations WHERE id = ?")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
        )
    }
}
