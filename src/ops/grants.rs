//! Roles granted by a chat platform's own groups (a Discord guild role), held only while
//! one interaction from a member who holds that group role is handled: the door sees the
//! grant exactly when the platform vouched for it, and a DM (which carries no roles) sees
//! only `[[operators]]`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::config::{Platform, Role};

/// Who holds grants: platform and user id.
type Holder = (Platform, String);

/// The grants being held now, by platform and user id.
#[derive(Clone, Default)]
pub struct Grants {
    held: Arc<Mutex<HashMap<Holder, Vec<Role>>>>,
}

impl Grants {
    /// Holds `role` for `user` until the returned guard drops.
    pub fn hold(&self, platform: Platform, user: &str, role: Role) -> GrantGuard {
        let key = (platform, user.to_string());
        self.lock().entry(key.clone()).or_default().push(role);
        GrantGuard {
            grants: self.clone(),
            key,
            role,
        }
    }

    /// The highest role held for `user` now.
    pub fn get(&self, platform: Platform, user: &str) -> Option<Role> {
        self.lock()
            .get(&(platform, user.to_string()))
            .and_then(|roles| roles.iter().copied().max())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Holder, Vec<Role>>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Releases one held grant when dropped.
pub struct GrantGuard {
    grants: Grants,
    key: Holder,
    role: Role,
}

impl Drop for GrantGuard {
    fn drop(&mut self) {
        let mut held = self.grants.lock();
        if let Some(roles) = held.get_mut(&self.key) {
            if let Some(i) = roles.iter().position(|r| *r == self.role) {
                roles.remove(i);
            }
            if roles.is_empty() {
                held.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_lasts_as_long_as_its_guard() {
        let grants = Grants::default();
        assert_eq!(grants.get(Platform::Discord, "1"), None);
        let outer = grants.hold(Platform::Discord, "1", Role::Viewer);
        let inner = grants.hold(Platform::Discord, "1", Role::Operator);
        assert_eq!(grants.get(Platform::Discord, "1"), Some(Role::Operator));
        assert_eq!(grants.get(Platform::Telegram, "1"), None);
        drop(inner);
        assert_eq!(grants.get(Platform::Discord, "1"), Some(Role::Viewer));
        drop(outer);
        assert_eq!(grants.get(Platform::Discord, "1"), None);
    }
}
