//! Rows of the alerts: `incidents` (one instance's trouble, from its first bad reading to
//! its recovery), `alerts` (one message to the ops channels, of one incident or a group),
//! `alert_messages` (where each was posted, to edit and answer it later), `alerts_held`
//! (kept back in a channel's quiet hours) and `silences`.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, ts};
use crate::chat::MessageRef;
use crate::config::Platform;

/// One incident.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IncidentRow {
    pub id: i64,
    pub instance: String,
    pub provider: String,
    pub region: String,
    /// The worst health state so far.
    pub state: String,
    pub reasons: String,
    pub opened_at: String,
    /// The alert that told of it; `None` while it was not told (silenced, or held back).
    pub alert_id: Option<i64>,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<String>,
    pub resolved_at: Option<String>,
    pub resolution: Option<String>,
}

/// One alert message.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AlertRow {
    pub id: i64,
    pub opened_at: String,
    pub grouped: bool,
    /// The message as first sent, as plain text.
    pub body: String,
    pub repeated_at: Option<String>,
    pub escalated_at: Option<String>,
    pub closed_at: Option<String>,
}

/// Where one alert was posted.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AlertMessageRow {
    pub alert_id: i64,
    pub platform: String,
    pub chat: String,
    pub message: String,
    /// `alert` or `escalation`.
    pub kind: String,
    pub sent_at: String,
}

impl AlertMessageRow {
    /// The message's reference, when its platform is known.
    pub fn reference(&self) -> Option<MessageRef> {
        let platform = match self.platform.as_str() {
            "telegram" => Platform::Telegram,
            "discord" => Platform::Discord,
            "console" => Platform::Console,
            _ => return None,
        };
        Some(MessageRef {
            platform,
            chat: self.chat.clone(),
            message: self.message.clone(),
        })
    }
}

/// One silence.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SilenceRow {
    pub id: i64,
    /// `instance`, `region` or `provider`.
    pub scope: String,
    pub value: String,
    pub until: String,
    pub by: String,
    pub created_at: String,
    pub lifted_at: Option<String>,
}

/// A new incident.
#[derive(Debug, Clone)]
pub struct NewIncident<'a> {
    pub instance: &'a str,
    pub provider: &'a str,
    pub region: &'a str,
    pub state: &'a str,
    pub reasons: &'a str,
    pub opened_at: &'a str,
}

impl Store {
    /// Every incident not resolved yet, oldest first.
    pub async fn open_incidents(&self) -> Result<Vec<IncidentRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM incidents WHERE resolved_at IS NULL ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// One incident.
    pub async fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM incidents WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Opens an incident; returns its id.
    pub async fn open_incident(&self, new: &NewIncident<'_>) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO incidents (instance, provider, region, state, reasons, opened_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(new.instance)
        .bind(new.provider)
        .bind(new.region)
        .bind(new.state)
        .bind(new.reasons)
        .bind(new.opened_at)
        .fetch_one(self.pool())
        .await?)
    }

    /// An open incident got worse (or its reasons changed).
    pub async fn update_incident(
        &self,
        id: i64,
        state: &str,
        reasons: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE incidents SET state = ?, reasons = ? WHERE id = ?")
            .bind(state)
            .bind(reasons)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// An incident ends: `recovered`, or `no longer watched`.
    pub async fn resolve_incident(
        &self,
        id: i64,
        resolution: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE incidents SET resolved_at = ?, resolution = ? WHERE id = ? AND resolved_at IS NULL",
        )
        .bind(ts(at))
        .bind(resolution)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Acknowledges the open incidents `ids` that nobody acknowledged yet; returns how
    /// many it took.
    pub async fn acknowledge(
        &self,
        ids: &[i64],
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut taken = 0;
        let mut tx = self.pool().begin().await?;
        for id in ids {
            taken += sqlx::query(
                "UPDATE incidents SET acknowledged_by = ?, acknowledged_at = ? WHERE id = ? AND acknowledged_at IS NULL AND resolved_at IS NULL",
            )
            .bind(by)
            .bind(ts(at))
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        }
        tx.commit().await?;
        Ok(taken)
    }

    /// A new alert telling of `incidents`; returns its id.
    pub async fn add_alert(
        &self,
        incidents: &[i64],
        grouped: bool,
        body: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alerts (opened_at, grouped, body) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(ts(at))
        .bind(grouped)
        .bind(body)
        .fetch_one(&mut *tx)
        .await?;
        for incident in incidents {
            sqlx::query("UPDATE incidents SET alert_id = ? WHERE id = ?")
                .bind(id)
                .bind(incident)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    /// One alert.
    pub async fn alert(&self, id: i64) -> Result<Option<AlertRow>, StoreError> {
        Ok(sqlx::query_as("SELECT * FROM alerts WHERE id = ?")
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    /// Alerts not closed yet, oldest first.
    pub async fn open_alerts(&self) -> Result<Vec<AlertRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM alerts WHERE closed_at IS NULL ORDER BY id")
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Every incident an alert told of, open or not.
    pub async fn alert_incidents(&self, alert: i64) -> Result<Vec<IncidentRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM incidents WHERE alert_id = ? ORDER BY id")
                .bind(alert)
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Where an alert was posted.
    pub async fn add_alert_message(
        &self,
        alert: i64,
        at: &MessageRef,
        kind: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO alert_messages (alert_id, platform, chat, message, kind, sent_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(alert)
        .bind(at.platform.as_str())
        .bind(&at.chat)
        .bind(&at.message)
        .bind(kind)
        .bind(ts(now))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The messages of an alert.
    pub async fn alert_messages(&self, alert: i64) -> Result<Vec<AlertMessageRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM alert_messages WHERE alert_id = ? ORDER BY rowid")
                .bind(alert)
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Marks an alert repeated, escalated or closed at `at` (`what`: one of those columns).
    pub async fn mark_alert(
        &self,
        alert: i64,
        what: AlertMark,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = match what {
            AlertMark::Repeated => "UPDATE alerts SET repeated_at = ? WHERE id = ?",
            AlertMark::Escalated => "UPDATE alerts SET escalated_at = ? WHERE id = ?",
            AlertMark::Closed => "UPDATE alerts SET closed_at = ? WHERE id = ?",
        };
        sqlx::query(sql)
            .bind(ts(at))
            .bind(alert)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// An alert kept back from a channel in its quiet hours.
    pub async fn hold_alert(
        &self,
        platform: Platform,
        chat: &str,
        alert: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT OR IGNORE INTO alerts_held (platform, chat, alert_id, held_at) VALUES (?, ?, ?, ?)",
        )
        .bind(platform.as_str())
        .bind(chat)
        .bind(alert)
        .bind(ts(at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The alerts kept back from one channel, oldest first.
    pub async fn held_alerts(
        &self,
        platform: Platform,
        chat: &str,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT alert_id FROM alerts_held WHERE platform = ? AND chat = ? ORDER BY held_at, alert_id",
        )
        .bind(platform.as_str())
        .bind(chat)
        .fetch_all(self.pool())
        .await?)
    }

    /// The channels an alert is held back from, as (platform, chat).
    pub async fn held_from(&self, alert: i64) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT platform, chat FROM alerts_held WHERE alert_id = ? ORDER BY platform, chat",
        )
        .bind(alert)
        .fetch_all(self.pool())
        .await?)
    }

    /// One alert is no longer held back from one channel (it went out there).
    pub async fn release_held_alert(
        &self,
        platform: &str,
        chat: &str,
        alert: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM alerts_held WHERE platform = ? AND chat = ? AND alert_id = ?")
            .bind(platform)
            .bind(chat)
            .bind(alert)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets what was kept back from one channel (its summary went out).
    pub async fn release_held(&self, platform: Platform, chat: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM alerts_held WHERE platform = ? AND chat = ?")
            .bind(platform.as_str())
            .bind(chat)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A new silence; returns its id.
    pub async fn add_silence(
        &self,
        scope: &str,
        value: &str,
        until: DateTime<Utc>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "INSERT INTO silences (scope, value, until, by, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(scope)
        .bind(value)
        .bind(ts(until))
        .bind(by)
        .bind(ts(now))
        .fetch_one(self.pool())
        .await?)
    }

    /// The silences in force at `now`.
    pub async fn silences(&self, now: DateTime<Utc>) -> Result<Vec<SilenceRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM silences WHERE lifted_at IS NULL AND until > ? ORDER BY id",
        )
        .bind(ts(now))
        .fetch_all(self.pool())
        .await?)
    }

    /// Lifts the silences in force of `scope` `value`; returns how many.
    pub async fn lift_silences(
        &self,
        scope: &str,
        value: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE silences SET lifted_at = ? WHERE scope = ? AND value = ? AND lifted_at IS NULL AND until > ?",
        )
        .bind(ts(now))
        .bind(scope)
        .bind(value)
        .bind(ts(now))
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    /// The newest reading of `instance` in the given health state before `before`.
    pub async fn last_reading_in(
        &self,
        instance: &str,
        state: &str,
        before: &str,
    ) -> Result<Option<super::ReadingRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT * FROM readings WHERE instance = ? AND state = ? AND at < ? ORDER BY at DESC LIMIT 1",
        )
        .bind(instance)
        .bind(state)
        .bind(before)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The newest reading of `instance`.
    pub async fn last_reading(
        &self,
        instance: &str,
    ) -> Result<Option<super::ReadingRow>, StoreError> {
        Ok(
            sqlx::query_as("SELECT * FROM readings WHERE instance = ? ORDER BY at DESC LIMIT 1")
                .bind(instance)
                .fetch_optional(self.pool())
                .await?,
        )
    }
}

/// What [`Store::mark_alert`] marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertMark {
    Repeated,
    Escalated,
    Closed,
}
