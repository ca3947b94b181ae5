//! Redaction for what the model reads: one rule for the whole process, in `secrets`.

pub use crate::secrets::redact;
