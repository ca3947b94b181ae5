//! The fake Telegram Bot API lives in the crate (`clawops::farm::bot_api`) so that
//! `clawops bench` can measure chat latency against it too.
#![allow(unused_imports)]

pub use clawops::farm::bot_api::*;
