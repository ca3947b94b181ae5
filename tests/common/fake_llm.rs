//! The fake OpenAI-compatible LLM API lives in the crate (`clawops::farm::llm_api`) so
//! that `clawops bench` can count prompt tokens against it too.
#![allow(unused_imports)]

pub use clawops::farm::llm_api::*;
