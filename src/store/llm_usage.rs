//! Rows of the `llm_usage` table: token counts and estimated cost of every LLM call.

use chrono::{DateTime, Utc};

use super::{Store, StoreError, ts};

/// Usage summed over a period for one actor.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UsageSum {
    pub actor: String,
    pub calls: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_micros: i64,
}

impl Store {
    /// Records one LLM call.
    pub async fn add_llm_usage(
        &self,
        actor: &str,
        model: &str,
        prompt_tokens: i64,
        completion_tokens: i64,
        cost_micros: i64,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO llm_usage (at, actor, model, prompt_tokens, completion_tokens, cost_micros) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(ts(now))
        .bind(actor)
        .bind(model)
        .bind(prompt_tokens)
        .bind(completion_tokens)
        .bind(cost_micros)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Usage per actor since `since`, heaviest first.
    pub async fn llm_usage_since(&self, since: DateTime<Utc>) -> Result<Vec<UsageSum>, StoreError> {
        Ok(sqlx::query_as::<_, UsageSum>(
            "SELECT actor, COUNT(*) AS calls, SUM(prompt_tokens) AS prompt_tokens,
                    SUM(completion_tokens) AS completion_tokens, SUM(cost_micros) AS cost_micros
             FROM llm_usage WHERE at >= ? GROUP BY actor ORDER BY SUM(prompt_tokens + completion_tokens) DESC",
        )
        .bind(ts(since))
        .fetch_all(self.pool())
        .await?)
    }

    /// Tokens one actor used since `since`.
    pub async fn llm_tokens_of(
        &self,
        actor: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COALESCE(SUM(prompt_tokens + completion_tokens), 0) FROM llm_usage WHERE actor = ? AND at >= ?",
        )
        .bind(actor)
        .bind(ts(since))
        .fetch_one(self.pool())
        .await?)
    }
}
