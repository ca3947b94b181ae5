//! The gate's decisions, as plain functions over values: may this person run this action,
//! and must a human press a button before it runs. The door calls them; they do no I/O.

use super::{Action, BlastRadius, Risk, Spec};
use crate::config::{Role, SafetyConfig};

/// Why the gate said no.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not an operator of this fleet at all.
    Stranger,
    /// An operator whose role is too low.
    Role { have: Role, need: Role },
    /// The system (a job, a heal) asked for something outside its policy.
    NotForTheSystem,
}

impl Refusal {
    /// What the person is told. A stranger learns nothing about the fleet.
    pub fn message(&self, command: &str) -> String {
        match self {
            Refusal::Stranger => {
                "Sorry, this is a private operations bot and I can't help you here.".into()
            }
            Refusal::Role { have, need } => format!(
                "Your role ({}) may not run /{command}: it needs {}. Ask an owner to change your role in the config.",
                have.as_str(),
                need.as_str()
            ),
            Refusal::NotForTheSystem => format!(
                "The system may not run /{command} on its own: it reads, restarts and reboots; a person destroys, migrates, deploys and changes configuration."
            ),
        }
    }
}

/// What the system (jobs; later, heals) may do without a person's press: read anything,
/// restart a gateway or its service, reboot a server at its cloud, run a job. It may never
/// destroy, delete, migrate, deploy (bill more), suspend, restore, update or change a
/// customer's configuration: those wait for a person.
pub fn system_may(action: &Action) -> Result<(), Refusal> {
    let allowed = action.spec().risk == Risk::Read
        || matches!(action, Action::Restart(_) | Action::Reboot(_))
        || matches!(action, Action::Update(u) if u.rollback)
        || matches!(action, Action::Failover(_))
        || matches!(action, Action::Suspend(s) if s.over_limits);
    if allowed {
        Ok(())
    } else {
        Err(Refusal::NotForTheSystem)
    }
}

/// Whether someone with `role` (None: not an operator) may run the action of `spec`.
pub fn authorize(role: Option<Role>, spec: &Spec) -> Result<Role, Refusal> {
    authorize_for(role, spec.role)
}

/// Whether someone with `role` (None: not an operator) has at least `need`.
pub fn authorize_for(role: Option<Role>, need: Role) -> Result<Role, Refusal> {
    let have = role.ok_or(Refusal::Stranger)?;
    if have >= need {
        Ok(have)
    } else {
        Err(Refusal::Role { have, need })
    }
}

/// Why an action needs a confirmation, if it does: it cannot be undone, it adds to a real
/// cloud bill, it touches more instances than `confirm_bulk_over`, or more end users than
/// `confirm_end_users_over`.
pub fn confirmation_reason(
    spec: &Spec,
    radius: &BlastRadius,
    safety: &SafetyConfig,
) -> Option<String> {
    if spec.risk == Risk::Read {
        return None;
    }
    if let Some(why) = &radius.press {
        return Some(why.clone());
    }
    if !radius.reversible {
        return Some("it cannot be undone".into());
    }
    if spec.risk == Risk::Destructive {
        return Some("it stops end users' bots while it runs".into());
    }
    if radius.billed && radius.monthly_cents > 0 {
        return Some("it adds to a real cloud bill".into());
    }
    let count = radius.instances.len();
    if count > safety.confirm_bulk_over as usize {
        return Some(format!(
            "it touches {count} instances (more than {})",
            safety.confirm_bulk_over
        ));
    }
    if radius.end_users > safety.confirm_end_users_over {
        return Some(format!(
            "it affects {} end users (more than {})",
            radius.end_users, safety.confirm_end_users_over
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::spec;

    fn radius(n: usize, end_users: u32) -> BlastRadius {
        BlastRadius {
            instances: (0..n)
                .map(|i| (format!("i{i}"), "sim nbg1".into()))
                .collect(),
            end_users,
            reversible: true,
            ..BlastRadius::default()
        }
    }

    #[test]
    fn a_viewer_cannot_restart_but_may_list() {
        let restart = spec("restart").unwrap();
        assert_eq!(
            authorize(Some(Role::Viewer), restart),
            Err(Refusal::Role {
                have: Role::Viewer,
                need: Role::Operator
            })
        );
        assert!(authorize(Some(Role::Viewer), spec("list").unwrap()).is_ok());
        assert!(authorize(Some(Role::Operator), restart).is_ok());
        assert_eq!(
            authorize(None, spec("list").unwrap()),
            Err(Refusal::Stranger)
        );
    }

    #[test]
    fn destroy_always_needs_a_confirmation() {
        let safety = SafetyConfig::default();
        let mut r = radius(1, 1);
        r.reversible = false;
        assert!(confirmation_reason(spec("destroy").unwrap(), &r, &safety).is_some());
        // Even if someone built a radius that claims otherwise.
        assert!(confirmation_reason(spec("destroy").unwrap(), &radius(1, 0), &safety).is_some());
    }

    #[test]
    fn bulk_and_end_user_thresholds() {
        let safety = SafetyConfig::default();
        let restart = spec("restart").unwrap();
        assert_eq!(confirmation_reason(restart, &radius(3, 3), &safety), None);
        assert!(
            confirmation_reason(restart, &radius(4, 4), &safety)
                .unwrap()
                .contains("4 instances")
        );
        assert!(
            confirmation_reason(restart, &radius(1, 11), &safety)
                .unwrap()
                .contains("11 end users")
        );
        assert_eq!(
            confirmation_reason(spec("list").unwrap(), &radius(500, 500), &safety),
            None
        );
    }
}
