//! What a host prints and what an operator types about hosts, on any text: the probe's
//! `users=` words give a count only when a `users=` word holds that number; an SSH
//! address that is read reads back from its URL; quiet hours that are read read back
//! their own times.

#![no_main]

use clawops::config::QuietHours;
use clawops::remote::EndUsers;
use clawops::remote::ssh::Target;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match EndUsers::from_probe(text) {
        Some(EndUsers::Counted { count, owner }) => {
            let said = text
                .split_whitespace()
                .find_map(|w| w.strip_prefix("users="))
                .filter(|v| !v.is_empty());
            assert_eq!(
                said.and_then(|v| v.parse::<u32>().ok()),
                Some(count),
                "{text:?}"
            );
            if let Some(owner) = owner {
                assert!(
                    text.split_whitespace()
                        .any(|w| w == format!("owner={owner}"))
                );
            }
        }
        Some(EndUsers::Unknown(why)) => assert!(!why.contains('-'), "{why:?}"),
        None => {}
    }
    if let Ok(t) = Target::parse(text) {
        assert_eq!(Target::parse(&t.url()), Ok(t.clone()), "{text:?}");
        assert!(t.port != 0 && !t.user.is_empty() && !t.host.is_empty());
    }
    if let Ok(q) = QuietHours::parse(text, "UTC") {
        let again = format!("{}-{}", q.from.format("%H:%M"), q.until.format("%H:%M"));
        assert_eq!(QuietHours::parse(&again, "UTC"), Ok(q), "{text:?}");
    }
});
