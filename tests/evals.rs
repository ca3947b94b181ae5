//! The eval scenarios, played with each scenario's scripted tool calls on the fake
//! endpoint: the same runner `clawops eval` uses against a real one.

#[path = "common/fake_llm.rs"]
mod fake_llm;

use clawops::agent::evals::{run, scenarios};
use clawops::config::LlmConfig;
use fake_llm::{FakeLlm, KEY, Reply};

fn llm(base_url: &str) -> LlmConfig {
    let toml = format!(
        "[store]\npath = \"x.db\"\n[providers.sim]\n[llm]\nbase_url = \"{base_url}\"\nmodel = \"fake-model\"\napi_key = \"{KEY}\"\n"
    );
    clawops::config::Config::parse(&toml, "t")
        .unwrap()
        .llm
        .unwrap()
}

#[tokio::test]
async fn every_scenario_passes_with_its_script() {
    for scenario in scenarios() {
        let fake = FakeLlm::start().await;
        let calls = scenario
            .script
            .iter()
            .map(|(n, a)| (n.to_string(), a.to_string()))
            .collect();
        fake.script(vec![
            Reply::Tools(calls),
            Reply::Text("Done as asked.".into()),
        ]);
        run(&scenario, &llm(&fake.base_url))
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
    }
}

#[tokio::test]
async fn a_misbehaving_model_fails_the_evals() {
    // A model that restarts each degraded instance one by one (no selector) makes no
    // confirmation: the first scenario must fail, so the eval can tell models apart.
    let scenario = &scenarios()[0];
    let fake = FakeLlm::start().await;
    fake.script(vec![
        Reply::Tools(vec![(
            "restart".into(),
            r#"{"instance":"bot-0003"}"#.into(),
        )]),
        Reply::Text("Restarted.".into()),
    ]);
    let err = run(scenario, &llm(&fake.base_url)).await.unwrap_err();
    assert!(
        err.contains("expected a confirmation for /restart --status degraded"),
        "{err}"
    );
}
