//! Roles granted by a chat platform's own groups (a Discord guild role), held only by the
//! task that handles one interaction from a member who holds that group role: the door
//! sees the grant exactly where the platform vouched for it. Another interaction of the
//! same person (a DM, which carries no roles, or a guild message without the role) runs in
//! its own task and sees only `[[operators]]`.

use std::future::Future;

use crate::config::{Platform, Role};

tokio::task_local! {
    static GRANTED: (Platform, String, Role);
}

/// Runs `work` with `role` granted to `user` of `platform` (nothing granted: `None`).
pub async fn with_grant<F: Future>(
    platform: Platform,
    user: &str,
    role: Option<Role>,
    work: F,
) -> F::Output {
    match role {
        Some(role) => {
            GRANTED
                .scope((platform, user.to_string(), role), work)
                .await
        }
        None => work.await,
    }
}

/// The role granted to `user` of `platform` in the task asking, if any.
pub fn granted(platform: Platform, user: &str) -> Option<Role> {
    GRANTED
        .try_with(|(p, u, r)| (*p == platform && u == user).then_some(*r))
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_grant_holds_in_its_own_task_only() {
        assert_eq!(granted(Platform::Discord, "1"), None);
        let inside = with_grant(Platform::Discord, "1", Some(Role::Operator), async {
            let other = tokio::spawn(async { granted(Platform::Discord, "1") });
            (
                granted(Platform::Discord, "1"),
                granted(Platform::Discord, "2"),
                granted(Platform::Telegram, "1"),
                other.await.unwrap(),
            )
        })
        .await;
        assert_eq!(inside, (Some(Role::Operator), None, None, None));
        assert_eq!(granted(Platform::Discord, "1"), None);
    }
}
