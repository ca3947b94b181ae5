//! The catalogue checked as a whole: every example parses, every tool a prompt names
//! exists, help and usage spell flags alike.

use clawops::ops::catalogue;

#[test]
fn every_example_parses_into_its_own_action() {
    for spec in catalogue() {
        let action = clawops::command::parse(spec.example)
            .unwrap_or_else(|e| panic!("/{} example {:?}: {e}", spec.name, spec.example));
        assert_eq!(action.spec().name, spec.name, "{}", spec.example);
    }
}

#[test]
fn every_tool_a_prompt_names_exists() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("prompts");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let tools = text
            .lines()
            .find_map(|l| l.strip_prefix("tools:"))
            .unwrap_or_else(|| panic!("{} names no tools", path.display()));
        for tool in tools.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            seen += 1;
            let known =
                tool == "all" || tool == "read_skill" || catalogue().iter().any(|s| s.name == tool);
            assert!(known, "{}: no tool {tool:?}", path.display());
        }
    }
    assert!(seen > 0);
}

#[test]
fn help_and_usage_spell_flags_alike() {
    for spec in catalogue() {
        let usage = spec.usage();
        let help = clawops::ops::actions::help::Help {
            command: Some(spec.name.to_string()),
        }
        .run(clawops::config::Role::Owner)
        .plain();
        for p in spec.params.iter().filter(|p| p.flag) {
            let flag = format!("--{}", p.name.replace('_', "-"));
            assert!(usage.contains(&flag), "{usage} lacks {flag}");
            assert!(
                help.contains(&flag),
                "/help {} lacks {flag}:\n{help}",
                spec.name
            );
            if p.name.contains('_') {
                let raw = format!("--{}", p.name);
                assert!(!help.contains(&raw) && !usage.contains(&raw), "{raw}");
            }
        }
    }
}
