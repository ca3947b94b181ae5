//! Watching the watcher: the figures clawops keeps about the fleet and itself, served in
//! Prometheus' text format on `[watch] metrics_listen` (off unless set; bind it to
//! loopback and scrape through a tunnel or a local agent), and the dead-man's-switch
//! ping to `[watch] heartbeat_url` after each sweep.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio_util::sync::CancellationToken;

use crate::ops::sweep::SweepReport;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabel {
    job: String,
}

/// The figures, shared by the sweep, the scheduler and the endpoint.
pub struct Metrics {
    registry: Registry,
    instances: Family<StateLabel, Gauge>,
    sweep_seconds: Histogram,
    probes: Counter,
    probe_failures: Counter,
    busy_skipped: Counter,
    job_runs: Family<JobLabel, Counter>,
    job_failures: Family<JobLabel, Counter>,
    jobs_skipped: Family<JobLabel, Counter>,
    jobs_running: Gauge,
    alerts_sent: Counter,
    incidents_open: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("clawops");
        let instances = Family::<StateLabel, Gauge>::default();
        registry.register(
            "instances",
            "Ready instances by health state at the last sweep",
            instances.clone(),
        );
        let sweep_seconds = Histogram::new([0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0]);
        registry.register(
            "sweep_duration_seconds",
            "How long one health sweep took",
            sweep_seconds.clone(),
        );
        let probes = Counter::default();
        registry.register("probes", "Hosts probed by sweeps", probes.clone());
        let probe_failures = Counter::default();
        registry.register(
            "probe_failures",
            "Probes that got no answer (UNREACHABLE)",
            probe_failures.clone(),
        );
        let busy_skipped = Counter::default();
        registry.register(
            "sweep_busy_skipped",
            "Instances a sweep left alone because an action held them",
            busy_skipped.clone(),
        );
        let job_runs = Family::<JobLabel, Counter>::default();
        registry.register("job_runs", "Job runs started", job_runs.clone());
        let job_failures = Family::<JobLabel, Counter>::default();
        registry.register("job_failures", "Job runs that failed", job_failures.clone());
        let jobs_skipped = Family::<JobLabel, Counter>::default();
        registry.register(
            "job_ticks_skipped",
            "Ticks skipped because the job's previous run was still going",
            jobs_skipped.clone(),
        );
        let jobs_running = Gauge::default();
        registry.register("jobs_running", "Job runs in progress", jobs_running.clone());
        let alerts_sent = Counter::default();
        registry.register(
            "alerts_sent",
            "Alert messages sent (one incident, or a group)",
            alerts_sent.clone(),
        );
        let incidents_open = Gauge::default();
        registry.register(
            "incidents_open",
            "Incidents not resolved yet",
            incidents_open.clone(),
        );
        Metrics {
            alerts_sent,
            incidents_open,
            registry,
            instances,
            sweep_seconds,
            probes,
            probe_failures,
            busy_skipped,
            job_runs,
            job_failures,
            jobs_skipped,
            jobs_running,
        }
    }

    /// What one sweep saw.
    pub fn sweep(&self, r: &SweepReport) {
        for (state, n) in [
            ("HEALTHY", r.healthy),
            ("DEGRADED", r.degraded),
            ("OFFLINE", r.offline),
            ("UNREACHABLE", r.unreachable),
        ] {
            self.instances
                .get_or_create(&StateLabel {
                    state: state.into(),
                })
                .set(n as i64);
        }
        self.sweep_seconds.observe(r.elapsed.as_secs_f64());
        self.probes.inc_by(r.probed as u64);
        self.probe_failures.inc_by(r.unreachable as u64);
        self.busy_skipped.inc_by(r.busy as u64);
    }

    /// A job run began; the returned guard counts it as running until dropped.
    pub fn job_started(self: &Arc<Self>, job: &str) -> RunningJob {
        self.job_runs.get_or_create(&label(job)).inc();
        self.jobs_running.inc();
        RunningJob {
            metrics: self.clone(),
        }
    }

    /// One alert message went out.
    pub fn alert_sent(&self) {
        self.alerts_sent.inc();
    }

    /// Incidents open after an alert pass.
    pub fn incidents(&self, open: usize) {
        self.incidents_open.set(open as i64);
    }

    pub fn job_failed(&self, job: &str) {
        self.job_failures.get_or_create(&label(job)).inc();
    }

    pub fn job_skipped(&self, job: &str) {
        self.jobs_skipped.get_or_create(&label(job)).inc();
    }

    /// The figures in Prometheus' text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "cannot encode the metrics");
        }
        out
    }
}

fn label(job: &str) -> JobLabel {
    JobLabel { job: job.into() }
}

/// Counts a job as running while it lives.
pub struct RunningJob {
    metrics: Arc<Metrics>,
}

impl Drop for RunningJob {
    fn drop(&mut self) {
        self.metrics.jobs_running.dec();
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [(
                        axum::http::header::CONTENT_TYPE,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    )],
                    metrics.render(),
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

/// Pings the dead-man's switch at `url`; a failure is logged, never fatal.
pub async fn heartbeat(url: &str) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "heartbeat: cannot build a client");
            return;
        }
    };
    match client.get(url).send().await {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => tracing::warn!(status = %r.status(), "heartbeat: not accepted"),
        // Without the URL: a ping URL is a credential of the heartbeat service.
        Err(e) => tracing::warn!(error = %e.without_url(), "heartbeat: not delivered"),
    }
}
