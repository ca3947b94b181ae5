//! The agent's prompts (`prompts/*.md`) and skills (`skills/*/SKILL.md`), embedded at build
//! time so the binary works from anywhere. Each file opens with front matter: `name`,
//! `summary`, and for prompts the `tools` a mode may use.

/// A mode's system prompt and the tools it may use.
#[derive(Debug, Clone, PartialEq)]
pub struct Mode {
    pub name: String,
    pub summary: String,
    /// Tool names, or `None` for all.
    pub tools: Option<Vec<String>>,
    pub text: String,
}

/// A skill: operational knowledge the model reads on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct Skill {
    pub name: String,
    pub summary: String,
    pub text: String,
}

const PROMPTS: &[&str] = &[
    include_str!("../../prompts/commander.md"),
    include_str!("../../prompts/triage.md"),
    include_str!("../../prompts/ledger.md"),
    include_str!("../../prompts/briefer.md"),
    include_str!("../../prompts/fleet.md"),
];

const SKILLS: &[&str] = &[
    include_str!("../../skills/fleet-states/SKILL.md"),
    include_str!("../../skills/deploy/SKILL.md"),
    include_str!("../../skills/auto-heal/SKILL.md"),
    include_str!("../../skills/failover/SKILL.md"),
    include_str!("../../skills/incident-response/SKILL.md"),
    include_str!("../../skills/cost-analysis/SKILL.md"),
    include_str!("../../skills/security-rules/SKILL.md"),
    include_str!("../../skills/pairing/SKILL.md"),
    include_str!("../../skills/gateway-operations/SKILL.md"),
];

/// Splits `---\nkey: value\n---\nbody` into its fields and body.
fn front_matter(file: &str) -> (Vec<(String, String)>, String) {
    let Some(rest) = file.strip_prefix("---\n") else {
        return (Vec::new(), file.to_string());
    };
    let Some((head, body)) = rest.split_once("\n---\n") else {
        return (Vec::new(), file.to_string());
    };
    let fields = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    (fields, body.trim().to_string())
}

fn field(fields: &[(String, String)], key: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .unwrap_or_default()
}

/// Every mode, the commander first.
pub fn modes() -> Vec<Mode> {
    PROMPTS
        .iter()
        .map(|file| {
            let (fields, text) = front_matter(file);
            let tools = field(&fields, "tools");
            Mode {
                name: field(&fields, "name"),
                summary: field(&fields, "summary"),
                tools: (tools != "all")
                    .then(|| tools.split(',').map(|t| t.trim().to_string()).collect()),
                text,
            }
        })
        .collect()
}

/// Every skill.
pub fn skills() -> Vec<Skill> {
    SKILLS
        .iter()
        .map(|file| {
            let (fields, text) = front_matter(file);
            Skill {
                name: field(&fields, "name"),
                summary: field(&fields, "summary"),
                text,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_prompt_and_skill_has_its_front_matter() {
        let modes = modes();
        assert_eq!(modes[0].name, "commander");
        assert!(modes[0].tools.is_none());
        assert!(
            modes
                .iter()
                .all(|m| !m.summary.is_empty() && !m.text.is_empty())
        );
        let triage = modes.iter().find(|m| m.name == "triage").unwrap();
        assert!(
            !triage
                .tools
                .as_ref()
                .unwrap()
                .contains(&"restart".to_string())
        );
        let skills = skills();
        assert_eq!(skills.len(), 9);
        assert!(
            skills
                .iter()
                .all(|s| !s.name.is_empty() && s.summary.len() < 100)
        );
    }
}
