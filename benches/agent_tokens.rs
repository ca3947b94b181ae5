//! Prompt tokens the LLM operator sends per request, for the eval scenarios on fleets of
//! 10, 1,000 and 10,000 simulated instances: the figure must not grow with the fleet.
//! Run: `cargo bench --bench agent_tokens` (tokens counted with tiktoken's o200k_base).

#[path = "../tests/common/fake_llm.rs"]
mod fake_llm;

use clawops::agent::evals::{scenarios, seed};
use clawops::app::App;
use clawops::chat::Inbound;
use clawops::chat::recorder::Recorder;
use clawops::clock::Clock;
use clawops::config::{Config, Platform};
use clawops::ops::Actor;
use fake_llm::{FakeLlm, KEY, Reply};
use tokio_util::sync::CancellationToken;

/// A request to measure: its name, the operator's words, the scripted tool calls.
type Case = (String, &'static str, Vec<(String, String)>);

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(run());
}

async fn run() {
    let bpe = tiktoken_rs::o200k_base().unwrap();
    println!("| fleet | scenario | requests | prompt tokens per request (max) |");
    println!("| ---: | --- | ---: | ---: |");
    for fleet in [10usize, 1_000, 10_000] {
        let fake = FakeLlm::start().await;
        let dir = tempfile::tempdir().unwrap();
        let toml = format!(
            "[store]\npath = \"{}/f.db\"\n[[operators]]\nplatform = \"telegram\"\nuser_id = \"111\"\nrole = \"operator\"\n[safety]\nconfirm_bulk_over = 2\n[llm]\nbase_url = \"{}\"\nmodel = \"fake-model\"\napi_key = \"{KEY}\"\n[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n",
            dir.path().display(),
            fake.base_url
        );
        let app = App::start(
            Config::parse(&toml, "bench").unwrap(),
            Clock::system(),
            CancellationToken::new(),
            &Recorder::new(),
        )
        .await
        .unwrap();
        seed(&app, fleet, &[3, 7, 9]).await.unwrap();
        let actor = Actor::Person {
            platform: Platform::Telegram,
            user_id: "111".into(),
            display: "bench".into(),
        };
        let mut cases: Vec<Case> = scenarios()
            .into_iter()
            .filter(|s| s.role == "operator")
            .map(|s| {
                (
                    s.name.to_string(),
                    s.request,
                    s.script
                        .iter()
                        .map(|(n, a)| (n.to_string(), a.to_string()))
                        .collect(),
                )
            })
            .collect();
        cases.push((
            "list the whole fleet".into(),
            "show me the fleet",
            vec![("list".into(), "{}".into())],
        ));
        for (name, request, script) in cases {
            let before = fake.requests().len();
            fake.script(vec![Reply::Tools(script), Reply::Text("Done.".into())]);
            app.bot
                .handle(
                    Inbound::Text {
                        actor: actor.clone(),
                        text: request.into(),
                    },
                    &Recorder::new(),
                )
                .await;
            app.bot
                .handle(
                    Inbound::Text {
                        actor: actor.clone(),
                        text: "/forget".into(),
                    },
                    &Recorder::new(),
                )
                .await;
            let bodies = &fake.requests()[before..];
            let max = bodies
                .iter()
                .map(|b| bpe.encode_ordinary(&b.to_string()).len())
                .max()
                .unwrap_or(0);
            println!("| {fleet} | {name} | {} | {max} |", bodies.len());
        }
    }
}
