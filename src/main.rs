//! The `clawops` command: start the bot (all surfaces, or the console only), check a
//! configuration, verify the audit trail.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use tokio_util::sync::CancellationToken;

use clawops::app::{App, StartError};
use clawops::chat::Replier;
use clawops::chat::console::ConsoleOut;
use clawops::chat::discord::Reach;
use clawops::chat::recorder::Recorder;
use clawops::clock::Clock;
use clawops::config::{Config, Feed, Platform, Source};
use std::sync::Arc;

/// Run a fleet of OpenClaw gateways from a chat.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// The configuration file [default: clawops.toml; the built-in defaults when absent]
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// How log lines on standard error look.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Start the bot on every surface enabled in the config.
    Run,
    /// Start the bot in this terminal only: each line is a command from the owner.
    Console,
    /// Check the configuration and say what it enables.
    CheckConfig,
    /// Play the LLM eval scenarios against the [llm] endpoint and print a score.
    Eval,
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        command: AuditCmd,
    },
    /// Rebuild clawops on a new machine: fetch the newest backup of the store (and its
    /// audit witness) from the [backups] bucket, open it with the master key
    /// (CLAWOPS_MASTER_KEY, or the key file beside the store), write it where [store]
    /// points (which must not exist yet), and verify the audit trail.
    RestoreStore,
    /// Write an instance's SSH private key to ~/.ssh/clawops-NAME (mode 0600), to look at
    /// its host by hand.
    Key {
        /// The instance.
        name: String,
    },
    /// Measure clawops on this machine: sweeps of 10, 100 and 1,000 farm hosts beside the
    /// same checks by `ssh` loops, pairing, alerts, chat latency, memory, deploys. Prints
    /// a table; `--json` also writes it. Never touches the configured store.
    Bench {
        /// Fleet sizes for the sweep rows.
        #[arg(long, value_delimiter = ',', default_value = "10,100,1000")]
        sizes: Vec<usize>,
        /// Run the ssh loops on every host instead of a sample scaled up.
        #[arg(long)]
        full: bool,
        /// Also write the rows as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Play N OpenClaw hosts on loopback for the bench (manifest on stdout, control lines
    /// on stdin).
    #[command(hide = true)]
    Farm {
        #[arg(long)]
        hosts: usize,
        #[arg(long, default_value_t = 18789)]
        gateway_port: u16,
    },
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Walk the hash chain and report the first broken row.
    Verify,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = matches!(
        cli.command,
        Cmd::Console | Cmd::Bench { .. } | Cmd::Farm { .. }
    );
    init_logs(cli.log_format, quiet);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = match runtime.block_on(dispatch(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    };
    // The console's stdin is read on a blocking thread that only a new line would end;
    // everything that matters (the store) is closed by now, so it is not waited for (a
    // SIGTERM to a console waiting for input would otherwise never exit).
    runtime.shutdown_background();
    code
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Cmd::Run => {
            clawops::app::raise_open_files();
            serve(&cli.config, true).await
        }
        Cmd::Console => serve(&cli.config, false).await,
        Cmd::CheckConfig => check_config(&cli.config),
        Cmd::Eval => eval(&cli.config).await,
        Cmd::Audit {
            command: AuditCmd::Verify,
        } => verify(&cli.config).await,
        Cmd::Key { name } => key(&cli.config, &name).await,
        Cmd::RestoreStore => restore_store(&cli.config).await,
        Cmd::Bench { sizes, full, json } => bench(sizes, full, json).await,
        Cmd::Farm {
            hosts,
            gateway_port,
        } => {
            clawops::app::raise_open_files();
            clawops::bench::farm_child::serve(hosts, gateway_port).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs the bench and prints its table.
async fn bench(
    mut sizes: Vec<usize>,
    full: bool,
    json: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    sizes.sort_unstable();
    sizes.dedup();
    let options = clawops::bench::Options { sizes, full, json };
    let report = clawops::bench::run(&options).await?;
    println!("{}", report.table());
    if let Some(path) = &options.json {
        println!("written to {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Puts the newest store backup back where the config points, then verifies it.
async fn restore_store(path: &Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config = load(path)?;
    let backups = config.backups.as_ref().context(
        "no [backups] in the config: name the bucket the store was backed up to (the same [backups] section as on the lost machine)",
    )?;
    let db = &config.store.path;
    let key_file = db.with_extension("key");
    let env_key = std::env::var(clawops::vault::MASTER_KEY_ENV).ok();
    if env_key.is_none() && !key_file.exists() {
        anyhow::bail!(
            "no master key: set {} or put the key file back at {} (without it the backups cannot be opened)",
            clawops::vault::MASTER_KEY_ENV,
            key_file.display()
        );
    }
    let vault = clawops::vault::Vault::load(env_key, &key_file)?;
    let offsite = clawops::offsite::Offsite::new(backups, &|var| std::env::var(var).ok())?;
    let said = clawops::ops::backups::restore_store(&offsite, &vault, db).await?;
    println!("{said}");
    let store = clawops::store::Store::open(db).await?;
    let fleet = store.fleet().await?;
    let verdict = clawops::audit::verify(
        &store,
        &vault.derive(clawops::audit::KEY_FAMILY),
        Some(&clawops::audit::witness_path(db)),
    )
    .await?;
    store.close().await;
    println!(
        "{} instances: {}",
        fleet.len(),
        fleet
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    match verdict {
        clawops::audit::Verdict::Intact { rows, tip } => {
            println!("audit trail intact: {rows} rows, last hash {tip}");
            println!("start clawops as before (`clawops run`); the nightly backups go on");
            Ok(ExitCode::SUCCESS)
        }
        clawops::audit::Verdict::Broken { seq, reason } => {
            println!("audit trail BROKEN at row {seq}: {reason}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Writes the instance's private key where `ssh -i` can read it, and says how to log in.
async fn key(path: &Option<PathBuf>, name: &str) -> anyhow::Result<ExitCode> {
    let config = load(path)?;
    let store_path = &config.store.path;
    let key_file = store_path.with_extension("key");
    let env_key = std::env::var(clawops::vault::MASTER_KEY_ENV).ok();
    if env_key.is_none() && !key_file.exists() {
        anyhow::bail!(
            "no master key: neither {} nor {} exists",
            clawops::vault::MASTER_KEY_ENV,
            key_file.display()
        );
    }
    let vault = clawops::vault::Vault::load(env_key, &key_file)?;
    let store = clawops::store::Store::open_read_only(store_path).await?;
    let row = store.instance_key(name).await?.with_context(|| {
        format!("{name} has no SSH key (only instances on real hosts have one)")
    })?;
    let private = vault.open_text(&format!("ssh-key:{name}"), &row.private_sealed)?;
    let home = std::env::var("HOME").context("HOME is not set")?;
    let out = PathBuf::from(home).join(format!(".ssh/clawops-{name}"));
    let _ = std::fs::remove_file(&out);
    clawops::vault::write_private(&out, private.as_bytes())
        .with_context(|| format!("cannot write {}", out.display()))?;
    let instance = store.instance(name).await?;
    println!("{}", out.display());
    if let Some(target) = instance
        .and_then(|i| i.server_id)
        .and_then(|id| clawops::remote::ssh::Target::parse(&id).ok())
    {
        println!("{}", target.hand_command(&out.display().to_string()));
    }
    Ok(ExitCode::SUCCESS)
}

/// Loads the config; without `--config`, a missing clawops.toml means the built-in
/// defaults, said once on standard error.
fn load(path: &Option<PathBuf>) -> anyhow::Result<Config> {
    let explicit = path.is_some();
    let path = path
        .clone()
        .unwrap_or_else(|| PathBuf::from("clawops.toml"));
    let (config, source) = Config::load(&path, !explicit)?;
    if source == Source::BuiltIn {
        eprintln!(
            "note: {} not found: running on the built-in defaults of config.example.toml (console, simulated cloud, store at {}). Copy config.example.toml to clawops.toml to change them.",
            path.display(),
            config.store.path.display()
        );
    }
    Ok(config)
}

async fn serve(path: &Option<PathBuf>, all_surfaces: bool) -> anyhow::Result<ExitCode> {
    let config = load(path)?;
    let console_on = !all_surfaces || config.console.enabled;
    let telegram_on = all_surfaces && config.telegram.as_ref().is_some_and(|t| t.enabled);
    let discord_on = all_surfaces && config.discord.as_ref().is_some_and(|d| d.enabled);
    if !console_on && !telegram_on && !discord_on {
        return Err(StartError::NoSurface.into());
    }
    let shutdown = CancellationToken::new();
    spawn_signal_watch(shutdown.clone());
    let notes = Recorder::new();
    let grace = config.safety.stop_grace;
    let app = App::start(config, Clock::system(), shutdown.clone(), &notes)
        .await
        .context("cannot start clawops")?;
    let notes = notes.take();
    app.start_watch().await.context("cannot start the watch")?;
    // Start-up notes and resumed plans go to every chat surface's ops channels.
    let mut ops: Vec<Arc<dyn Replier>> = Vec::new();
    let mut surfaces: Vec<(&str, tokio::task::JoinHandle<anyhow::Result<()>>)> = Vec::new();
    if telegram_on && let Some(tg) = app.telegram() {
        let tg = tg.context("cannot start the Telegram surface")?;
        let channels = app.config.ops_channels(Platform::Telegram, Feed::Notes);
        ops.push(Arc::new(tg.ops_chats(&channels)));
        let stop = shutdown.clone();
        surfaces.push((
            "Telegram",
            tokio::spawn(async move { Ok(tg.run(stop).await?) }),
        ));
    }
    if discord_on && let Some(dc) = app.discord(Reach::Discord).await {
        let dc = dc.context("cannot start the Discord surface")?;
        let channels = app.config.ops_channels(Platform::Discord, Feed::Notes);
        ops.push(Arc::new(dc.ops_channels(&channels)));
        let stop = shutdown.clone();
        surfaces.push((
            "Discord",
            tokio::spawn(async move { Ok(dc.run(stop).await?) }),
        ));
    }
    if !ops.is_empty() {
        let ops = Arc::new(clawops::chat::Fanout(ops));
        for note in &notes {
            ops.send(note.clone()).await;
        }
        // Interrupted plans finish in the background and report to the ops channels.
        app.resume_plans(ops);
    }
    if console_on {
        let out = Arc::new(ConsoleOut::new(tokio::io::stdout()));
        if app.config.ops_channels.is_empty() {
            // No ops chat configured: the watch tells this terminal.
            app.bot
                .door()
                .ctx()
                .postboxes
                .attach(Platform::Console, out.clone());
        }
        for note in notes {
            out.send(note).await;
        }
        if surfaces.is_empty() {
            app.resume_plans(out.clone());
        }
        out.line("clawops console: you are the owner. /help lists the commands; Ctrl-D quits.")
            .await;
        app.console(out).await;
        if !surfaces.is_empty() && !shutdown.is_cancelled() {
            eprintln!("console closed; the chat surfaces keep running until SIGTERM or Ctrl-C");
        }
    }
    let mut failed = None;
    for (name, task) in surfaces {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                // One surface failing to start stops the others: the operator fixes it.
                shutdown.cancel();
                failed.get_or_insert(e.context(format!("the {name} surface stopped")));
            }
            Err(e) => tracing::error!(error = %e, "the {name} surface crashed"),
        }
    }
    if let Some(e) = failed {
        app.stop(grace).await;
        return Err(e);
    }
    for note in app.stop(grace).await {
        tracing::warn!("{}", note.plain());
    }
    Ok(ExitCode::SUCCESS)
}

/// SIGINT or SIGTERM: stop taking input; running deploys stop at their next step boundary
/// and are recorded as interrupted.
fn spawn_signal_watch(shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::error!(error = %e, "cannot watch for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!(
            "shutting down: no new work; running steps finish first ([safety] stop_grace)"
        );
        shutdown.cancel();
    });
}

fn check_config(path: &Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config = load(path)?;
    let providers = config.providers.names();
    println!("configuration OK");
    println!("  store:      {}", config.store.path.display());
    println!("  operators:  {}", config.operators.len());
    println!("  providers:  {}", providers.join(", "));
    if let Some(ssh) = config.providers.ssh.as_ref().filter(|s| s.enabled) {
        let credential = ssh.bootstrap_key_file.is_some() || ssh.bootstrap_password_env.is_some();
        let offered = match (credential, ssh.bootstrap_hosts.is_empty()) {
            (false, _) => "no bootstrap credential (keys are added by hand)".to_string(),
            (true, true) => {
                "a bootstrap credential, offered to no host (bootstrap_hosts is empty)".to_string()
            }
            (true, false) => format!(
                "a bootstrap credential, offered only to {}",
                ssh.bootstrap_hosts.join(", ")
            ),
        };
        println!(
            "  ssh hosts:  deploys by {} and up; {offered}",
            ssh.deploy_role.as_str()
        );
    }
    let mut surfaces = Vec::new();
    if config.console.enabled {
        surfaces.push("console".to_string());
    }
    if config.telegram.as_ref().is_some_and(|t| t.enabled) {
        surfaces.push("telegram".to_string());
    }
    if let Some(dc) = config.discord.as_ref().filter(|d| d.enabled) {
        let guilds = match dc.guilds.len() {
            0 => "DMs only".to_string(),
            1 => "DMs and 1 guild".to_string(),
            n => format!("DMs and {n} guilds"),
        };
        surfaces.push(format!("discord ({guilds})"));
    }
    println!(
        "  surfaces:   {}",
        if surfaces.is_empty() {
            "none (clawops console still works)".to_string()
        } else {
            surfaces.join(", ")
        }
    );
    if !config.ops_channels.is_empty() {
        println!("  ops:        {} channel(s)", config.ops_channels.len());
    }
    println!(
        "  safety:     confirm over {} instances or {} end users; buttons valid {}",
        config.safety.confirm_bulk_over,
        config.safety.confirm_end_users_over,
        humantime::format_duration(config.safety.confirmation_ttl)
    );
    Ok(ExitCode::SUCCESS)
}

async fn eval(path: &Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config = load(path)?;
    let Some(llm) = config.llm else {
        println!(
            "no [llm] endpoint configured: nothing to evaluate (the same scenarios run in the test suite against a scripted endpoint)"
        );
        return Ok(ExitCode::SUCCESS);
    };
    let scenarios = clawops::agent::evals::scenarios();
    let mut passed = 0;
    for s in &scenarios {
        match clawops::agent::evals::run(s, &llm).await {
            Ok(()) => {
                passed += 1;
                println!("PASS  {}", s.name);
            }
            Err(e) => println!("FAIL  {}: {e}", s.name),
        }
    }
    println!(
        "score: {passed}/{} scenarios passed against {} ({})",
        scenarios.len(),
        llm.base_url,
        llm.model
    );
    Ok(if passed == scenarios.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

async fn verify(path: &Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config = load(path)?;
    let db = &config.store.path;
    if !db.exists() {
        anyhow::bail!("no store at {}: nothing to verify yet", db.display());
    }
    let vault = clawops::vault::Vault::load(
        std::env::var(clawops::vault::MASTER_KEY_ENV).ok(),
        &db.with_extension("key"),
    )?;
    let key = vault.derive(clawops::audit::KEY_FAMILY);
    let witness = clawops::audit::witness_path(db);
    let store = clawops::store::Store::open_read_only(db).await?;
    let verdict = clawops::audit::verify(&store, &key, Some(&witness)).await?;
    store.close().await;
    match verdict {
        clawops::audit::Verdict::Intact { rows, tip } => {
            println!("audit trail intact: {rows} rows, last hash {tip}");
            Ok(ExitCode::SUCCESS)
        }
        clawops::audit::Verdict::Broken { seq, reason } => {
            println!("audit trail BROKEN at row {seq}: {reason}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn init_logs(format: LogFormat, quiet: bool) {
    // serenity's spans carry its requests (an interaction's token is in their path):
    // its own lines only from warnings up unless RUST_LOG asks.
    let default = if quiet { "warn" } else { "info,serenity=warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(|| Redacted(std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Standard error with every registered secret cut out of each log record: a token that
/// reaches a log line by any path (an error from a library, a host's output) is not kept.
struct Redacted<W: std::io::Write>(W);

impl<W: std::io::Write> std::io::Write for Redacted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0
            .write_all(clawops::secrets::redact_known(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}
