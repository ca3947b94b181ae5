//! The slash grammar on any text: never a panic; `is_command` and the grammar agree on
//! what is a command; and an action it makes reads back from its audit line.
//!
//! The round trip is asserted for every action that carries no secret (a secret is
//! masked in the audit line on purpose).

#![no_main]

use clawops::command::{self, ParseError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = command::parse(text);
    assert_eq!(
        command::is_command(text),
        !matches!(parsed, Err(ParseError::NotCommand)),
        "{text:?}"
    );
    let Ok(action) = parsed else {
        return;
    };
    if action.carries_secret() {
        return;
    }
    let line = action.command_line();
    assert_eq!(command::parse(&line), Ok(action), "{text:?} → {line:?}");
});
