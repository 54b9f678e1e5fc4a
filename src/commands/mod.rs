//! One file per command. Each `run` reads like the runbook step it replaces
//! and returns after printing its report; the work lives in `pipeline`,
//! `db` and `storage`.

pub mod backup;
pub mod config;
pub mod packaging;
pub mod prune;
pub mod restore;
pub mod verify;

use std::sync::Arc;

use anyhow::Result;

use crate::cli::{BackupCommand, Command, ConfigCommand};
use crate::config::{DotEnv, Settings};
use crate::db::ConnInfo;
use crate::exit;
use crate::notify::{Notifier, Subject};
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
        ConnInfo::parse(self.settings.require_database_url()?)
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

pub async fn dispatch(command: Command, ctx: &Context) -> Result<()> {
    match command {
        Command::Backup(BackupCommand::Run(args)) => {
            let about = database_name(ctx);
            notified(ctx, "backup run", about, true, backup::run(ctx, args)).await
        }
        Command::Backup(BackupCommand::List(args)) => {
            interruptible(ctx, backup::list(ctx, args)).await
        }
        Command::Backup(BackupCommand::Show(args)) => {
            interruptible(ctx, backup::show(ctx, args)).await
        }
        Command::Backup(BackupCommand::Verify(args)) => {
            let about = args.id.clone().unwrap_or_else(|| "latest backup".into());
            notified(ctx, "backup verify", about, true, verify::run(ctx, args)).await
        }
        Command::Backup(BackupCommand::Prune(args)) => {
            let about = storage_name(ctx);
            notified(ctx, "backup prune", about, true, prune::run(ctx, args)).await
        }
        Command::Restore(args) => {
            let about = format!("target {}", args.target);
            notified(ctx, "restore", about, false, restore::run(ctx, args)).await
        }
        Command::Config(ConfigCommand::Show) => config::show(ctx),
        Command::Completions(args) => packaging::completions(args),
        Command::Man(args) => packaging::man(args),
    }
}

/// Run a job with its notifications: pings around it (dead-man's switch)
/// and a failure message. A run refused because another holds the lock is
/// not a failure: the running one reports for both.
async fn notified(
    ctx: &Context,
    command: &'static str,
    about: String,
    pings: bool,
    work: impl std::future::Future<Output = Result<()>>,
) -> Result<()> {
    let notifier = Notifier::new(ctx.settings.notify.clone());
    if pings {
        notifier.started().await;
    }
    let result = work.await;
    match &result {
        Ok(()) if pings => notifier.succeeded().await,
        Ok(()) => {}
        Err(e) => {
            let code = exit::code_for(e);
            if code != exit::ExitCode::Locked {
                let subject = Subject { command, about };
                notifier
                    .failed(&subject, code.as_i32(), &format!("{e:#}"))
                    .await;
            }
        }
    }
    result
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
