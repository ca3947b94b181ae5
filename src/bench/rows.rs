//! The bench's measurements, one function per group of rows.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::farm_child::FarmChild;
use super::{BenchError, Options, Row, ms, own_memory, quantile};
use crate::app::App;
use crate::chat::recorder::{Postings, Recorder};
use crate::clock::Clock;
use crate::config::{Config, Platform};
use crate::farm::bot_api::{FakeTelegram, TOKEN};
use crate::jobs::JobKind;
use crate::ops::{Actor, Outcome};
use crate::store::Store;

/// The operator who talks to the bench's bot over the fake Bot API.
const OPERATOR: i64 = 111;
/// The ops chat that gets alerts and pairing requests.
const OPS_CHAT: i64 = -100_777;
/// The checks an operator's script runs on each host, one `ssh` each.
const CHECKS: [&str; 3] = [
    "systemctl --user is-active openclaw-gateway",
    "curl -fsS http://127.0.0.1:18789/readyz",
    "df -P ~",
];

/// A folder of its own under the system's temporary folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(what: &str) -> Result<Scratch, BenchError> {
        let path = std::env::temp_dir().join(format!(
            "clawops-bench-{what}-{}-{}",
            std::process::id(),
            hex::encode(rand::RngExt::random::<[u8; 4]>(&mut rand::rng()))
        ));
        std::fs::create_dir_all(&path).map_err(|e| BenchError::Step(e.to_string()))?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn config(dir: &Path, extra: &str) -> Result<Config, BenchError> {
    config_as(dir, "owner", extra)
}

/// The bench's config with its one person in `role`.
fn config_as(dir: &Path, role: &str, extra: &str) -> Result<Config, BenchError> {
    let toml = format!(
        "[store]\npath = \"{}/fleet.db\"\n[[operators]]\nplatform = \"telegram\"\nuser_id = \"{OPERATOR}\"\nrole = \"{role}\"\n{extra}",
        dir.display()
    );
    Config::parse(&toml, "bench").map_err(|e| BenchError::Start(e.to_string()))
}

async fn start(config: Config) -> Result<App, BenchError> {
    App::start(
        config,
        Clock::system(),
        CancellationToken::new(),
        &Recorder::new(),
    )
    .await
    .map_err(|e| BenchError::Start(e.to_string()))
}

async fn job(app: &App, kind: JobKind) -> Result<String, BenchError> {
    let door = app.bot.door();
    let run = door
        .ctx()
        .jobs
        .claim(kind, chrono::Utc::now())
        .ok_or_else(|| BenchError::Step(format!("the {} job is busy", kind.name())))?;
    door.run_job(&run, "system").await.map_err(BenchError::Step)
}

/// Binary size, start-up time and idle memory.
pub async fn process_figures() -> Result<Vec<Row>, BenchError> {
    let mut rows = Vec::new();
    if let Ok(meta) = std::env::current_exe().and_then(std::fs::metadata) {
        rows.push(
            Row::new(
                "process",
                "binary size (this build)",
                meta.len() as f64 / (1 << 20) as f64,
                "MiB",
            )
            .note(if cfg!(debug_assertions) {
                "a debug build"
            } else {
                ""
            }),
        );
    }
    let dir = Scratch::new("idle")?;
    let config = config(
        &dir.0,
        "[telegram]\nenabled = false\n[providers.sim]\nenabled = true\n",
    )?;
    let started = Instant::now();
    let app = start(config).await?;
    rows.push(Row::new(
        "process",
        "start-up (store opened and migrated, bot ready)",
        ms(started.elapsed()),
        "ms",
    ));
    let (rss, _) = own_memory();
    rows.push(Row::new("process", "idle RSS (empty fleet)", rss, "MiB"));
    drop(app);
    Ok(rows)
}

/// Deploys of 1, 10 and 50 at once on the simulated cloud (boot 2 s, 100 ms a step, as a
/// slow cloud would be, so that waiting dominates as it does for real), with the SQLite
/// write transactions per second while they run.
pub async fn deploys() -> Result<Vec<Row>, BenchError> {
    let dir = Scratch::new("deploys")?;
    let app = start(config(
        &dir.0,
        "[telegram]\nenabled = false\n[providers.sim]\nboot_time = \"2s\"\nstep_time = \"100ms\"\n[safety]\nconfirm_bulk_over = 1000\n",
    )?)
    .await?;
    let door = app.bot.door();
    let mut rows = Vec::new();
    let mut one = Duration::ZERO;
    for (round, count) in [1usize, 10, 50].into_iter().enumerate() {
        let commits = Store::commits();
        let started = Instant::now();
        let deploys = (0..count).map(|i| {
            let door = door.clone();
            async move {
                let action = crate::command::parse(&format!("/deploy d{round}-{i:02}"))
                    .map_err(|e| BenchError::Step(e.to_string()))?;
                match door
                    .submit(&Actor::console(), action, &Recorder::new())
                    .await
                {
                    Outcome::Done(_) => Ok(()),
                    other => Err(BenchError::Step(format!(
                        "a deploy did not finish: {}",
                        other.message().plain()
                    ))),
                }
            }
        });
        for done in futures_util::future::join_all(deploys).await {
            done?;
        }
        let took = started.elapsed();
        let writes = (Store::commits() - commits) as f64 / took.as_secs_f64();
        if count == 1 {
            one = took;
        }
        rows.push(Row::new(
            "deploys",
            format!("{count} at once on the sim"),
            took.as_secs_f64(),
            "s",
        ));
        rows.push(Row::new(
            "deploys",
            format!("SQLite write transactions during {count}"),
            writes,
            "/s",
        ));
    }
    if let Some(fifty) = rows.iter().find(|r| r.what == "50 at once on the sim") {
        rows.push(
            Row::new(
                "deploys",
                "50 at once ÷ one",
                fifty.value / one.as_secs_f64().max(1e-9),
                "ratio",
            )
            .goal("≤ 1.2"),
        );
    }
    Ok(rows)
}

/// Everything measured against the host farm.
pub async fn farm(options: &Options) -> Result<Vec<Row>, BenchError> {
    let largest = options.sizes.iter().copied().max().unwrap_or(0);
    if largest == 0 {
        return Ok(Vec::new());
    }
    let dir = Scratch::new("farm")?;
    let fake = FakeTelegram::start().await;
    let extra = format!(
        "[telegram]\ntoken = \"{TOKEN}\"\napi_url = \"{}\"\n[[ops_channels]]\nplatform = \"telegram\"\nchat_id = {OPS_CHAT}\ngets = [\"alerts\", \"pairing\"]\n\
         [alerts]\nflap_guard = 1\n[providers.sim]\nenabled = true\n[providers.ssh]\nenabled = true\n[safety]\nconfirm_bulk_over = 100000\n",
        fake.url
    );
    let gateway_port = config(&dir.0, &extra)?.deploy.gateway_port;
    let mut farm = FarmChild::start(largest, gateway_port).await?;
    let mut rows = Vec::new();
    let mut seeded = 0;
    let mut app = None;
    for &size in &options.sizes {
        // A new clawops for each size: its first sweep is cold (no SSH session open).
        drop(app.take());
        let started = start_again(&dir.0, &extra).await?;
        seed(&started, &mut farm, seeded, size).await?;
        seeded = size;
        let (swept, warm) = sweeps(&started, &mut farm, size).await?;
        rows.extend(swept);
        // Without an OpenSSH client the loops cannot run; the rest still can.
        match scripted(&started, &farm, size, options.full, &dir.0, warm).await {
            Ok(more) => rows.extend(more),
            Err(e) => rows.push(
                Row::new("sweep", format!("ssh loops, {size} hosts"), f64::NAN, "")
                    .note(e.to_string()),
            ),
        }
        app = Some(started);
    }
    let Some(app) = app else {
        return Ok(rows);
    };
    let (rss, peak) = own_memory();
    rows.push(Row::new(
        "memory",
        format!("RSS with {largest} hosts connected"),
        rss,
        "MiB",
    ));
    rows.push(Row::new("memory", "peak RSS of the whole run", peak, "MiB"));
    rows.push(Row::new(
        "memory",
        format!("the farm process playing {largest} hosts"),
        farm.rss_mib(),
        "MiB",
    ));
    rows.extend(pairing(&app, &mut farm, largest).await?);
    rows.extend(chat(&app, &fake, &mut farm, largest).await?);
    app.shutdown.cancel();
    Ok(rows)
}

/// Starts clawops on the store in `dir`, waiting (at most 20 s) for the previous one to
/// let go of it.
async fn start_again(dir: &Path, extra: &str) -> Result<App, BenchError> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match App::start(
            config(dir, extra)?,
            Clock::system(),
            CancellationToken::new(),
            &Recorder::new(),
        )
        .await
        {
            Ok(app) => return Ok(app),
            Err(e) if Instant::now() < deadline && e.to_string().contains("lock") => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => return Err(BenchError::Start(e.to_string())),
        }
    }
}

/// Seeds farm hosts `from..to` into the app's store and authorizes them at the farm.
async fn seed(app: &App, farm: &mut FarmChild, from: usize, to: usize) -> Result<(), BenchError> {
    let ctx = app.bot.door().ctx();
    let seeded = crate::farm::seed::seed(&ctx.store, &ctx.vault, &ctx.clock, &farm.hosts[from..to])
        .await
        .map_err(|e| BenchError::Step(e.to_string()))?;
    for s in seeded {
        farm.tell(&s.authorize_line()).await?;
    }
    Ok(())
}

/// One cold and three warm sweeps of `size` farm hosts; the rows and the warm sweep's
/// median time.
async fn sweeps(
    app: &App,
    farm: &mut FarmChild,
    size: usize,
) -> Result<(Vec<Row>, Duration), BenchError> {
    let mut rows = Vec::new();
    let before = farm.counts().await?;
    let started = Instant::now();
    let said = job(app, JobKind::HealthSweep).await?;
    let cold = started.elapsed();
    check_sweep(&said, size)?;
    let after_cold = farm.counts().await?;
    let mut warm = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let said = job(app, JobKind::HealthSweep).await?;
        warm.push(started.elapsed());
        check_sweep(&said, size)?;
    }
    let after_warm = farm.counts().await?;
    warm.sort();
    let warm = quantile(&warm, 0.5);
    let label = format!("{size} hosts");
    rows.push(Row::new(
        "sweep",
        format!("cold sweep, {label}"),
        ms(cold),
        "ms",
    ));
    rows.push(
        Row::new("sweep", format!("warm sweep, {label}"), ms(warm), "ms")
            .goal(if size >= 1000 { "≤ 2 s" } else { "" })
            .note("median of 3"),
    );
    rows.push(Row::new(
        "sweep",
        format!("SSH connections opened, cold, {label}"),
        (after_cold.connections - before.connections) as f64,
        "",
    ));
    rows.push(Row::new(
        "sweep",
        format!("SSH connections opened, 3 warm, {label}"),
        (after_warm.connections - after_cold.connections) as f64,
        "",
    ));
    Ok((rows, warm))
}

fn check_sweep(said: &str, size: usize) -> Result<(), BenchError> {
    if said.starts_with(&format!("{size} probed")) && said.contains(&format!("{size} HEALTHY")) {
        Ok(())
    } else {
        Err(BenchError::Step(format!(
            "a sweep of {size} farm hosts said: {said}"
        )))
    }
}

/// The same checks the way operators script them: one `ssh` per check per host, in
/// sequence and with `xargs -P 16`; beside the warm sweep measured just before.
async fn scripted(
    app: &App,
    farm: &FarmChild,
    size: usize,
    full: bool,
    dir: &Path,
    warm: Duration,
) -> Result<Vec<Row>, BenchError> {
    let sequential_sample = if full { size } else { size.min(20) };
    let parallel_sample = if full { size } else { size.min(100) };
    let hosts = &farm.hosts[..parallel_sample.max(sequential_sample)];
    let work = dir.join(format!("ssh-{size}"));
    write_ssh_files(app, hosts, &work).await?;
    let run = |sample: usize, parallel: bool| {
        let work = work.clone();
        async move {
            let jobs: String = (0..sample * CHECKS.len())
                .map(|i| format!("{} {}\n", i / CHECKS.len(), i % CHECKS.len()))
                .collect();
            std::fs::write(work.join("jobs"), jobs).map_err(|e| BenchError::Step(e.to_string()))?;
            let script = if parallel {
                "xargs -P 16 -n 2 sh ./check < jobs"
            } else {
                "while read -r h c; do sh ./check \"$h\" \"$c\" || exit 1; done < jobs"
            };
            let started = Instant::now();
            let status = tokio::process::Command::new("sh")
                .args(["-c", script])
                .current_dir(&work)
                .status()
                .await
                .map_err(|e| BenchError::Step(format!("cannot run sh: {e}")))?;
            let took = started.elapsed();
            if !status.success() {
                return Err(BenchError::Step(format!(
                    "the ssh loop failed ({status}); is the OpenSSH client installed?"
                )));
            }
            Ok::<_, BenchError>(took.as_secs_f64() * size as f64 / sample as f64)
        }
    };
    let sequential = run(sequential_sample, false).await?;
    let parallel = run(parallel_sample, true).await?;
    let scaled = |sample: usize| {
        if sample < size {
            format!("measured on {sample} hosts, scaled to {size}")
        } else {
            String::new()
        }
    };
    let label = format!("{size} hosts, 3 checks each");
    let mut rows = vec![
        Row::new(
            "sweep",
            format!("ssh loop in sequence, {label}"),
            sequential,
            "s",
        )
        .note(scaled(sequential_sample)),
        Row::new("sweep", format!("xargs -P 16 ssh, {label}"), parallel, "s")
            .note(scaled(parallel_sample)),
    ];
    let warm = warm.as_secs_f64();
    if warm > 0.0 {
        rows.push(
            Row::new(
                "sweep",
                format!("warm sweep vs ssh loop, {size} hosts"),
                sequential / warm,
                "x",
            )
            .goal(if size >= 1000 { "≥ 500×" } else { "" }),
        );
        rows.push(Row::new(
            "sweep",
            format!("warm sweep vs xargs -P 16, {size} hosts"),
            parallel / warm,
            "x",
        ));
    }
    Ok(rows)
}

/// Each host's key file (mode 0600), a known_hosts file with the pinned keys, and the
/// `check` script (`check HOST_INDEX CHECK_INDEX`).
async fn write_ssh_files(
    app: &App,
    hosts: &[crate::farm::Listed],
    work: &Path,
) -> Result<(), BenchError> {
    use std::os::unix::fs::PermissionsExt;
    let io = |e: std::io::Error| BenchError::Step(format!("{}: {e}", work.display()));
    std::fs::create_dir_all(work.join("keys")).map_err(io)?;
    let ctx = app.bot.door().ctx();
    let access = crate::remote::openclaw::Access::new(
        ctx.store.clone(),
        ctx.vault.clone(),
        ctx.clock.clone(),
        None,
    );
    let mut known = String::new();
    let mut cases = String::new();
    for (i, host) in hosts.iter().enumerate() {
        let key = access
            .instance_key(&host.name)
            .await
            .map_err(|e| BenchError::Step(e.to_string()))?;
        let text = key
            .to_openssh(russh::keys::ssh_key::LineEnding::LF)
            .map_err(|e| BenchError::Step(e.to_string()))?;
        let file = work.join("keys").join(i.to_string());
        std::fs::write(&file, text.as_bytes()).map_err(io)?;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
        known.push_str(&format!("[127.0.0.1]:{} {}\n", host.port, host.host_key));
        cases.push_str(&format!("  {i}) p={} ;;\n", host.port));
    }
    std::fs::write(work.join("known_hosts"), known).map_err(io)?;
    let checks: String = CHECKS
        .iter()
        .enumerate()
        .map(|(i, c)| format!("  {i}) c='{c}' ;;\n"))
        .collect();
    let script = format!(
        "# check HOST CHECK: one ssh, as an operator's script runs it\ncase \"$1\" in\n{cases}esac\ncase \"$2\" in\n{checks}esac\n\
         ssh -n -F none -i \"keys/$1\" -p \"$p\" -o BatchMode=yes -o IdentitiesOnly=yes -o UserKnownHostsFile=known_hosts \
         -o StrictHostKeyChecking=yes -o LogLevel=ERROR {user}@127.0.0.1 \"$c\" > /dev/null\n",
        user = crate::farm::USER
    );
    std::fs::write(work.join("check"), script).map_err(io)?;
    Ok(())
}

/// The pairing poll of every host with one new request each, then with none new.
async fn pairing(app: &App, farm: &mut FarmChild, size: usize) -> Result<Vec<Row>, BenchError> {
    let posts = Arc::new(Postings::new());
    app.bot
        .door()
        .ctx()
        .postboxes
        .attach(Platform::Telegram, posts.clone());
    let names: Vec<String> = farm.hosts[..size].iter().map(|h| h.name.clone()).collect();
    for name in names {
        farm.tell(&format!("pairing {name} 1")).await?;
    }
    let mut rows = Vec::new();
    for label in ["one new request each", "nothing new"] {
        let started = Instant::now();
        let said = job(app, JobKind::PairingPoll).await?;
        let took = started.elapsed();
        let posted = posts.take().len();
        rows.push(
            Row::new(
                "pairing",
                format!("pairing poll of {size} hosts, {label}"),
                ms(took),
                "ms",
            )
            .note(format!("{said}; {posted} posted")),
        );
    }
    Ok(rows)
}

/// Chat latency over the fake Bot API, and an alert's latency from the sweep that sees
/// the change to the message at the Bot API.
async fn chat(
    app: &App,
    fake: &FakeTelegram,
    farm: &mut FarmChild,
    size: usize,
) -> Result<Vec<Row>, BenchError> {
    let telegram = app
        .telegram()
        .ok_or_else(|| BenchError::Step("Telegram is not enabled".into()))?
        .map_err(|e| BenchError::Step(e.to_string()))?;
    let stop = CancellationToken::new();
    let polling = stop.clone();
    let since = Instant::now();
    tokio::spawn(async move { telegram.run(polling).await });
    let _stop = stop.drop_guard();
    wait_for(fake, "setmycommands", "", since, Duration::from_secs(30)).await?;
    let mut rows = Vec::new();
    for (command, samples) in [("/status", 100usize), ("/list", 30)] {
        let mut took = Vec::with_capacity(samples);
        for n in 0..samples {
            let name = format!("farm-{:04}", (n * 7919) % size);
            let text = if command == "/status" {
                format!("/status {name}")
            } else {
                "/list".to_string()
            };
            let needle = if command == "/status" {
                name.clone()
            } else {
                String::new()
            };
            let before = fake.calls("sendmessage").len();
            let queued = Instant::now();
            fake.text_from(OPERATOR, &text);
            let at = wait_after(fake, before, &needle, Duration::from_secs(20)).await?;
            took.push(at.saturating_duration_since(queued));
        }
        took.sort();
        let what = format!("{command} on {size} instances");
        rows.push(
            Row::new(
                "chat",
                format!("{what}, p50"),
                ms(quantile(&took, 0.5)),
                "ms",
            )
            .note("update at the fake Bot API → reply at it"),
        );
        rows.push(Row::new(
            "chat",
            format!("{what}, p99"),
            ms(quantile(&took, 0.99)),
            "ms",
        ));
    }
    let mut took = Vec::new();
    for n in 0..5 {
        let name = format!("farm-{n:04}");
        farm.tell(&format!("fault {name} gateway-down")).await?;
        let before = fake.calls("sendmessage").len();
        let started = Instant::now();
        let said = job(app, JobKind::HealthSweep).await?;
        if !said.contains("alert") {
            return Err(BenchError::Step(format!("no alert for {name}: {said}")));
        }
        let at = wait_after(
            fake,
            before,
            &format!("{name} is OFFLINE"),
            Duration::from_secs(30),
        )
        .await?;
        took.push(at.saturating_duration_since(started));
        farm.tell(&format!("fault {name} none")).await?;
        job(app, JobKind::HealthSweep).await?;
    }
    took.sort();
    rows.push(
        Row::new(
            "alerts",
            format!("alert latency, {size} hosts, p50 of 5"),
            ms(quantile(&took, 0.5)),
            "ms",
        )
        .note(
            "from the start of the sweep that sees the gateway down to the message at the Bot API",
        ),
    );
    Ok(rows)
}

/// Waits for a `method` call containing `needle` made after `since`.
async fn wait_for(
    fake: &FakeTelegram,
    method: &str,
    needle: &str,
    since: Instant,
    limit: Duration,
) -> Result<Instant, BenchError> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(c) = fake
            .calls(method)
            .into_iter()
            .find(|c| c.at >= since && c.body.to_string().contains(needle))
        {
            return Ok(c.at);
        }
        if Instant::now() > deadline {
            return Err(BenchError::Step(format!(
                "no {method} with {needle:?} within {limit:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Waits for a `sendMessage` after the first `before` ones that contains `needle`.
async fn wait_after(
    fake: &FakeTelegram,
    before: usize,
    needle: &str,
    limit: Duration,
) -> Result<Instant, BenchError> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(c) = fake
            .calls("sendmessage")
            .into_iter()
            .skip(before)
            .find(|c| c.body.to_string().contains(needle))
        {
            return Ok(c.at);
        }
        if Instant::now() > deadline {
            return Err(BenchError::Step(format!(
                "no reply with {needle:?} within {limit:?}"
            )));
        }
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
}

/// Prompt tokens the LLM operator sends per request (the largest request of each eval
/// scenario an operator may run), counted with o200k_base, on fleets of 10 and 1,000:
/// the figure must not grow with the fleet.
pub async fn tokens() -> Result<Vec<Row>, BenchError> {
    use crate::farm::llm_api::{FakeLlm, KEY, Reply};
    let bpe = tiktoken_rs::o200k_base().map_err(|e| BenchError::Step(e.to_string()))?;
    let mut rows = Vec::new();
    for fleet in [10usize, 1_000] {
        let fake = FakeLlm::start().await;
        let dir = Scratch::new("tokens")?;
        let app = start(config_as(
            &dir.0,
            "operator",
            &format!(
                "[telegram]\nenabled = false\n[safety]\nconfirm_bulk_over = 2\n[llm]\nbase_url = \"{}\"\nmodel = \"fake-model\"\napi_key = \"{KEY}\"\n[providers.sim]\nboot_time = \"0s\"\nstep_time = \"0s\"\n",
                fake.base_url
            ),
        )?)
        .await?;
        crate::agent::evals::seed(&app, fleet, &[3, 7, 9])
            .await
            .map_err(|e| BenchError::Step(e.to_string()))?;
        let actor = Actor::Person {
            platform: Platform::Telegram,
            user_id: OPERATOR.to_string(),
            display: "bench".into(),
        };
        for scenario in crate::agent::evals::scenarios()
            .into_iter()
            .filter(|s| s.role == "operator")
        {
            let before = fake.requests().len();
            let script = scenario
                .script
                .iter()
                .map(|(n, a)| (n.to_string(), a.to_string()))
                .collect();
            fake.script(vec![Reply::Tools(script), Reply::Text("Done.".into())]);
            for text in [scenario.request, "/forget"] {
                let inbound = crate::chat::Inbound::Text {
                    actor: actor.clone(),
                    text: text.into(),
                };
                app.bot.handle(inbound, &Recorder::new()).await;
            }
            let most = fake.requests()[before..]
                .iter()
                .map(|b| bpe.encode_ordinary(&b.to_string()).len())
                .max()
                .unwrap_or(0);
            let goal = if scenario.name == "restart anything degraded" {
                "≤ 3,000, flat in fleet size"
            } else {
                ""
            };
            rows.push(
                Row::new(
                    "llm",
                    format!("prompt tokens, \"{}\", {fleet} instances", scenario.name),
                    most as f64,
                    "",
                )
                .goal(goal),
            );
        }
    }
    Ok(rows)
}
