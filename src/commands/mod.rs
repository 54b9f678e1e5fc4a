//! One file per command. Each `run` reads like the runbook step it replaces
//! and returns after printing its report; the work lives in `pipeline`,
//! `db` and `storage`.

pub mod backup;
pub mod backup_status;
pub mod config;
pub mod health;
pub mod import;
pub mod packaging;
pub mod provision;
pub mod prune;
pub mod restore;
pub mod tenant_report;
pub mod tenant_restore;
pub mod verify;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;

use crate::cli::{BackupCommand, ConfigCommand, ImportCommand, Operation, ProvisionCommand};
use crate::config::{DotEnv, Settings};
use crate::db::ConnInfo;
use crate::exit;
use crate::notify::{Notifier, Subject};
use crate::output::prometheus::{self, Gauge};
use crate::output::{Printer, Progress};
use crate::pipeline::encryption;
use crate::pipeline::manifest::BackupManifest;
use crate::signals::Interrupt;
use crate::storage::{self, ObjectStore};

/// What every command gets: resolved settings, the printer, the interrupt.
pub struct Context {
    pub settings: Settings,
    pub printer: Printer,
    pub interrupt: Interrupt,
    pub dotenv: DotEnv,
    /// Whether stderr is a terminal (progress bars, prompts).
    pub interactive: bool,
}

impl Context {
    pub fn conn(&self) -> Result<ConnInfo> {
        ConnInfo::parse_with(
            self.settings.require_database_url()?,
            self.settings.connect_timeout,
        )
    }

    pub async fn store(&self) -> Result<Box<dyn ObjectStore>> {
        storage::open(self.settings.require_storage()?).await
    }

    /// Progress for a transfer: bars on a terminal, log lines otherwise,
    /// nothing with --quiet.
    pub fn progress(&self, labels: (&'static str, &'static str)) -> Progress {
        let quiet = self.settings.output.quiet;
        Progress::new(
            labels,
            self.settings.output.progress,
            !quiet && !self.settings.output.progress,
        )
    }

    /// The keys to decrypt `manifest`'s backup, when it is encrypted: from
    /// `--identity`, else the configured identity file. Loaded before
    /// anything is touched, so a missing key fails early.
    pub fn identities_for(
        &self,
        flag: Option<&std::path::Path>,
        manifest: Option<&BackupManifest>,
    ) -> Result<Option<Arc<Vec<age::x25519::Identity>>>> {
        let Some(encryption) = manifest.and_then(|m| m.encryption.as_ref()) else {
            return Ok(None);
        };
        let path = flag.or(self.settings.backup.identity_file.as_deref()).ok_or_else(|| {
            crate::exit::usage(format!(
                "this backup is encrypted to {}: pass --identity FILE (or set K12CTL_IDENTITY_FILE)",
                encryption.recipients.join(", ")
            ))
        })?;
        Ok(Some(Arc::new(encryption::load_identities(path)?)))
    }

    /// The same, shareable with reader threads.
    pub fn shared_progress(&self, labels: (&'static str, &'static str)) -> Arc<Progress> {
        Arc::new(self.progress(labels))
    }
}

pub async fn dispatch(command: Operation, ctx: &Context) -> Result<()> {
    match command {
        Operation::Backup(BackupCommand::Run(args)) => {
            let job = Job::new(
                "backup run",
                database_name(ctx),
                true,
                &args.prometheus_file,
            );
            job.run(ctx, backup::run(ctx, args)).await
        }
        Operation::Backup(BackupCommand::List(args)) => {
            interruptible(ctx, backup::list(ctx, args)).await
        }
        Operation::Backup(BackupCommand::Show(args)) => {
            interruptible(ctx, backup::show(ctx, args)).await
        }
        Operation::Backup(BackupCommand::Status) => {
            interruptible(ctx, backup_status::run(ctx)).await
        }
        Operation::Backup(BackupCommand::Verify(args)) => {
            let about = args.id.clone().unwrap_or_else(|| "latest backup".into());
            let job = Job::new("backup verify", about, true, &args.prometheus_file);
            job.run(ctx, verify::run(ctx, args)).await
        }
        Operation::Backup(BackupCommand::Prune(args)) => {
            let job = Job::new(
                "backup prune",
                storage_name(ctx),
                true,
                &args.prometheus_file,
            );
            job.run(ctx, prune::run(ctx, args)).await
        }
        Operation::Restore(args) if args.tenant.is_some() => {
            let about = format!(
                "tenant {} into target {}",
                args.tenant.as_deref().unwrap_or_default(),
                args.target
            );
            let job = Job::new("restore", about, false, &None);
            job.run(ctx, async {
                tenant_restore::run(ctx, args).await.map(|()| Vec::new())
            })
            .await
        }
        Operation::Restore(args) => {
            let job = Job::new("restore", format!("target {}", args.target), false, &None);
            job.run(ctx, async {
                restore::run(ctx, args).await.map(|()| Vec::new())
            })
            .await
        }
        Operation::Provision(ProvisionCommand::School(args)) => {
            interruptible(ctx, provision::school(ctx, args)).await
        }
        Operation::Provision(ProvisionCommand::Status(args)) => {
            interruptible(ctx, provision::status(ctx, args)).await
        }
        Operation::Import(ImportCommand::Csv(args)) => {
            interruptible(ctx, import::csv(ctx, args)).await
        }
        Operation::Health(args) => health::run(ctx, args).await,
        Operation::Config(ConfigCommand::Show) => config::show(ctx),
    }
}

/// A job that timers run: notifications (pings around it, a message on
/// failure) and, when asked, its gauges in a Prometheus file. A run refused
/// because another holds the lock is not a failure: the running one reports.
struct Job {
    command: &'static str,
    about: String,
    pings: bool,
    metrics_file: Option<PathBuf>,
}

impl Job {
    fn new(
        command: &'static str,
        about: String,
        pings: bool,
        metrics_file: &Option<PathBuf>,
    ) -> Self {
        Self {
            command,
            about,
            pings,
            metrics_file: metrics_file.clone(),
        }
    }

    async fn run(
        self,
        ctx: &Context,
        work: impl std::future::Future<Output = Result<Vec<Gauge>>>,
    ) -> Result<()> {
        let notifier = Notifier::new(ctx.settings.notify.clone());
        if self.pings {
            notifier.started().await;
        }
        let started = chrono::Utc::now();
        let result = work.await;
        let code = result.as_ref().err().map(exit::code_for);
        match &result {
            Ok(_) if self.pings => notifier.succeeded().await,
            Ok(_) => {}
            Err(_) if code == Some(exit::ExitCode::Locked) => {}
            Err(e) => {
                let subject = Subject {
                    command: self.command,
                    about: self.about.clone(),
                };
                let code = code.unwrap_or(exit::ExitCode::Failure).as_i32();
                notifier.failed(&subject, code, &format!("{e:#}")).await;
            }
        }
        if let Some(path) = &self.metrics_file {
            let gauges = result.as_deref().unwrap_or_default();
            let code = code.map(|c| c.as_i32()).unwrap_or(0);
            let text = job_metrics(path, self.command, started, code, gauges);
            if let Err(e) = prometheus::write_atomically(path, &text) {
                tracing::error!("cannot write the metrics file: {e:#}");
            }
        }
        result.map(|_| ())
    }
}

/// The standard gauges of a job run, plus the job's own.
fn job_metrics(
    path: &std::path::Path,
    command: &str,
    started: chrono::DateTime<chrono::Utc>,
    exit_code: i32,
    extra: &[Gauge],
) -> String {
    let job = format!("k12ctl_{}", command.replace(' ', "_"));
    let now = chrono::Utc::now();
    let success_name = format!("{job}_last_success_timestamp_seconds");
    let last_success = if exit_code == 0 {
        Some(now.timestamp() as f64)
    } else {
        prometheus::previous_value(path, &success_name)
    };
    let mut gauges = vec![
        Gauge::new(
            format!("{job}_last_run_timestamp_seconds"),
            "When the last run ended (Unix time).",
            now.timestamp() as f64,
        ),
        Gauge::new(
            format!("{job}_success"),
            "1 if the last run succeeded, 0 if it failed.",
            f64::from(u8::from(exit_code == 0)),
        ),
        Gauge::new(
            format!("{job}_exit_code"),
            "Exit code of the last run.",
            f64::from(exit_code),
        ),
        Gauge::new(
            format!("{job}_duration_seconds"),
            "How long the last run took.",
            (now - started).num_milliseconds() as f64 / 1000.0,
        ),
    ];
    if let Some(t) = last_success {
        gauges.push(Gauge::new(
            success_name,
            "When the last successful run ended (Unix time).",
            t,
        ));
    }
    gauges.extend(extra.iter().map(|g| Gauge {
        name: format!("{job}_{}", g.name),
        ..g.clone()
    }));
    prometheus::render(&gauges)
}

fn database_name(ctx: &Context) -> String {
    ctx.conn()
        .map(|c| format!("database {}", c.dbname))
        .unwrap_or_else(|_| "no database configured".into())
}

fn storage_name(ctx: &Context) -> String {
    ctx.settings
        .storage
        .as_ref()
        .map(|s| crate::secret::redact_url(&s.url))
        .unwrap_or_else(|| "no storage configured".into())
}

/// Commands with nothing to clean up simply stop on a signal.
async fn interruptible(
    ctx: &Context,
    work: impl std::future::Future<Output = Result<()>>,
) -> Result<()> {
    tokio::select! {
        r = work => r,
        sig = ctx.interrupt.wait() => Err(sig.into()),
    }
}
