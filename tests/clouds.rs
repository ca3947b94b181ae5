//! Every cloud through the one door, against its fake API: `/deploy` runs the whole step
//! chain (create, wait until running, wait for the host, the host steps on a stand-in
//! host, health, record), a simulated crash leaves an orphan that `/reconcile` finds and
//! `/reconcile --fix` deletes after a confirmation, and `/destroy` removes the server.

#[path = "common/cloud_fx.rs"]
mod cloud_fx;
#[path = "common/fake_digitalocean.rs"]
mod fake_digitalocean;
#[path = "common/fake_hetzner.rs"]
mod fake_hetzner;
#[path = "common/fake_tencent.rs"]
mod fake_tencent;
#[path = "common/fake_vultr.rs"]
mod fake_vultr;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use clawops::agent::memory::Memory;
use clawops::bot::Bot;
use clawops::chat::recorder::Recorder;
use clawops::chat::{Inbound, Outbound};
use clawops::clock::Clock;
use clawops::config::{Config, Platform};
use clawops::gateway::LogLine;
use clawops::ops::door::Ctx;
use clawops::ops::{Actor, Door, Outcome};
use clawops::provider::digitalocean::DigitalOcean;
use clawops::provider::hetzner::Hetzner;
use clawops::provider::tencent::{Endpoints, Tencent};
use clawops::provider::vultr::Vultr;
use clawops::provider::{Cloud, HostFactory, Providers};
use clawops::remote::{Host, HostPlan, HostStep, Reading, RemoteError, Versions};
use clawops::store::Store;
use clawops::vault::Vault;
use tokio_util::sync::CancellationToken;

/// A host that does every step at once and always reads healthy: the clouds' own part
/// (their APIs) is what these tests are about; real hosts are covered by tests/host.rs.
struct StandIn;

#[async_trait]
impl Host for StandIn {
    async fn reachable(&self) -> Result<bool, RemoteError> {
        Ok(true)
    }
    async fn step_done(&self, _: HostStep, _: &HostPlan) -> Result<bool, RemoteError> {
        Ok(false)
    }
    async fn apply_step(&self, step: HostStep, _: &HostPlan) -> Result<String, RemoteError> {
        Ok(format!("{} on the stand-in host", step.id()))
    }
    async fn restart_gateway(&self) -> Result<String, RemoteError> {
        Ok("restarted".into())
    }
    async fn probe(&self) -> Result<Reading, RemoteError> {
        Ok(Reading {
            gateway_up: true,
            gateway_ready: true,
            docker_up: true,
            cpu_percent: 5.0,
            memory_percent: 30.0,
            disk_percent: 20.0,
            openclaw_version: Some("2026.9.6".into()),
            uptime_secs: Some(1),
            ..Reading::default()
        })
    }
    async fn logs(&self, _: u32) -> Result<Vec<LogLine>, RemoteError> {
        Ok(vec![])
    }
    async fn versions(&self) -> Result<Versions, RemoteError> {
        Ok(Versions::default())
    }
    async fn update(&self, v: &str) -> Result<String, RemoteError> {
        Ok(format!("now {v}"))
    }
    async fn config(&self) -> Result<serde_json::Value, RemoteError> {
        Ok(serde_json::json!({}))
    }
    async fn set_config(&self, _: &str, _: serde_json::Value) -> Result<String, RemoteError> {
        Ok("set".into())
    }
    async fn unset_config(&self, _: &str) -> Result<String, RemoteError> {
        Ok("unset".into())
    }
    async fn drop_channel(&self) -> Result<String, RemoteError> {
        Ok("no channel".into())
    }
    async fn pairing_requests(
        &self,
        _: &str,
    ) -> Result<Vec<clawops::store::SeenRequest>, RemoteError> {
        Ok(Vec::new())
    }
    async fn decide_pairing(
        &self,
        _: &str,
        _: &str,
        _: &str,
        _: bool,
    ) -> Result<String, RemoteError> {
        Err(RemoteError::Refused("no such request".into()))
    }
    async fn send_message(&self, _: &str, _: &str) -> Result<String, RemoteError> {
        Ok("sent".into())
    }
    async fn suspend(&self) -> Result<String, RemoteError> {
        Ok("stopped".into())
    }
    async fn resume(&self) -> Result<String, RemoteError> {
        Ok("started".into())
    }
    async fn backup(&self, _: &mut (dyn std::io::Write + Send)) -> Result<u64, RemoteError> {
        Ok(0)
    }
    async fn restore(&self, _: &[u8]) -> Result<String, RemoteError> {
        Ok("restored".into())
    }
    async fn remove(&self) -> Result<String, RemoteError> {
        Ok("removed".into())
    }
}

fn operator() -> Actor {
    Actor::Person {
        platform: Platform::Telegram,
        user_id: "111".into(),
        display: "op".into(),
    }
}

struct Fx {
    bot: Bot,
    clouds: Vec<Arc<dyn Cloud>>,
    out: Recorder,
    _fakes: (
        fake_hetzner::FakeHetzner,
        fake_digitalocean::FakeDigitalOcean,
        fake_vultr::FakeVultr,
        fake_tencent::FakeTencent,
    ),
    _dir: tempfile::TempDir,
}

async fn start() -> Fx {
    let boot = Duration::from_millis(300);
    let hz = fake_hetzner::FakeHetzner::start(boot).await;
    let dgo = fake_digitalocean::FakeDigitalOcean::start(boot).await;
    let vu = fake_vultr::FakeVultr::start(boot).await;
    let tc = fake_tencent::FakeTencent::start(boot).await;
    let dir = tempfile::tempdir().unwrap();
    let toml = format!(
        r#"
[store]
path = "{dir}/fleet.db"
[[operators]]
platform = "telegram"
user_id = "111"
role = "operator"
[deploy]
provider = "hetzner"
region = "nbg1"
size = "cx22"
[[providers.hetzner]]
token = "{hz_token}"
api_url = "{hz}"
[[providers.digitalocean]]
token = "{do_token}"
api_url = "{dgo}"
[[providers.vultr]]
token = "{vu_token}"
api_url = "{vu}"
[[providers.tencent]]
secret_id = "{tc_id}"
secret_key = "{tc_key}"
api_url = "{tc}"
vpc_url = "{tc}"
image = "img-487zeit5"
"#,
        dir = dir.path().display(),
        hz_token = fake_hetzner::TOKEN,
        hz = hz.url,
        do_token = fake_digitalocean::TOKEN,
        dgo = dgo.url,
        vu_token = fake_vultr::TOKEN,
        vu = vu.url,
        tc_id = fake_tencent::SECRET_ID,
        tc_key = fake_tencent::SECRET_KEY,
        tc = tc.url,
    );
    let config = Config::parse(&toml, "test").unwrap();
    let store = Store::open(&dir.path().join("fleet.db")).await.unwrap();
    let (access, runtime) = cloud_fx::access_on(store.clone());
    // The clouds as the app builds them from this config (secrets from the file)...
    let built = clawops::app::clouds(&config, &access, &runtime, &|_| None).unwrap();
    assert_eq!(built.len(), 4);
    // ...and the same accounts with stand-in hosts.
    let stand_in: HostFactory = Arc::new(|_, _| Arc::new(StandIn) as Arc<dyn Host>);
    let p = cloud_fx::policy();
    let (a, r) = (access.clone(), runtime.clone());
    let clouds: Vec<Arc<dyn Cloud>> = vec![
        Arc::new(
            Hetzner::new(
                "hetzner",
                &hz.url,
                fake_hetzner::TOKEN,
                p,
                a.clone(),
                r.clone(),
            )
            .with_hosts(stand_in.clone()),
        ),
        Arc::new(
            DigitalOcean::new(
                "digitalocean",
                &dgo.url,
                fake_digitalocean::TOKEN,
                p,
                a.clone(),
                r.clone(),
            )
            .with_hosts(stand_in.clone()),
        ),
        Arc::new(
            Vultr::new("vultr", &vu.url, fake_vultr::TOKEN, p, a.clone(), r.clone())
                .with_hosts(stand_in.clone()),
        ),
        Arc::new(
            Tencent::new(
                "tencent",
                fake_tencent::SECRET_ID,
                fake_tencent::SECRET_KEY,
                "img-487zeit5",
                Endpoints {
                    cvm: tc.url.clone(),
                    vpc: tc.url.clone(),
                },
                p,
                a,
                r,
            )
            .with_hosts(stand_in),
        ),
    ];
    let mut providers = Providers::default();
    for c in &clouds {
        providers.add(c.clone());
    }
    let door = Door::new(Ctx {
        store,
        clock: Clock::system(),
        config: Arc::new(config),
        providers,
        shutdown: CancellationToken::new(),
        memory: Arc::new(Memory::default()),
        vault: Vault::new([9; 32]),
        backups: dir.path().join("backups"),
        offsite: None,
        locks: Default::default(),
        jobs: clawops::jobs::Jobs::none(),
        metrics: Default::default(),
        postboxes: Default::default(),
        heals: Default::default(),
        briefer: Default::default(),
        cells: None,
    });
    Fx {
        bot: Bot::new(door),
        clouds,
        out: Recorder::new(),
        _fakes: (hz, dgo, vu, tc),
        _dir: dir,
    }
}

impl Fx {
    async fn say(&self, text: &str) -> String {
        self.bot
            .handle(
                Inbound::Text {
                    actor: operator(),
                    text: text.into(),
                },
                &self.out,
            )
            .await;
        plain(self.out.take())
    }

    /// Says `text`, which asks for a confirmation, and presses Confirm: the question and
    /// the outcome.
    async fn ask_and_confirm(&self, text: &str) -> (String, Outcome) {
        self.bot
            .handle(
                Inbound::Text {
                    actor: operator(),
                    text: text.into(),
                },
                &self.out,
            )
            .await;
        let sent = self.out.take();
        let question = plain(sent.clone());
        let id = sent
            .iter()
            .find_map(|o| match o {
                Outbound::Buttons { buttons, .. } => {
                    Some(buttons[0].data.trim_start_matches("cf:").to_string())
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{text} asked for no confirmation: {question}"));
        let outcome = self
            .bot
            .door()
            .press(&operator(), &id, true, &self.out)
            .await;
        (question, outcome)
    }

    /// Says `text`, which asks for a confirmation: returns the question and the answer
    /// after pressing Confirm.
    async fn asked_then_confirmed(&self, text: &str) -> (String, String) {
        match self.ask_and_confirm(text).await {
            (question, Outcome::Done(m)) => (question, m.plain()),
            (_, other) => panic!("{text}: {other:?}"),
        }
    }

    async fn confirmed(&self, text: &str) -> String {
        self.asked_then_confirmed(text).await.1
    }

    async fn servers(&self, provider: &str) -> usize {
        let cloud = self.clouds.iter().find(|c| c.name() == provider).unwrap();
        cloud.managed_servers().await.unwrap().len()
    }
}

fn plain(sent: Vec<Outbound>) -> String {
    sent.iter()
        .filter_map(|o| match o {
            Outbound::Message(m) => Some(m.plain()),
            Outbound::Buttons { message, .. } => Some(message.plain()),
            Outbound::Progress(_) => None,
            Outbound::Photo(p) => Some(format!("[photo] {}", p.caption)),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cloud_deploys_reconciles_and_destroys_through_the_door() {
    let fx = start().await;
    let cases = [
        ("hetzner", "nbg1", "cx22", "€3.79"),
        ("digitalocean", "fra1", "s-1vcpu-2gb", "$12.00"),
        ("vultr", "fra", "vc2-1c-2gb", "$10.00"),
        ("tencent", "ap-singapore-1", "S5.SMALL2", "$15.90"),
    ];
    for (provider, region, size, price) in cases {
        let name = format!("{provider}-bot");
        // A deploy on a real cloud asks first, showing the price.
        let (asked, said) = fx
            .asked_then_confirmed(&format!(
                "/deploy {name} {region} --size {size} --provider {provider}"
            ))
            .await;
        assert!(
            asked.contains(&format!("Monthly cost: adds {price}")),
            "{provider}: {asked}"
        );
        assert!(asked.contains("real cloud bill"), "{provider}: {asked}");
        assert!(
            said.contains(&format!("✓ {name} is ready")),
            "{provider}: {said}"
        );
        assert_eq!(fx.servers(provider).await, 1, "{provider}");

        // A crash between create and record leaves a server the store does not know.
        let cloud = fx.clouds.iter().find(|c| c.name() == provider).unwrap();
        let ghost = cloud_fx::new_server("ghost-bot", region, size);
        cloud.create_server(&ghost).await.unwrap();
        let said = fx.say("/reconcile").await;
        assert!(
            said.contains("1 orphan server(s), 0 row(s) without a server"),
            "{provider}: {said}"
        );
        assert!(said.contains("ghost-bot"), "{provider}: {said}");
        let done = fx.confirmed("/reconcile --fix").await;
        assert!(done.contains("deleted"), "{provider}: {done}");
        assert_eq!(
            fx.servers(provider).await,
            1,
            "{provider}: the orphan is gone, the instance stays"
        );
        assert!(fx.say("/reconcile").await.contains("agree"), "{provider}");

        // The server got a host key made by clawops (kept sealed), pinned before first
        // contact; a destroy drops the pin of its address and every secret of the name.
        let store = &fx.bot.door().ctx().store;
        assert!(
            store
                .instance_secret(&name, "host-key")
                .await
                .unwrap()
                .is_some(),
            "{provider}: no host key was made for the server"
        );
        let ip = store.instance(&name).await.unwrap().unwrap().ipv4.unwrap();
        let pin = clawops::ops::actions::destroy::cloud_target(&ip);
        store
            .pin_host_key(&pin, "ssh-ed25519 AAAA", "SHA256:x", chrono::Utc::now())
            .await
            .unwrap();
        let done = fx.confirmed(&format!("/destroy {name}")).await;
        assert!(
            done.contains(&format!("✓ Destroyed {name}")),
            "{provider}: {done}"
        );
        assert_eq!(fx.servers(provider).await, 0, "{provider}");
        assert!(
            store.host_key(&pin).await.unwrap().is_none(),
            "{provider}: the pin of {ip} outlived its server"
        );
        assert!(
            store
                .instance_secret(&name, "host-key")
                .await
                .unwrap()
                .is_none(),
            "{provider}"
        );
    }
    let cost = fx.say("/sizes tencent").await;
    assert!(cost.contains("S5.SMALL2"), "{cost}");
}

impl Fx {
    /// Says `text`, confirms it, and expects a done action that offers a follow-up:
    /// (the question, the answer, the follow-up's confirmation id).
    async fn offered(&self, text: &str) -> (String, String, String) {
        match self.ask_and_confirm(text).await {
            (question, Outcome::Offer { message, id, .. }) => (question, message.plain(), id),
            (_, other) => panic!("{text}: {other:?}"),
        }
    }

    async fn press(&self, id: &str) -> String {
        match self
            .bot
            .door()
            .press(&operator(), id, true, &self.out)
            .await
        {
            Outcome::Done(m) => m.plain(),
            other => panic!("press {id}: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cloud_migrates_snapshots_and_adopts() {
    let fx = start().await;
    let cases = [
        ("hetzner", "nbg1", "cx22"),
        ("digitalocean", "fra1", "s-1vcpu-2gb"),
        ("vultr", "fra", "vc2-1c-2gb"),
        ("tencent", "ap-singapore-1", "S5.SMALL2"),
    ];
    for (provider, region, size) in cases {
        let cloud = fx.clouds.iter().find(|c| c.name() == provider).unwrap();
        let other = cloud
            .regions()
            .iter()
            .find(|r| r.code != region)
            .unwrap()
            .code;
        let name = format!("{provider}-mover");
        fx.asked_then_confirmed(&format!(
            "/deploy {name} {region} --size {size} --provider {provider}"
        ))
        .await;
        let said = fx.say(&format!("/reboot {name}")).await;
        assert!(
            said.contains(&format!("✓ {name} rebooted")),
            "{provider}: {said}"
        );
        let id = cloud.find_server(&name).await.unwrap().unwrap().id;
        let (hz, dgo, vu, tc) = &fx._fakes;
        let reboots = match provider {
            "hetzner" => hz.reboots(id.parse().unwrap()),
            "digitalocean" => dgo.reboots(id.parse().unwrap()),
            "vultr" => vu.reboots(&id),
            _ => tc.reboots(),
        };
        assert_eq!(
            reboots, 1,
            "{provider}: the server was rebooted at the cloud"
        );

        // Within the same account: a second server (named apart), the old one kept.
        let (asked, said, offer) = fx
            .offered(&format!("/migrate {name} --to {provider}/{other}"))
            .await;
        assert!(
            asked.contains(&format!("→ {provider} {other}")),
            "{provider}: {asked}"
        );
        assert!(
            said.contains(&format!("✓ {name} moved to {provider} {other}")),
            "{provider}: {said}"
        );
        let servers = cloud.find_servers(&name).await.unwrap();
        assert_eq!(servers.len(), 2, "{provider}");
        assert!(
            servers
                .iter()
                .any(|s| s.name == format!("{name}-{other}") && s.region.starts_with(other)),
            "{provider}: {servers:?}"
        );
        // The offered deletion of the old server.
        let said = fx.press(&offer).await;
        assert!(
            said.contains(&format!("the old server(s) of {name}")),
            "{provider}: {said}"
        );
        let left = cloud.find_servers(&name).await.unwrap();
        assert_eq!(left.len(), 1, "{provider}");
        assert!(left[0].region.starts_with(other), "{provider}: {left:?}");
        let keys = || {
            let (hz, dgo, vu, tc) = &fx._fakes;
            match provider {
                "hetzner" => hz.key_count(),
                "digitalocean" => dgo.key_count(),
                "vultr" => vu.key_count(),
                _ => tc.key_count(),
            }
        };
        assert_eq!(keys(), 1, "{provider}: the key stays with the new server");

        // A destroy with a snapshot shows its price, then keeps one first.
        let price = clawops::provider::money(
            cloud.snapshot_monthly_cents(size).unwrap(),
            cloud.currency(),
        );
        let (asked, said) = fx
            .asked_then_confirmed(&format!("/destroy {name} --snapshot"))
            .await;
        assert!(
            asked.contains(&format!("up to {price}/month")),
            "{provider}: {asked}"
        );
        assert!(said.contains("kept (up to"), "{provider}: {said}");
        assert_eq!(fx.servers(provider).await, 0, "{provider}");
        assert_eq!(keys(), 0, "{provider}: the key goes with the last server");

        // A server the store never knew is adopted (asks: it joins the bill).
        let ghost = cloud_fx::new_server("ghost-bot", region, size);
        cloud.create_server(&ghost).await.unwrap();
        let (asked, said) = fx.asked_then_confirmed("/reconcile --adopt").await;
        assert!(asked.contains("ghost-bot"), "{provider}: {asked}");
        assert!(
            said.contains("adopted as ghost-bot: HEALTHY"),
            "{provider}: {said}"
        );
        assert!(fx.say("/reconcile").await.contains("agree"), "{provider}");
        fx.confirmed("/destroy ghost-bot").await;
        assert_eq!(fx.servers(provider).await, 0, "{provider}");
    }
    let (hz, dgo, vu, tc) = &fx._fakes;
    assert_eq!(hz.images().len(), 1);
    assert_eq!(dgo.snapshots().len(), 1);
    assert_eq!(vu.snapshots().len(), 1);
    assert_eq!(tc.images().len(), 1);
}

/// Fault drill: a fifth of the cloud's answers are 429 or 503 and every create is answered
/// up to a second late (past the 700 ms request timeout, after the server was made). Twenty
/// deploys at once all finish, each with exactly one server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drill_twenty_deploys_through_a_flaky_slow_cloud_complete_once() {
    let fx = start().await;
    fx._fakes.0.chaos(20, Duration::from_millis(1000), 11);
    let deploy = |i: usize| {
        let door = fx.bot.door();
        async move {
            let out = Recorder::new();
            let action =
                clawops::command::parse(&format!("/deploy drill-{i:02} nbg1 --size cx22")).unwrap();
            let asked = door.submit(&operator(), action, &out).await;
            let Outcome::Confirm { id, .. } = asked else {
                panic!("drill-{i:02} asked nothing: {asked:?}");
            };
            door.press(&operator(), &id, true, &out).await
        }
    };
    let outcomes = futures_util::future::join_all((0..20).map(deploy)).await;
    for (i, outcome) in outcomes.iter().enumerate() {
        let said = outcome.message().plain();
        assert!(
            matches!(outcome, Outcome::Done(_))
                && said.contains(&format!("✓ drill-{i:02} is ready")),
            "drill-{i:02}: {said}"
        );
    }
    assert_eq!(fx._fakes.0.server_count(), 20, "one server per deploy");
    let said = fx.say("/reconcile").await;
    assert!(said.contains("agree"), "{said}");
}

/// `/resize` at each cloud: the question shows the price before → after, the downtime and
/// what happens to the disk; the server is powered off, changed and started at the fake;
/// a size the provider cannot go down to is refused before anything is touched.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_cloud_resizes_through_the_door_and_refuses_what_it_cannot_undo() {
    let fx = start().await;
    let cases = [
        ("hetzner", "nbg1", "cx22", "cx32", "cannot shrink a disk"),
        (
            "digitalocean",
            "fra1",
            "s-1vcpu-2gb",
            "s-2vcpu-4gb",
            "cannot shrink a disk",
        ),
        (
            "vultr",
            "fra",
            "vc2-1c-2gb",
            "vc2-2c-4gb",
            "cannot make a server smaller",
        ),
        ("tencent", "ap-singapore-1", "S5.SMALL2", "S5.MEDIUM4", ""),
    ];
    for (provider, region, small, big, no_way_back) in cases {
        let cloud = fx.clouds.iter().find(|c| c.name() == provider).unwrap();
        let name = format!("{provider}-grower");
        fx.asked_then_confirmed(&format!(
            "/deploy {name} {region} --size {small} --provider {provider}"
        ))
        .await;
        let price = |code: &str| {
            clawops::provider::money(cloud.size(code).unwrap().monthly_cents, cloud.currency())
        };
        let (asked, said) = fx
            .asked_then_confirmed(&format!("/resize {name} {big}"))
            .await;
        assert!(
            asked.contains(&format!("Price: {} → {}/month", price(small), price(big))),
            "{provider}: {asked}"
        );
        assert!(asked.contains("Downtime: about"), "{provider}: {asked}");
        let grows = !no_way_back.is_empty();
        assert_eq!(
            asked.contains("cannot be shrunk back"),
            grows,
            "{provider}: {asked}"
        );
        assert!(
            said.contains(&format!("✓ {name} resized to {big}")),
            "{provider}: {said}"
        );
        let id = cloud.find_server(&name).await.unwrap().unwrap().id;
        let (hz, dgo, vu, _) = &fx._fakes;
        match provider {
            "hetzner" => assert_eq!(hz.server_type(id.parse().unwrap()), (big.into(), 80)),
            "digitalocean" => assert_eq!(dgo.size(id.parse().unwrap()), (big.into(), 80)),
            "vultr" => assert_eq!(vu.plan(&id), big),
            _ => {}
        }
        let server = cloud.existing_server(&id).await.unwrap();
        assert_eq!(server.size, big, "{provider}");
        assert_eq!(
            server.state,
            clawops::provider::PowerState::Running,
            "{provider}"
        );
        let listed = fx.say(&format!("/status {name}")).await;
        assert!(listed.contains(big), "{provider}: {listed}");

        // Back down: refused where the provider cannot, asked and done where it can.
        if grows {
            let said = fx.say(&format!("/resize {name} {small}")).await;
            assert!(said.contains(no_way_back), "{provider}: {said}");
            assert_eq!(cloud.existing_server(&id).await.unwrap().size, big);
        } else {
            let (asked, said) = fx
                .asked_then_confirmed(&format!("/resize {name} {small}"))
                .await;
            assert!(asked.contains("this can be undone"), "{provider}: {asked}");
            assert!(
                said.contains(&format!("resized to {small}")),
                "{provider}: {said}"
            );
        }
        let said = fx.say(&format!("/resize {name} nonesuch")).await;
        assert!(
            said.contains("has no size \"nonesuch\""),
            "{provider}: {said}"
        );
        fx.confirmed(&format!("/destroy {name}")).await;
    }
}
