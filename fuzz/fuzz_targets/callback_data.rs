//! The payloads of chat buttons (`al:…`, `pa:…`, `cf:…`, `cx:…`) on any text: at most one
//! kind of button reads it, and a button is only ever bound to the id written in the
//! payload (never a number cut short or wrapped round); a payload re-made from what was
//! read reads the same.

#![no_main]

use clawops::chat::{self, Outbound};
use libfuzzer_sys::fuzz_target;

/// The id part after `prefix`, read as a wider number than any id.
fn wide(data: &str, prefix: &str) -> Option<i128> {
    data.strip_prefix(prefix)?.parse().ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(data) = std::str::from_utf8(data) else {
        return;
    };
    let alert = chat::alert_pressed(data);
    let pairing = chat::pairing_pressed(data);
    let confirm = chat::pressed(data);
    let kinds = [alert.is_some(), pairing.is_some(), confirm.is_some()];
    assert!(kinds.iter().filter(|k| **k).count() <= 1, "{data:?}");
    if let Some((b, id)) = alert {
        let remade = b.button(id).data;
        let prefix = remade.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
        assert_eq!(wide(data, prefix), Some(i128::from(id)), "{data:?}");
        assert_eq!(chat::alert_pressed(&remade), Some((b, id)));
    }
    if let Some((b, id)) = pairing {
        let remade = b.button(id).data;
        let prefix = remade.trim_end_matches(|c: char| c.is_ascii_digit() || c == '-');
        assert_eq!(wide(data, prefix), Some(i128::from(id)), "{data:?}");
        assert_eq!(chat::pairing_pressed(&remade), Some((b, id)));
    }
    if let Some((yes, id)) = confirm {
        let Outbound::Buttons { buttons, .. } =
            chat::confirmation(id.to_string(), Default::default())
        else {
            panic!("a confirmation has buttons");
        };
        assert_eq!(buttons[if yes { 0 } else { 1 }].data, data);
    }
});
