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

/// Discord refuses a command set beyond its limits, and a description cut mid-word reads
/// badly: every command and option fits, and a shortened text ends at a word.
#[test]
fn every_action_fits_discords_limits_for_slash_commands_without_cutting_a_word() {
    use clawops::chat::discord::commands::{
        MAX_DESCRIPTION, MAX_NAME, MAX_OPTIONS, slash_commands,
    };
    let valid_name = |s: &str| {
        !s.is_empty()
            && s.chars().count() <= MAX_NAME
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    };
    let fits = |full: &str, shown: &str| {
        assert!(
            (1..=MAX_DESCRIPTION).contains(&shown.chars().count()),
            "{shown:?} is {} characters",
            shown.chars().count()
        );
        if shown != full {
            let kept = shown.trim_end_matches('…');
            assert!(
                full.starts_with(kept),
                "{shown:?} is not the start of {full:?}"
            );
            let next = full[kept.len()..].chars().next();
            assert!(
                next.is_none_or(|c| !c.is_alphanumeric()),
                "{shown:?} cuts a word of {full:?}"
            );
        }
    };
    let commands = slash_commands();
    assert_eq!(commands.len(), clawops::ops::catalogue().len());
    for (command, spec) in commands.iter().zip(clawops::ops::catalogue()) {
        assert!(valid_name(&command.name), "{}", command.name);
        fits(spec.summary, &command.description);
        assert!(command.options.len() <= MAX_OPTIONS, "/{}", command.name);
        let mut optional = false;
        for option in &command.options {
            assert!(
                valid_name(&option.name),
                "/{} {}",
                command.name,
                option.name
            );
            let param = spec.param(&option.name).unwrap();
            let help = if param.help.trim().is_empty() {
                param.meta
            } else {
                param.help
            };
            fits(help, &option.description);
            assert!(
                !(option.required && optional),
                "/{}: required after optional",
                command.name
            );
            optional |= !option.required;
        }
    }
}
