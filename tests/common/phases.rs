//! Parts of a long real-host walk that do not need each other: each runs even when one
//! before it failed, and the test fails at the end naming every part that did.

#[derive(Default)]
pub struct Phases {
    failed: Vec<String>,
}

impl Phases {
    pub async fn run(&mut self, name: &str, phase: impl std::future::Future<Output = ()>) {
        use futures_util::FutureExt;
        println!("phase: {name}");
        if let Err(panic) = std::panic::AssertUnwindSafe(phase).catch_unwind().await {
            let why = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            self.failed.push(format!("{name}: {why}"));
        }
    }

    pub fn finish(self) {
        assert!(
            self.failed.is_empty(),
            "{} phase(s) failed:\n{}",
            self.failed.len(),
            self.failed.join("\n")
        );
    }
}
