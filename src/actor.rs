//! Who asks: a person on a platform (Telegram, Discord, the console), or the system (jobs).
//! A leaf: chat surfaces and the door both name actors without depending on each other.

use serde::{Deserialize, Serialize};

use crate::config::Platform;

/// Who an action is done for: a person on a platform, or `system` (cron jobs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Actor {
    Person {
        platform: Platform,
        user_id: String,
        /// How to greet them; never used for decisions.
        display: String,
    },
    System,
}

impl Actor {
    /// The local operator at the console.
    pub fn console() -> Actor {
        Actor::Person {
            platform: Platform::Console,
            user_id: "local".into(),
            display: "console".into(),
        }
    }

    /// How the audit trail names this actor: `telegram:123`, `console:local`, `system`.
    pub fn audit_name(&self) -> String {
        match self {
            Actor::Person {
                platform, user_id, ..
            } => format!("{}:{}", platform.as_str(), user_id),
            Actor::System => "system".into(),
        }
    }
}
