//! Configuration: the TOML file, the built-in defaults (`config.example.toml`, embedded),
//! environment overrides for secrets, and validation whose errors name the key and the fix.
//!
//! Owns parsing and checking only; it must not open the store or talk to any service.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

/// The example configuration, which is also the built-in default.
pub const EXAMPLE: &str = include_str!("../config.example.toml");

/// Why a configuration could not be used.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: `{key}` {problem}")]
    Invalid {
        path: String,
        key: String,
        problem: String,
    },
}

/// Who may talk to the bot on which platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Telegram,
    Discord,
    Console,
}

impl Platform {
    /// The lowercase name used in the config, the store and the audit trail.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Telegram => "telegram",
            Platform::Discord => "discord",
            Platform::Console => "console",
        }
    }
}

/// What an operator may do. Ordered: a higher role may do everything a lower one may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read-only: lists, status, audit.
    Viewer,
    /// Day-to-day operations: deploy, restart, destroy (with confirmation).
    Operator,
    /// Everything, including what changes who may do what.
    Owner,
}

impl Role {
    /// The lowercase name used in the config and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Owner => "owner",
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub store: StoreConfig,
    #[serde(default)]
    pub operators: Vec<OperatorConfig>,
    #[serde(default)]
    pub safety: SafetyConfig,
    #[serde(default)]
    pub rollouts: RolloutsConfig,
    #[serde(default)]
    pub deploy: DeployConfig,
    #[serde(default)]
    pub console: ConsoleConfig,
    #[serde(default)]
    pub providers: ProvidersConfig,
    #[serde(default)]
    pub telegram: Option<TelegramConfig>,
    #[serde(default)]
    pub discord: Option<DiscordConfig>,
    #[serde(default)]
    pub llm: Option<LlmConfig>,
    /// What clawops does on its own, and when (`[[jobs]]`); see [`Config::jobs`].
    #[serde(default)]
    pub jobs: Vec<JobConfig>,
    #[serde(default)]
    pub watch: WatchConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    #[serde(default)]
    pub heal: HealConfig,
    #[serde(default)]
    pub briefings: BriefingsConfig,
    /// Where what nobody asked for goes (`[[ops_channels]]`), on any surface.
    #[serde(default)]
    pub ops_channels: Vec<OpsChannel>,
    /// Off-host backups to an S3-compatible bucket (`[backups]`); none when absent.
    #[serde(default)]
    pub backups: Option<BackupsConfig>,
    /// Cells: many instances per server, each in its own limited container (`[cells]`).
    #[serde(default)]
    pub cells: CellsConfig,
}

/// What a cell over its limits for a while gets (`[cells] auto_suspend`).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AutoSuspend {
    Off,
    /// An alert only.
    Notify,
    /// Suspended (the kill switch), with an alert carrying a Resume button.
    Suspend,
}

/// `[cells]`: the default limits of a cell, how far a cell host may be committed, and what
/// happens to a cell that keeps running over its limits.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CellsConfig {
    /// CPUs a cell may use (`--cpus`).
    #[serde(default = "default_cell_cpus")]
    pub cpus: f64,
    /// Memory a cell may use, in MB (`--memory`); OpenClaw's gateway needs about 700.
    #[serde(default = "default_cell_memory")]
    pub memory_mb: u32,
    /// Processes a cell may run (`--pids`).
    #[serde(default = "default_cell_pids")]
    pub pids: u32,
    /// The cap on a cell's writable layer, in MB, where the host's filesystem allows one
    /// (XFS with project quotas, btrfs, zfs); none by default.
    #[serde(default)]
    pub disk_mb: Option<u32>,
    /// How far the CPUs and memory promised to cells may exceed the server's: 1.0 never
    /// promises more than the server has.
    #[serde(default = "default_overcommit")]
    pub overcommit: f64,
    /// The first loopback port cells get on a host.
    #[serde(default = "default_cell_port")]
    pub first_port: u16,
    /// The image cells run; by default clawops builds `localhost/clawops-openclaw:VERSION`
    /// on each host from the pinned npm package. `{version}` is replaced.
    #[serde(default)]
    pub image: Option<String>,
    /// The cell host's firewall (deny incoming except SSH) when preparing it.
    #[serde(default = "default_true")]
    pub firewall: bool,
    /// The size `/hosts add` buys when it names none.
    #[serde(default = "default_cell_host_size")]
    pub host_size: String,
    #[serde(default = "default_auto_suspend")]
    pub auto_suspend: AutoSuspend,
    /// Sweeps in a row a cell must be over a limit before `auto_suspend` acts.
    #[serde(default = "default_auto_suspend_sweeps")]
    pub auto_suspend_sweeps: u32,
    /// Share of a limit (CPU or memory) that counts as over it, in percent.
    #[serde(default = "default_over_limit")]
    pub over_limit_percent: f32,
}

impl Default for CellsConfig {
    fn default() -> Self {
        CellsConfig {
            cpus: default_cell_cpus(),
            memory_mb: default_cell_memory(),
            pids: default_cell_pids(),
            disk_mb: None,
            overcommit: default_overcommit(),
            first_port: default_cell_port(),
            image: None,
            firewall: true,
            host_size: default_cell_host_size(),
            auto_suspend: default_auto_suspend(),
            auto_suspend_sweeps: default_auto_suspend_sweeps(),
            over_limit_percent: default_over_limit(),
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_cell_cpus() -> f64 {
    1.0
}
fn default_cell_memory() -> u32 {
    1024
}
fn default_cell_pids() -> u32 {
    256
}
fn default_overcommit() -> f64 {
    1.0
}
fn default_cell_port() -> u16 {
    19100
}
fn default_cell_host_size() -> String {
    "cx42".into()
}
fn default_auto_suspend() -> AutoSuspend {
    AutoSuspend::Notify
}
fn default_auto_suspend_sweeps() -> u32 {
    3
}
fn default_over_limit() -> f32 {
    95.0
}

/// `[backups]`: the S3-compatible bucket every backup is copied to, and how many are kept.
/// The access key and secret come from the environment, never from the file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BackupsConfig {
    /// The S3 endpoint, e.g. "https://fsn1.your-objectstorage.com" (Hetzner),
    /// "https://fra1.digitaloceanspaces.com", "https://s3.eu-central-1.amazonaws.com".
    pub endpoint: String,
    pub bucket: String,
    #[serde(default = "default_s3_region")]
    pub region: String,
    /// Address the bucket in the path (`endpoint/bucket/key`) rather than as a subdomain
    /// (MinIO, Ceph, most self-hosted servers).
    #[serde(default)]
    pub path_style: bool,
    /// Where in the bucket clawops writes (instances under `PREFIX/instances/`, its own
    /// store under `PREFIX/clawops/`).
    #[serde(default = "default_s3_prefix")]
    pub prefix: String,
    /// The access key id and the secret, when given in the file (like `[providers.*]`
    /// tokens; the environment is the better place).
    #[serde(default)]
    pub access_key: Option<String>,
    #[serde(default)]
    pub secret_key: Option<String>,
    /// The environment variables holding the access key id and the secret.
    #[serde(default = "default_s3_access_env")]
    pub access_key_env: String,
    #[serde(default = "default_s3_secret_env")]
    pub secret_key_env: String,
    /// Retention: the newest backup of each of the last N days, ISO weeks and months that
    /// have one.
    #[serde(default = "default_keep_daily")]
    pub keep_daily: u32,
    #[serde(default = "default_keep_weekly")]
    pub keep_weekly: u32,
    #[serde(default = "default_keep_monthly")]
    pub keep_monthly: u32,
    /// How long the backups of a destroyed instance are kept after its newest one.
    #[serde(default = "default_keep_destroyed", with = "humantime_serde")]
    pub keep_destroyed: Duration,
    /// How many of each instance's newest backups also keep their copy on this machine
    /// (for a fast restore); older ones live off-host only.
    #[serde(default = "default_keep_local")]
    pub keep_local: u32,
}

fn default_s3_region() -> String {
    "us-east-1".into()
}
fn default_s3_prefix() -> String {
    "clawops".into()
}
fn default_s3_access_env() -> String {
    "CLAWOPS_BACKUP_ACCESS_KEY".into()
}
fn default_s3_secret_env() -> String {
    "CLAWOPS_BACKUP_SECRET_KEY".into()
}
fn default_keep_daily() -> u32 {
    7
}
fn default_keep_weekly() -> u32 {
    4
}
fn default_keep_monthly() -> u32 {
    6
}
fn default_keep_destroyed() -> Duration {
    Duration::from_secs(90 * 86_400)
}
fn default_keep_local() -> u32 {
    1
}

/// What an ops channel gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Feed {
    /// Start-up notes (interrupted deploys, plans resumed or rolled back) and the results
    /// of resumed plans.
    Notes,
    Alerts,
    Escalations,
    Briefings,
    Pairing,
}

impl Feed {
    pub const ALL: [Feed; 5] = [
        Feed::Notes,
        Feed::Alerts,
        Feed::Escalations,
        Feed::Briefings,
        Feed::Pairing,
    ];
}

/// A chat or channel id: Telegram's are numbers (negative for groups), Discord's are
/// snowflakes; the config may write either as a number or a string.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ChatRef {
    Number(i64),
    Text(String),
}

impl ChatRef {
    /// The id as text (as kept in message references).
    pub fn text(&self) -> String {
        match self {
            ChatRef::Number(n) => n.to_string(),
            ChatRef::Text(t) => t.trim().to_string(),
        }
    }

    /// The id as a Discord snowflake (a positive number), when it is one.
    pub fn snowflake(&self) -> Option<u64> {
        match self {
            ChatRef::Number(n) => u64::try_from(*n).ok().filter(|n| *n > 0),
            ChatRef::Text(t) => t.trim().parse().ok().filter(|n| *n > 0),
        }
    }

    /// The id as a number (Telegram), when it is one.
    pub fn number(&self) -> Option<i64> {
        match self {
            ChatRef::Number(n) => Some(*n),
            ChatRef::Text(t) => t.trim().parse().ok(),
        }
    }
}

/// `[[ops_channels]]`: one chat that gets alerts, escalations, briefings, pairing requests
/// and start-up notes (all of them unless `gets` says otherwise), whatever the surface.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsChannel {
    pub platform: Platform,
    pub chat_id: ChatRef,
    #[serde(default = "all_feeds")]
    pub gets: Vec<Feed>,
    /// "22:00-07:00": messages arrive without a notification sound in these hours
    /// (escalations excepted, when they come).
    #[serde(default)]
    pub quiet_hours: Option<String>,
    /// The zone `quiet_hours` and the briefings are read in.
    #[serde(default = "default_zone")]
    pub zone: String,
    /// When the morning briefing comes, local time ("07:00"), or "off". Only for a
    /// channel that gets `briefings`.
    #[serde(default = "default_briefing_at")]
    pub briefing_at: String,
    /// The day the weekly report replaces the morning briefing ("monday"), or "off".
    #[serde(default = "default_weekly_on")]
    pub weekly_on: String,
}

fn default_briefing_at() -> String {
    "07:00".into()
}
fn default_weekly_on() -> String {
    "monday".into()
}

/// When one ops channel gets its briefings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BriefingTimes {
    pub at: Option<chrono::NaiveTime>,
    pub weekly_on: Option<chrono::Weekday>,
    pub zone: chrono_tz::Tz,
}

fn all_feeds() -> Vec<Feed> {
    Feed::ALL.to_vec()
}

/// Quiet hours: a daily window of local time in a zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuietHours {
    pub from: chrono::NaiveTime,
    pub until: chrono::NaiveTime,
    pub zone: chrono_tz::Tz,
}

impl QuietHours {
    /// "22:00-07:00" in `zone`.
    pub fn parse(text: &str, zone: &str) -> Result<QuietHours, String> {
        let bad = || format!("{text:?} is not a window of hours: write it like \"22:00-07:00\"");
        let (a, b) = text.split_once('-').ok_or_else(bad)?;
        let time =
            |s: &str| chrono::NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad());
        Ok(QuietHours {
            from: time(a)?,
            until: time(b)?,
            zone: crate::schedule::zone(zone).map_err(|e| e.to_string())?,
        })
    }

    /// Whether `at` falls in the window (which may run over midnight).
    pub fn contains(&self, at: chrono::DateTime<chrono::Utc>) -> bool {
        let t = at.with_timezone(&self.zone).time();
        if self.from <= self.until {
            self.from <= t && t < self.until
        } else {
            t >= self.from || t < self.until
        }
    }
}

impl OpsChannel {
    /// When it gets its briefings ("off" or an invalid value: never; the config check
    /// refuses invalid ones at start).
    pub fn briefing_times(&self) -> Result<BriefingTimes, String> {
        let at = match self.briefing_at.trim() {
            "off" => None,
            t => Some(chrono::NaiveTime::parse_from_str(t, "%H:%M").map_err(|_| {
                format!("{t:?} is not a time of day: write it like \"07:00\", or \"off\"")
            })?),
        };
        let weekly_on = match self.weekly_on.trim() {
            "off" => None,
            d => Some(d.parse::<chrono::Weekday>().map_err(|_| {
                format!("{d:?} is not a day of the week: write it like \"monday\", or \"off\"")
            })?),
        };
        Ok(BriefingTimes {
            at,
            weekly_on,
            zone: crate::schedule::zone(&self.zone).map_err(|e| e.to_string())?,
        })
    }

    /// Its quiet hours, if it has valid ones.
    pub fn quiet(&self) -> Option<QuietHours> {
        QuietHours::parse(self.quiet_hours.as_deref()?, &self.zone).ok()
    }
}

/// `[[jobs]]`: one job clawops runs on its own, as the system. A job named here replaces
/// the built-in entry of the same name (to change its schedule, or to turn it off).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct JobConfig {
    /// A job clawops knows (`health-sweep`).
    pub name: String,
    /// 5-field POSIX cron, like "*/5 * * * *" or "0 7 * * 1-5".
    pub schedule: String,
    /// The IANA time zone the schedule is read in.
    #[serde(default = "default_zone")]
    pub zone: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// A run missed while clawops was down is caught up once at start-up when it was due
    /// at most this long ago (default: one interval of the schedule; never over 6 h).
    #[serde(default, with = "humantime_serde::option")]
    pub catch_up: Option<Duration>,
}

fn default_zone() -> String {
    "UTC".into()
}

/// `[watch]`: how the health sweep looks at the fleet, and what it keeps.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WatchConfig {
    /// Hosts probed at once by one sweep.
    #[serde(default = "default_sweep_concurrency")]
    pub sweep_concurrency: usize,
    /// How long one host's probe may take before it counts as UNREACHABLE.
    #[serde(default = "default_probe_timeout", with = "humantime_serde")]
    pub probe_timeout: Duration,
    /// How long raw readings are kept.
    #[serde(default = "default_keep_raw", with = "humantime_serde")]
    pub keep_raw: Duration,
    /// How long hourly summaries are kept.
    #[serde(default = "default_keep_hourly", with = "humantime_serde")]
    pub keep_hourly: Duration,
    /// Pinged (GET) after each successful sweep: a dead-man's switch (a healthchecks-style
    /// service) notices when clawops stops sweeping.
    #[serde(default)]
    pub heartbeat_url: Option<String>,
    /// Where to serve Prometheus metrics (`GET /metrics`), e.g. "127.0.0.1:9464"; off
    /// when absent. Keep it on loopback.
    #[serde(default)]
    pub metrics_listen: Option<String>,
    /// How long `/reboot` (and a heal's reboot) waits for the gateway to come back.
    #[serde(default = "default_reboot_wait", with = "humantime_serde")]
    pub reboot_wait: Duration,
}

fn default_reboot_wait() -> Duration {
    Duration::from_secs(10 * 60)
}

fn default_sweep_concurrency() -> usize {
    32
}
fn default_probe_timeout() -> Duration {
    Duration::from_secs(20)
}
fn default_keep_raw() -> Duration {
    Duration::from_secs(48 * 3600)
}
fn default_keep_hourly() -> Duration {
    Duration::from_secs(90 * 24 * 3600)
}

impl Default for WatchConfig {
    fn default() -> Self {
        WatchConfig {
            sweep_concurrency: default_sweep_concurrency(),
            probe_timeout: default_probe_timeout(),
            keep_raw: default_keep_raw(),
            keep_hourly: default_keep_hourly(),
            heartbeat_url: None,
            metrics_listen: None,
            reboot_wait: default_reboot_wait(),
        }
    }
}

/// `[briefings]`: what the morning briefing and the weekly report carry (when each ops
/// channel gets them is its own `briefing_at`, `weekly_on` and `zone`).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BriefingsConfig {
    /// With `[llm]`: the briefer writes the summary from the same facts (every number it
    /// writes must be one of theirs, or the plain text goes out).
    #[serde(default = "yes")]
    pub llm: bool,
    /// A PNG chart of health and monthly cost over 14 days, sent with each briefing.
    #[serde(default = "yes")]
    pub chart: bool,
    #[serde(default = "default_chart_width")]
    pub chart_width: u32,
    #[serde(default = "default_chart_height")]
    pub chart_height: u32,
}

fn default_chart_width() -> u32 {
    800
}
fn default_chart_height() -> u32 {
    480
}

impl Default for BriefingsConfig {
    fn default() -> Self {
        BriefingsConfig {
            llm: true,
            chart: true,
            chart_width: default_chart_width(),
            chart_height: default_chart_height(),
        }
    }
}

/// `[alerts]`: when a bad reading becomes an alert, and how long an alert nobody answers
/// keeps asking.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// Readings in a row before a change of state counts (both ways): the flap guard.
    #[serde(default = "default_flap_guard")]
    pub flap_guard: u32,
    /// More incidents than this opened by one sweep arrive as one grouped message.
    #[serde(default = "default_group_over")]
    pub group_over: usize,
    /// An unacknowledged critical incident (OFFLINE, UNREACHABLE) says "still down" again
    /// this often.
    #[serde(default = "default_repeat_every", with = "humantime_serde")]
    pub repeat_every: Duration,
    /// ...and goes to the escalation channels after this long.
    #[serde(default = "default_escalate_after", with = "humantime_serde")]
    pub escalate_after: Duration,
}

fn default_flap_guard() -> u32 {
    2
}
fn default_group_over() -> usize {
    3
}
fn default_repeat_every() -> Duration {
    Duration::from_secs(30 * 60)
}
fn default_escalate_after() -> Duration {
    Duration::from_secs(15 * 60)
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            flap_guard: default_flap_guard(),
            group_over: default_group_over(),
            repeat_every: default_repeat_every(),
            escalate_after: default_escalate_after(),
        }
    }
}

/// What the watch does about an instance in trouble.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HealMode {
    /// Nothing: no alerts, no heals (the readings are still kept).
    Off,
    /// Alerts only.
    Notify,
    /// The heal ladder first, then alerts for what it could not mend.
    Heal,
}

/// `[heal]`: whether and how far the system mends instances on its own.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HealConfig {
    #[serde(default = "default_heal_mode")]
    pub mode: HealMode,
    /// Heal steps one instance may take per `window`.
    #[serde(default = "default_heal_budget")]
    pub budget: u32,
    #[serde(default = "default_heal_window", with = "humantime_serde")]
    pub window: Duration,
    /// "08:00-22:00": heals run only in these hours (local to `zone`); alerts at any time.
    #[serde(default)]
    pub hours: Option<String>,
    #[serde(default = "default_zone")]
    pub zone: String,
    /// Heals running at once, fleet-wide.
    #[serde(default = "default_heal_concurrent")]
    pub max_concurrent: usize,
    /// The brake: when more than this share of the instances a sweep probed turn
    /// UNREACHABLE at once (and at least `brake_min`), clawops itself may have lost its
    /// network: no heal runs, and one alert says so.
    #[serde(default = "default_brake_share")]
    pub brake_share: f64,
    #[serde(default = "default_brake_min")]
    pub brake_min: usize,
}

fn default_heal_mode() -> HealMode {
    HealMode::Notify
}
fn default_heal_budget() -> u32 {
    3
}
fn default_heal_window() -> Duration {
    Duration::from_secs(3600)
}
fn default_heal_concurrent() -> usize {
    3
}
fn default_brake_share() -> f64 {
    0.3
}
fn default_brake_min() -> usize {
    3
}

impl Default for HealConfig {
    fn default() -> Self {
        HealConfig {
            mode: default_heal_mode(),
            budget: default_heal_budget(),
            window: default_heal_window(),
            hours: None,
            zone: default_zone(),
            max_concurrent: default_heal_concurrent(),
            brake_share: default_brake_share(),
            brake_min: default_brake_min(),
        }
    }
}

impl HealConfig {
    /// The hours heals may act in, when limited.
    pub fn hours(&self) -> Option<QuietHours> {
        QuietHours::parse(self.hours.as_deref()?, &self.zone).ok()
    }
}

/// `[llm]`: the OpenAI-compatible endpoint that turns free text into actions.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {
    /// e.g. https://api.openai.com/v1, https://openrouter.ai/api/v1, http://127.0.0.1:11434/v1
    pub base_url: String,
    pub model: String,
    /// Better given as `CLAWOPS_LLM_API_KEY`; local endpoints may need none.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Model calls per request, at most.
    #[serde(default = "default_rounds")]
    pub max_rounds: u32,
    /// Tokens (prompt + completion) one request may spend.
    #[serde(default = "default_request_budget")]
    pub request_token_budget: u32,
    /// Tokens one operator may spend per UTC day.
    #[serde(default = "default_daily_budget")]
    pub daily_token_budget: u32,
    /// How long one model call may take.
    #[serde(default = "default_llm_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Price per million prompt tokens, for the cost estimate in /usage.
    #[serde(default)]
    pub price_per_million_prompt: f64,
    /// Price per million completion tokens.
    #[serde(default)]
    pub price_per_million_completion: f64,
}

fn default_rounds() -> u32 {
    6
}
fn default_request_budget() -> u32 {
    40_000
}
fn default_daily_budget() -> u32 {
    500_000
}
fn default_llm_timeout() -> Duration {
    Duration::from_secs(60)
}

impl std::fmt::Debug for LlmConfig {
    /// Never prints the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<secret>"))
            .field("max_rounds", &self.max_rounds)
            .finish()
    }
}

/// `[telegram]`: the ops bot on Telegram.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// Whether `clawops run` starts the Telegram surface.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The bot token from @BotFather; better given as `CLAWOPS_TELEGRAM_TOKEN`.
    #[serde(default)]
    pub token: Option<String>,
    /// The Bot API's address (tests point it at a fake on loopback).
    #[serde(default = "default_telegram_api")]
    pub api_url: String,
    /// Group chats where operators may use the bot (DMs always work for operators).
    #[serde(default)]
    pub allowed_chats: Vec<i64>,
    /// Replaced by `[[ops_channels]]`; kept only to say so to an old config.
    #[serde(default)]
    pub ops_chats: Option<Vec<i64>>,
}

impl std::fmt::Debug for TelegramConfig {
    /// Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramConfig")
            .field("enabled", &self.enabled)
            .field("token", &self.token.as_ref().map(|_| "<secret>"))
            .field("api_url", &self.api_url)
            .field("allowed_chats", &self.allowed_chats)
            .finish()
    }
}

/// `[discord]`: the Discord surface.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// Whether `clawops run` starts the Discord surface.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The bot token (Developer Portal → Bot → Reset Token); better given as
    /// `CLAWOPS_DISCORD_TOKEN`.
    #[serde(default)]
    pub token: Option<String>,
    /// The application id (Developer Portal → General Information).
    pub application_id: ChatRef,
    /// The servers (guilds) whose channels the bot answers in; DMs from operators always
    /// work.
    #[serde(default)]
    pub guilds: Vec<ChatRef>,
    /// Channels of those guilds it answers in; empty: every channel of the guilds.
    #[serde(default)]
    pub channels: Vec<ChatRef>,
    /// Guild roles that make their members operators or viewers (never owners: an owner
    /// is named by user id in `[[operators]]`).
    #[serde(default)]
    pub roles: Vec<DiscordRoleGrant>,
}

/// `[[discord.roles]]`: members of a guild role get a role in clawops.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordRoleGrant {
    pub role_id: ChatRef,
    pub role: Role,
}

impl DiscordConfig {
    /// Whether the bot answers in `channel` of `guild` (DMs are not asked here).
    pub fn answers_in(&self, guild: u64, channel: u64) -> bool {
        let listed = |ids: &[ChatRef], id: u64| ids.iter().any(|r| r.snowflake() == Some(id));
        listed(&self.guilds, guild) && (self.channels.is_empty() || listed(&self.channels, channel))
    }

    /// The highest role the guild roles `held` grant (at most operator).
    pub fn granted(&self, held: &[u64]) -> Option<Role> {
        self.roles
            .iter()
            .filter(|g| g.role_id.snowflake().is_some_and(|id| held.contains(&id)))
            .map(|g| g.role.min(Role::Operator))
            .max()
    }
}

impl std::fmt::Debug for DiscordConfig {
    /// Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordConfig")
            .field("enabled", &self.enabled)
            .field("token", &self.token.as_ref().map(|_| "<secret>"))
            .field("application_id", &self.application_id)
            .field("guilds", &self.guilds)
            .field("channels", &self.channels)
            .field("roles", &self.roles)
            .finish()
    }
}

fn default_telegram_api() -> String {
    "https://api.telegram.org".into()
}

/// `[store]`: where the fleet's state lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The SQLite file; relative paths are relative to the working directory.
    pub path: PathBuf,
}

/// `[[operators]]`: one person allowed to talk to clawops.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    pub platform: Platform,
    pub user_id: String,
    pub role: Role,
    #[serde(default)]
    pub name: Option<String>,
}

/// `[safety]`: when an action needs a human's press before it runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyConfig {
    /// An action touching more instances than this needs a confirmation.
    #[serde(default = "default_bulk")]
    pub confirm_bulk_over: u32,
    /// An action affecting more end users than this needs a confirmation.
    #[serde(default = "default_end_users")]
    pub confirm_end_users_over: u32,
    /// How long a confirmation button stays valid.
    #[serde(default = "default_ttl", with = "humantime_serde")]
    pub confirmation_ttl: Duration,
    /// How long a stop (SIGTERM, Ctrl-C) waits for running steps to reach a step
    /// boundary before the rest is recorded as interrupted.
    #[serde(default = "default_stop_grace", with = "humantime_serde")]
    pub stop_grace: Duration,
    /// How long an action on an instance another action holds waits for its turn before
    /// it answers "busy".
    #[serde(default = "default_busy_wait", with = "humantime_serde")]
    pub busy_wait: Duration,
}

fn default_busy_wait() -> Duration {
    Duration::from_secs(5)
}

fn default_stop_grace() -> Duration {
    Duration::from_secs(60)
}

fn default_bulk() -> u32 {
    3
}
fn default_end_users() -> u32 {
    10
}
fn default_ttl() -> Duration {
    Duration::from_secs(300)
}

impl Default for SafetyConfig {
    fn default() -> Self {
        SafetyConfig {
            confirm_bulk_over: default_bulk(),
            confirm_end_users_over: default_end_users(),
            confirmation_ttl: default_ttl(),
            stop_grace: default_stop_grace(),
            busy_wait: default_busy_wait(),
        }
    }
}

/// `[rollouts]`: how `/update` and `/config` carry a change across many instances.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutsConfig {
    /// Instances per batch after the canary, unless `--batch` says otherwise (at most 100:
    /// over 100 instances a rollout always goes in batches).
    #[serde(default = "default_rollout_batch")]
    pub batch: u64,
    /// The wait between batches, unless `--pause` says otherwise.
    #[serde(default = "default_rollout_pause", with = "humantime_serde")]
    pub pause: Duration,
    /// Failed instances (each rolled back) a rollout goes past before it halts; 0 halts
    /// at the first. A failed canary always halts.
    #[serde(default)]
    pub error_budget: u32,
    /// How long an instance may take to come back healthy after its change.
    #[serde(default = "default_rollout_settle", with = "humantime_serde")]
    pub settle: Duration,
}

fn default_rollout_batch() -> u64 {
    5
}

fn default_rollout_pause() -> Duration {
    Duration::from_secs(60)
}

fn default_rollout_settle() -> Duration {
    Duration::from_secs(30)
}

impl Default for RolloutsConfig {
    fn default() -> Self {
        RolloutsConfig {
            batch: default_rollout_batch(),
            pause: default_rollout_pause(),
            error_budget: 0,
            settle: default_rollout_settle(),
        }
    }
}

/// `[deploy]`: defaults for `/deploy` when the operator names only an instance.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployConfig {
    /// The provider used when `/deploy` has no `--provider`.
    #[serde(default = "default_provider")]
    pub provider: String,
    /// The region used when `/deploy` names none.
    #[serde(default = "default_region")]
    pub region: String,
    /// The size used when `/deploy` has no `--size`.
    #[serde(default = "default_size")]
    pub size: String,
    /// The OpenClaw version every instance is pinned to.
    #[serde(default = "default_openclaw")]
    pub openclaw_version: String,
    /// The Node.js version installed on hosts whose Node is missing or too old.
    #[serde(default = "default_node")]
    pub node_version: String,
    /// Where hosts download Node.js from: "nodejs" (nodejs.org) or "npm" (the
    /// node-linux-<arch> package from `npm_registry`).
    #[serde(default = "default_node_source")]
    pub node_source: NodeSource,
    /// The npm registry hosts install from (OpenClaw, and Node.js when node_source = "npm").
    #[serde(default = "default_registry")]
    pub npm_registry: String,
    /// The npm version installed beside Node.js when node_source = "npm".
    #[serde(default = "default_npm")]
    pub npm_version: String,
    /// The gateway's port on each host's loopback (never opened to the network).
    #[serde(default = "default_gateway_port")]
    pub gateway_port: u16,
    /// The model failover chain written to each gateway, primary first (empty: leave it).
    #[serde(default)]
    pub models: Vec<String>,
}

fn default_node() -> String {
    "24.21.0".into()
}
fn default_node_source() -> NodeSource {
    NodeSource::Nodejs
}
fn default_registry() -> String {
    "https://registry.npmjs.org".into()
}
fn default_npm() -> String {
    "11.21.2".into()
}
fn default_gateway_port() -> u16 {
    18789
}

fn default_provider() -> String {
    "sim".into()
}
fn default_region() -> String {
    "nbg1".into()
}
fn default_size() -> String {
    "cx22".into()
}
fn default_openclaw() -> String {
    "2026.9.6".into()
}

impl Default for DeployConfig {
    fn default() -> Self {
        DeployConfig {
            provider: default_provider(),
            region: default_region(),
            size: default_size(),
            openclaw_version: default_openclaw(),
            node_version: default_node(),
            node_source: default_node_source(),
            npm_registry: default_registry(),
            npm_version: default_npm(),
            gateway_port: default_gateway_port(),
            models: Vec::new(),
        }
    }
}

/// `[console]`: the terminal surface.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsoleConfig {
    /// Whether `clawops run` also reads commands from this terminal.
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl Default for ConsoleConfig {
    fn default() -> Self {
        ConsoleConfig { enabled: true }
    }
}

/// `[providers.*]`: the clouds clawops may create servers in.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersConfig {
    #[serde(default)]
    pub sim: Option<SimConfig>,
    #[serde(default)]
    pub ssh: Option<SshConfig>,
    /// Hetzner Cloud projects (`[[providers.hetzner]]`), one per API token.
    #[serde(default)]
    pub hetzner: Vec<CloudAccount>,
    /// DigitalOcean teams.
    #[serde(default)]
    pub digitalocean: Vec<CloudAccount>,
    /// Vultr accounts.
    #[serde(default)]
    pub vultr: Vec<CloudAccount>,
    /// Tencent Cloud accounts.
    #[serde(default)]
    pub tencent: Vec<CloudAccount>,
}

/// One account at a cloud. Its secrets may stay out of the file: `token` (Hetzner,
/// DigitalOcean, Vultr) or `secret_id`/`secret_key` (Tencent) are then read from the
/// environment variables named by `token_env` / `secret_id_env` / `secret_key_env`, which
/// default to the provider's usual ones (HCLOUD_TOKEN, DIGITALOCEAN_TOKEN, VULTR_API_KEY,
/// TENCENTCLOUD_SECRET_ID, TENCENTCLOUD_SECRET_KEY).
#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudAccount {
    /// How operators call this account (`--provider NAME`); default: the provider's name.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub token_env: Option<String>,
    #[serde(default)]
    pub secret_id: Option<String>,
    #[serde(default)]
    pub secret_id_env: Option<String>,
    #[serde(default)]
    pub secret_key: Option<String>,
    #[serde(default)]
    pub secret_key_env: Option<String>,
    /// The API's address (tests point it at a fake on loopback).
    #[serde(default)]
    pub api_url: Option<String>,
    /// Tencent: the VPC API's address.
    #[serde(default)]
    pub vpc_url: Option<String>,
    /// Tencent: the image id to start from (Ubuntu 24.04 in your regions).
    #[serde(default)]
    pub image: Option<String>,
}

impl std::fmt::Debug for CloudAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudAccount")
            .field("name", &self.name)
            .field("token", &self.token.as_ref().map(|_| "<hidden>"))
            .field("secret_key", &self.secret_key.as_ref().map(|_| "<hidden>"))
            .field("api_url", &self.api_url)
            .finish()
    }
}

impl CloudAccount {
    /// The account's name, `kind` when none is given.
    pub fn name_or(&self, kind: &str) -> String {
        self.name.clone().unwrap_or_else(|| kind.to_string())
    }
}

impl ProvidersConfig {
    /// Every configured cloud account with its provider kind.
    pub fn clouds(&self) -> Vec<(&'static str, &CloudAccount)> {
        let kinds: [(&'static str, &Vec<CloudAccount>); 4] = [
            ("hetzner", &self.hetzner),
            ("digitalocean", &self.digitalocean),
            ("vultr", &self.vultr),
            ("tencent", &self.tencent),
        ];
        kinds
            .into_iter()
            .flat_map(|(kind, accounts)| accounts.iter().map(move |a| (kind, a)))
            .collect()
    }

    /// The names of every enabled provider.
    pub fn names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.sim.as_ref().is_some_and(|s| s.enabled) {
            names.push("sim".to_string());
        }
        if self.ssh.as_ref().is_some_and(|s| s.enabled) {
            names.push("ssh".to_string());
        }
        names.extend(self.clouds().iter().map(|(kind, a)| a.name_or(kind)));
        names
    }
}

/// Where a host gets Node.js from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeSource {
    /// The official tarball from nodejs.org.
    Nodejs,
    /// The `node-linux-<arch>` package tarball from the npm registry (plus npm itself).
    Npm,
}

/// `[providers.ssh]`: hosts you already have, reached as `ssh://user@host:port`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// A private key (OpenSSH format, no passphrase) that the hosts accept, used only for
    /// the first contact: clawops then authorizes each instance's own key.
    #[serde(default)]
    pub bootstrap_key_file: Option<PathBuf>,
    /// The environment variable holding a password for the first contact instead.
    #[serde(default)]
    pub bootstrap_password_env: Option<String>,
    /// The hosts the bootstrap credential may be offered to: patterns with `*` and `?`
    /// matched against `user@host:port`, `user@host` and `host`. Empty: none.
    #[serde(default)]
    pub bootstrap_hosts: Vec<String>,
    /// The least role that may deploy onto a host you have (default owner): such a
    /// deploy logs in with clawops' credentials to an address a person typed.
    #[serde(default = "owner")]
    pub deploy_role: Role,
}

fn owner() -> Role {
    Role::Owner
}

impl SshConfig {
    /// Whether the bootstrap credential may be offered to `target`.
    pub fn bootstrap_allowed(&self, target: &crate::remote::ssh::Target) -> bool {
        bootstrap_allowed(&self.bootstrap_hosts, target)
    }
}

/// Whether `target` matches one of `patterns` (`user@host:port`, `user@host` or `host`).
pub fn bootstrap_allowed(patterns: &[String], target: &crate::remote::ssh::Target) -> bool {
    let forms = [
        format!("{}@{}:{}", target.user, target.host, target.port),
        format!("{}@{}", target.user, target.host),
        target.host.clone(),
    ];
    patterns.iter().any(|p| {
        let p = p.trim().trim_start_matches("ssh://");
        let pattern = wildmatch::WildMatch::new(p);
        forms.iter().any(|f| pattern.matches(f))
    })
}

/// `[providers.sim]`: the simulated cloud (regions and sizes shaped like Hetzner's).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    #[serde(default = "yes")]
    pub enabled: bool,
    /// How long a new server takes to boot.
    #[serde(default = "default_boot", with = "humantime_serde")]
    pub boot_time: Duration,
    /// How long each simulated host step takes.
    #[serde(default = "default_step", with = "humantime_serde")]
    pub step_time: Duration,
    /// For tests and demos: the deploy step that fails once (e.g. "install-openclaw").
    #[serde(default)]
    pub fail_once_at: Option<String>,
}

fn default_boot() -> Duration {
    Duration::from_secs(2)
}
fn default_step() -> Duration {
    Duration::from_millis(200)
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            enabled: true,
            boot_time: default_boot(),
            step_time: default_step(),
            fail_once_at: None,
        }
    }
}

/// Where a configuration came from, for the start-up note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    BuiltIn,
}

impl Config {
    /// Loads `path`; when it is absent and `fall_back` is set, the built-in defaults.
    pub fn load(path: &Path, fall_back: bool) -> Result<(Config, Source), ConfigError> {
        if !path.exists() && fall_back {
            let config = Config::parse(EXAMPLE, "built-in defaults (config.example.toml)")?;
            return Ok((config, Source::BuiltIn));
        }
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let config = Config::parse(&text, &path.display().to_string())?;
        Ok((config, Source::File(path.to_path_buf())))
    }

    /// Parses and validates a configuration text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.apply_env(|k| std::env::var(k).ok());
        config.validate(origin)?;
        Ok(config)
    }

    /// Secrets may come from the environment instead of the file. No secret exists in this
    /// first set of sections; the store path may be overridden for scripted runs.
    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        if let Some(path) = var("CLAWOPS_STORE_PATH").filter(|p| !p.is_empty()) {
            self.store.path = PathBuf::from(path);
        }
        if let Some(llm) = self.llm.as_mut()
            && let Some(key) = var("CLAWOPS_LLM_API_KEY").filter(|k| !k.is_empty())
        {
            llm.api_key = Some(key);
        }
        if let Some(tg) = self.telegram.as_mut()
            && let Some(token) = var("CLAWOPS_TELEGRAM_TOKEN").filter(|t| !t.is_empty())
        {
            tg.token = Some(token);
        }
        if let Some(dc) = self.discord.as_mut()
            && let Some(token) = var("CLAWOPS_DISCORD_TOKEN").filter(|t| !t.is_empty())
        {
            dc.token = Some(token);
        }
    }

    fn validate(&self, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, problem: String| ConfigError::Invalid {
            path: origin.to_string(),
            key: key.to_string(),
            problem,
        };
        if self.store.path.as_os_str().is_empty() {
            return Err(invalid(
                "store.path",
                "is empty: name a SQLite file, e.g. \"data/clawops.db\"".into(),
            ));
        }
        if let Some(b) = &self.backups {
            Self::validate_backups(b, &invalid)?;
        }
        if !(1..=100).contains(&self.rollouts.batch) {
            return Err(invalid(
                "rollouts.batch",
                format!(
                    "is {}: give the instances per batch, 1 to 100",
                    self.rollouts.batch
                ),
            ));
        }
        if self.alerts.flap_guard == 0 || self.alerts.flap_guard > 60 {
            return Err(invalid(
                "alerts.flap_guard",
                format!(
                    "is {}: give the readings in a row that make a change count, 1 to 60 (2 is usual)",
                    self.alerts.flap_guard
                ),
            ));
        }
        if let Some(hours) = &self.heal.hours
            && let Err(e) = QuietHours::parse(hours, &self.heal.zone)
        {
            return Err(invalid("heal.hours", e));
        }
        if !(0.0..=1.0).contains(&self.heal.brake_share) || self.heal.brake_share == 0.0 {
            return Err(invalid(
                "heal.brake_share",
                format!(
                    "is {}: give the share of instances, above 0 and at most 1 (0.3 = 30 %)",
                    self.heal.brake_share
                ),
            ));
        }
        if self.alerts.repeat_every < Duration::from_secs(60) {
            return Err(invalid(
                "alerts.repeat_every",
                "is under a minute: give e.g. \"30m\"".into(),
            ));
        }
        for (i, op) in self.operators.iter().enumerate() {
            if op.user_id.trim().is_empty() {
                return Err(invalid(
                    &format!("operators[{i}].user_id"),
                    "is empty: give the platform's numeric user id (Telegram: ask @userinfobot)"
                        .into(),
                ));
            }
            if op.platform == Platform::Telegram && !op.user_id.chars().all(|c| c.is_ascii_digit())
            {
                return Err(invalid(
                    &format!("operators[{i}].user_id"),
                    format!(
                        "is {:?}: Telegram user ids are numbers (not @usernames)",
                        op.user_id
                    ),
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, op) in self.operators.iter().enumerate() {
            if !seen.insert((op.platform, op.user_id.as_str())) {
                return Err(invalid(
                    &format!("operators[{i}]"),
                    format!(
                        "repeats {}:{}: give each person one entry and one role",
                        op.platform.as_str(),
                        op.user_id
                    ),
                ));
            }
        }
        if self.safety.confirmation_ttl < Duration::from_secs(10) {
            return Err(invalid(
                "safety.confirmation_ttl",
                "is under 10s: nobody can read and press in time; use e.g. \"5m\"".into(),
            ));
        }
        self.validate_ops_channels(&invalid)?;
        if let Some(tg) = self.telegram.as_ref().filter(|t| t.enabled) {
            self.validate_telegram(tg, origin)?;
        }
        if let Some(dc) = self.discord.as_ref().filter(|d| d.enabled) {
            self.validate_discord(dc, &invalid)?;
        }
        if let Some(llm) = &self.llm {
            if !llm.base_url.starts_with("http://") && !llm.base_url.starts_with("https://") {
                return Err(invalid(
                    "llm.base_url",
                    format!(
                        "{:?} is not a URL: use e.g. \"https://api.openai.com/v1\"",
                        llm.base_url
                    ),
                ));
            }
            if llm.model.trim().is_empty() {
                return Err(invalid(
                    "llm.model",
                    "is empty: name the model, e.g. \"gpt-4.1-mini\"".into(),
                ));
            }
            if llm.max_rounds == 0 || llm.max_rounds > 20 {
                return Err(invalid("llm.max_rounds", "must be 1 to 20".into()));
            }
        }
        self.validate_jobs(&invalid)?;
        self.validate_deploy(&invalid)
    }

    /// The jobs to run: the built-in ones (`crate::jobs::BUILT_IN`), each replaced by a
    /// `[[jobs]]` entry of the same name.
    pub fn jobs(&self) -> Vec<JobConfig> {
        let mut jobs: Vec<JobConfig> = crate::jobs::built_in();
        if self.backups.is_some() {
            jobs.push(crate::jobs::nightly_backups());
        }
        for job in &self.jobs {
            match jobs.iter_mut().find(|j| j.name == job.name) {
                Some(j) => *j = job.clone(),
                None => jobs.push(job.clone()),
            }
        }
        jobs
    }

    fn validate_backups(
        b: &BackupsConfig,
        invalid: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        match url::Url::parse(&b.endpoint) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(invalid(
                    "backups.endpoint",
                    format!(
                        "is {:?}: give the S3 endpoint's URL, e.g. \"https://fsn1.your-objectstorage.com\"",
                        b.endpoint
                    ),
                ));
            }
        }
        let bucket_ok = (3..=63).contains(&b.bucket.len())
            && b.bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !bucket_ok {
            return Err(invalid(
                "backups.bucket",
                format!(
                    "is {:?}: a bucket name is 3 to 63 lowercase letters, digits, dots and dashes",
                    b.bucket
                ),
            ));
        }
        if b.prefix.is_empty() || b.prefix.starts_with('/') || b.prefix.ends_with('/') {
            return Err(invalid(
                "backups.prefix",
                format!(
                    "is {:?}: give a folder in the bucket without leading or trailing /, e.g. \"clawops\"",
                    b.prefix
                ),
            ));
        }
        if b.keep_daily + b.keep_weekly + b.keep_monthly == 0 {
            return Err(invalid(
                "backups.keep_daily",
                "and keep_weekly and keep_monthly are all 0: nothing would be kept".into(),
            ));
        }
        Ok(())
    }

    /// The ops channels on `platform` that get `feed`.
    pub fn ops_channels(&self, platform: Platform, feed: Feed) -> Vec<&OpsChannel> {
        self.ops_channels
            .iter()
            .filter(|c| c.platform == platform && c.gets.contains(&feed))
            .collect()
    }

    fn validate_ops_channels(
        &self,
        invalid: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        if let Some(old) = self.telegram.as_ref().and_then(|t| t.ops_chats.as_ref()) {
            let example = old
                .iter()
                .map(|id| format!("[[ops_channels]]\nplatform = \"telegram\"\nchat_id = {id}"))
                .collect::<Vec<_>>()
                .join("\n");
            return Err(invalid(
                "telegram.ops_chats",
                format!(
                    "has moved: ops chats are now surface-neutral. Remove ops_chats and write one block per chat:\n{example}"
                ),
            ));
        }
        for (i, c) in self.ops_channels.iter().enumerate() {
            let key = |k: &str| format!("ops_channels[{i}].{k}");
            if c.platform == Platform::Console {
                return Err(invalid(
                    &key("platform"),
                    "is console: the console shows everything already; ops channels are telegram or discord chats".into(),
                ));
            }
            if c.platform == Platform::Discord {
                if !self.discord.as_ref().is_some_and(|d| d.enabled) {
                    return Err(invalid(
                        &key("platform"),
                        "is discord, but [discord] is not enabled: the channel would get nothing. Add [discord] (see config.example.toml) or use a telegram chat".into(),
                    ));
                }
                if c.chat_id.snowflake().is_none() {
                    return Err(invalid(
                        &key("chat_id"),
                        format!(
                            "{:?} is not a Discord channel id (a number: Developer Mode on, right-click the channel, Copy Channel ID)",
                            c.chat_id
                        ),
                    ));
                }
            }
            if c.platform == Platform::Telegram && c.chat_id.number().is_none() {
                return Err(invalid(
                    &key("chat_id"),
                    format!(
                        "{:?} is not a Telegram chat id (a number, negative for groups)",
                        c.chat_id
                    ),
                ));
            }
            if c.gets.is_empty() {
                return Err(invalid(
                    &key("gets"),
                    "is empty: name what it gets (notes, alerts, escalations, briefings, pairing), or remove the channel".into(),
                ));
            }
            if let Err(e) = crate::schedule::zone(&c.zone) {
                return Err(invalid(&key("zone"), e.to_string()));
            }
            if let Some(q) = &c.quiet_hours
                && let Err(e) = QuietHours::parse(q, &c.zone)
            {
                return Err(invalid(&key("quiet_hours"), e));
            }
            if let Err(e) = c.briefing_times() {
                let which = if e.contains("time of day") {
                    "briefing_at"
                } else {
                    "weekly_on"
                };
                return Err(invalid(&key(which), e));
            }
        }
        Ok(())
    }

    fn validate_jobs(
        &self,
        invalid: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for (i, job) in self.jobs.iter().enumerate() {
            let key = |k: &str| format!("jobs[{i}].{k}");
            if crate::jobs::JobKind::parse(&job.name).is_none() {
                return Err(invalid(
                    &key("name"),
                    format!(
                        "{:?} is not a job clawops knows; it knows: {}",
                        job.name,
                        crate::jobs::JobKind::ALL
                            .iter()
                            .map(|k| k.name())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
            if !seen.insert(job.name.as_str()) {
                return Err(invalid(
                    &key("name"),
                    format!("{:?} appears twice: one entry per job", job.name),
                ));
            }
            if let Err(e) = job.schedule.parse::<crate::schedule::Schedule>() {
                return Err(invalid(&key("schedule"), e.to_string()));
            }
            if let Err(e) = crate::schedule::zone(&job.zone) {
                return Err(invalid(&key("zone"), e.to_string()));
            }
        }
        if self.watch.sweep_concurrency == 0 || self.watch.sweep_concurrency > 1024 {
            return Err(invalid(
                "watch.sweep_concurrency",
                "must be 1 to 1024".into(),
            ));
        }
        if let Some(url) = &self.watch.heartbeat_url
            && !url.starts_with("http://")
            && !url.starts_with("https://")
        {
            return Err(invalid(
                "watch.heartbeat_url",
                format!("{url:?} is not a URL: use e.g. \"https://hc-ping.com/UUID\""),
            ));
        }
        if let Some(addr) = &self.watch.metrics_listen
            && addr.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(invalid(
                "watch.metrics_listen",
                format!("{addr:?} is not an address: use e.g. \"127.0.0.1:9464\""),
            ));
        }
        if self.watch.probe_timeout < Duration::from_secs(1) {
            return Err(invalid(
                "watch.probe_timeout",
                "is under 1s: a real host cannot answer that fast over SSH; use e.g. \"20s\""
                    .into(),
            ));
        }
        Ok(())
    }

    fn validate_deploy(
        &self,
        invalid: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let names = self.providers.names();
        for (i, name) in names.iter().enumerate() {
            if names[..i].contains(name) {
                return Err(invalid(
                    "providers",
                    format!(
                        "two providers are called {name:?}: give each account its own name = \"...\""
                    ),
                ));
            }
        }
        let d = &self.deploy;
        if !names.contains(&d.provider) {
            return Err(invalid(
                "deploy.provider",
                format!(
                    "is {:?}, which is not an enabled provider; enabled: {} (see [providers.*])",
                    d.provider,
                    names.join(", ")
                ),
            ));
        }
        if d.provider == "ssh" {
            crate::remote::ssh::Target::parse(&d.region).map_err(|why| {
                invalid(
                    "deploy.region",
                    format!("must be a host address like ssh://root@203.0.113.5 when deploy.provider is \"ssh\" ({why})"),
                )
            })?;
        }
        for (kind, account) in self.providers.clouds() {
            if kind == "tencent" && account.image.is_none() {
                return Err(invalid(
                    "providers.tencent.image",
                    "is required: the id of an Ubuntu 24.04 image in your regions (e.g. img-487zeit5)".into(),
                ));
            }
        }
        Ok(())
    }

    fn validate_telegram(&self, tg: &TelegramConfig, origin: &str) -> Result<(), ConfigError> {
        let invalid = |key: &str, problem: &str| ConfigError::Invalid {
            path: origin.to_string(),
            key: key.to_string(),
            problem: problem.to_string(),
        };
        let Some(token) = tg.token.as_deref() else {
            return Err(invalid(
                "telegram.token",
                "is missing: set CLAWOPS_TELEGRAM_TOKEN to the token @BotFather gave you (or set enabled = false)",
            ));
        };
        let well_formed = token.split_once(':').is_some_and(|(id, secret)| {
            !id.is_empty()
                && id.chars().all(|c| c.is_ascii_digit())
                && secret.len() >= 20
                && secret
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        });
        if !well_formed {
            // The token itself is never echoed.
            return Err(invalid(
                "telegram.token",
                "does not look like a bot token (digits, a colon, then letters): copy it again from @BotFather",
            ));
        }
        if !tg.api_url.starts_with("http://") && !tg.api_url.starts_with("https://") {
            return Err(invalid(
                "telegram.api_url",
                "must start with https:// (leave it out to use https://api.telegram.org)",
            ));
        }
        if !self
            .operators
            .iter()
            .any(|o| o.platform == Platform::Telegram)
        {
            return Err(invalid(
                "operators",
                "has nobody with platform = \"telegram\": add your numeric Telegram user id, or nobody can use the bot",
            ));
        }
        Ok(())
    }

    fn validate_discord(
        &self,
        dc: &DiscordConfig,
        invalid: &dyn Fn(&str, String) -> ConfigError,
    ) -> Result<(), ConfigError> {
        let Some(token) = dc.token.as_deref() else {
            return Err(invalid(
                "discord.token",
                "is missing: set CLAWOPS_DISCORD_TOKEN to the bot token (Developer Portal → Bot → Reset Token), or set enabled = false".into(),
            ));
        };
        // A bot token is three dot-separated base64url parts; the token is never echoed.
        let parts: Vec<&str> = token.trim().split('.').collect();
        let well_formed = parts.len() == 3
            && parts.iter().all(|p| {
                !p.is_empty()
                    && p.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            });
        if !well_formed {
            return Err(invalid(
                "discord.token",
                "does not look like a bot token (three parts separated by dots): copy it again from the Developer Portal (Bot → Reset Token)".into(),
            ));
        }
        if dc.application_id.snowflake().is_none() {
            return Err(invalid(
                "discord.application_id",
                format!(
                    "{:?} is not an application id (a number: Developer Portal → General Information → Application ID)",
                    dc.application_id
                ),
            ));
        }
        for (list, ids) in [("guilds", &dc.guilds), ("channels", &dc.channels)] {
            for (i, id) in ids.iter().enumerate() {
                if id.snowflake().is_none() {
                    return Err(invalid(
                        &format!("discord.{list}[{i}]"),
                        format!(
                            "{id:?} is not a Discord id (a number: Developer Mode on, right-click, Copy ID)"
                        ),
                    ));
                }
            }
        }
        if !dc.channels.is_empty() && dc.guilds.is_empty() {
            return Err(invalid(
                "discord.channels",
                "names channels but discord.guilds is empty: list the servers those channels are in".into(),
            ));
        }
        for (i, grant) in dc.roles.iter().enumerate() {
            if grant.role_id.snowflake().is_none() {
                return Err(invalid(
                    &format!("discord.roles[{i}].role_id"),
                    format!(
                        "{:?} is not a role id (Server Settings → Roles → right-click → Copy Role ID)",
                        grant.role_id
                    ),
                ));
            }
            if grant.role == Role::Owner {
                return Err(invalid(
                    &format!("discord.roles[{i}].role"),
                    "is owner: a guild role grants at most operator; name owners by user id in [[operators]]".into(),
                ));
            }
        }
        for (i, op) in self.operators.iter().enumerate() {
            if op.platform == Platform::Discord && op.user_id.trim().parse::<u64>().is_err() {
                return Err(invalid(
                    &format!("operators[{i}].user_id"),
                    format!(
                        "is {:?}: Discord user ids are numbers (Developer Mode on, right-click your name, Copy User ID)",
                        op.user_id
                    ),
                ));
            }
        }
        let someone = self
            .operators
            .iter()
            .any(|o| o.platform == Platform::Discord)
            || !dc.roles.is_empty();
        if !someone {
            return Err(invalid(
                "operators",
                "has nobody with platform = \"discord\" and [[discord.roles]] grants nothing: add your Discord user id, or nobody can use the bot".into(),
            ));
        }
        Ok(())
    }

    /// The role of a platform user, if they are an operator at all. The console user is
    /// the person at the terminal, who already holds the machine: always the owner.
    pub fn role_of(&self, platform: Platform, user_id: &str) -> Option<Role> {
        if platform == Platform::Console {
            return Some(Role::Owner);
        }
        self.operators
            .iter()
            .find(|o| o.platform == platform && o.user_id == user_id)
            .map(|o| o.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_ops_chats_says_where_it_moved() {
        let err = Config::parse(
            "[store]\npath = \"x.db\"\n[telegram]\nops_chats = [111]\n",
            "old.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("telegram.ops_chats"), "{err}");
        assert!(
            err.contains("[[ops_channels]]") && err.contains("chat_id = 111"),
            "{err}"
        );
    }

    #[test]
    fn ops_channels_are_checked_and_quiet_hours_run_over_midnight() {
        let c = Config::parse(
            "[store]\npath = \"x.db\"\n[providers.sim]\nenabled = true\n[[ops_channels]]\nplatform = \"telegram\"\nchat_id = -100123\nquiet_hours = \"22:00-07:00\"\nzone = \"Europe/Berlin\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.ops_channels(Platform::Telegram, Feed::Notes).len(), 1);
        let q = c.ops_channels[0].quiet().unwrap();
        let at = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .with_timezone(&chrono::Utc)
        };
        // 23:30 and 06:30 Berlin (winter, UTC+1) are quiet; 12:00 is not.
        assert!(q.contains(at("2026-12-02T22:30:00Z")));
        assert!(q.contains(at("2026-12-02T05:30:00Z")));
        assert!(!q.contains(at("2026-12-02T11:00:00Z")));
        for (bad, says) in [
            ("quiet_hours = \"late\"", "window of hours"),
            ("gets = []", "is empty"),
        ] {
            let err = Config::parse(
                &format!("[store]\npath = \"x.db\"\n[[ops_channels]]\nplatform = \"telegram\"\nchat_id = 1\n{bad}\n"),
                "t",
            )
            .unwrap_err()
            .to_string();
            assert!(err.contains(says), "{err}");
        }
        let err = Config::parse(
            "[store]\npath = \"x.db\"\n[[ops_channels]]\nplatform = \"discord\"\nchat_id = \"123\"\n",
            "t",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("[discord] is not enabled"), "{err}");
    }

    const DISCORD: &str = "[store]\npath = \"x.db\"\n[[operators]]\nplatform = \"discord\"\nuser_id = \"80351110224678912\"\nrole = \"owner\"\n[discord]\ntoken = \"MTA1.Gx4b_c.abc-DEF\"\napplication_id = \"1100000000000000001\"\nguilds = [\"1200000000000000001\"]\n[providers.sim]\n";

    #[test]
    fn a_discord_surface_with_an_ops_channel_checks_out() {
        let text = format!(
            "{DISCORD}[[ops_channels]]\nplatform = \"discord\"\nchat_id = \"1300000000000000001\"\n"
        );
        let c = Config::parse(&text, "t").unwrap();
        let dc = c.discord.as_ref().unwrap();
        assert!(dc.answers_in(1200000000000000001, 99));
        assert!(!dc.answers_in(5, 99));
        assert_eq!(c.ops_channels(Platform::Discord, Feed::Alerts).len(), 1);
        assert!(!format!("{dc:?}").contains("abc-DEF"));
    }

    #[test]
    fn discord_settings_that_cannot_work_are_named() {
        let cases = [
            (
                DISCORD.replace("MTA1.Gx4b_c.abc-DEF", "not a token"),
                "discord.token",
            ),
            (
                DISCORD.replace("\"1100000000000000001\"", "\"my-app\""),
                "discord.application_id",
            ),
            (
                DISCORD.replace("\"1200000000000000001\"", "\"guild\""),
                "discord.guilds[0]",
            ),
            (
                DISCORD.replace("\"80351110224678912\"", "\"@alice\""),
                "operators[0].user_id",
            ),
            (
                format!("{DISCORD}[[discord.roles]]\nrole_id = \"7\"\nrole = \"owner\"\n"),
                "discord.roles[0].role",
            ),
            (
                format!("{DISCORD}[[ops_channels]]\nplatform = \"discord\"\nchat_id = \"#ops\"\n"),
                "ops_channels[0].chat_id",
            ),
        ];
        for (text, key) in cases {
            let err = Config::parse(&text, "t").unwrap_err().to_string();
            assert!(err.contains(&format!("`{key}`")), "{key}: {err}");
            assert!(!err.contains("abc-DEF"), "{err}");
        }
    }

    #[test]
    fn a_guild_role_grants_at_most_operator() {
        let c = Config::parse(
            &format!("{DISCORD}[[discord.roles]]\nrole_id = \"7\"\nrole = \"operator\"\n[[discord.roles]]\nrole_id = \"8\"\nrole = \"viewer\"\n"),
            "t",
        )
        .unwrap();
        let dc = c.discord.as_ref().unwrap();
        assert_eq!(dc.granted(&[8]), Some(Role::Viewer));
        assert_eq!(dc.granted(&[8, 7]), Some(Role::Operator));
        assert_eq!(dc.granted(&[9]), None);
    }

    #[test]
    fn example_config_is_valid() {
        let c = Config::parse(EXAMPLE, "example").unwrap();
        assert!(c.providers.sim.unwrap().enabled);
        assert_eq!(c.safety.confirm_bulk_over, 3);
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::parse(
            "[store]\npath='x.db'\n[safety]\nconfirm_bulk_ovr = 3\n",
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("confirm_bulk_ovr"), "{err}");
    }

    #[test]
    fn telegram_username_is_rejected_with_fix() {
        let err = Config::parse(
            "[store]\npath='x.db'\n[providers.sim]\n[[operators]]\nplatform='telegram'\nuser_id='@bob'\nrole='owner'\n",
            "t.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("operators[0].user_id"), "{err}");
        assert!(err.contains("numbers"), "{err}");
    }

    #[test]
    fn console_is_owner_and_strangers_have_no_role() {
        let c = Config::parse(EXAMPLE, "example").unwrap();
        assert_eq!(c.role_of(Platform::Console, "anyone"), Some(Role::Owner));
        assert_eq!(c.role_of(Platform::Telegram, "999"), None);
    }
}
