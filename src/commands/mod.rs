//! One file per command. Each `run` reads like the runbook step it replaces
//! and returns after printing its report; the work lives in `pipeline`,
//! `db` and `storage`.

pub mod backup;
pub mod config;
pub mod health;
pub mod packaging;
pub mod restore;
pub mod verify;

use std::sync::Arc;

use anyhow::Result;

use crate::cli::{BackupCommand, Command, ConfigCommand};
use crate::config::{DotEnv, Settings};
use crate::db::ConnInfo;
use crate::output::{Printer, Progress};
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

    /// The same, shareable with reader threads.
    pub fn shared_progress(&self, labels: (&'static str, &'static str)) -> Arc<Progress> {
        Arc::new(self.progress(labels))
    }
}

pub async fn dispatch(command: Command, ctx: &Context) -> Result<()> {
    match command {
        Command::Backup(BackupCommand::Run(args)) => backup::run(ctx, args).await,
        Command::Backup(BackupCommand::List(args)) => {
            interruptible(ctx, backup::list(ctx, args)).await
        }
        Command::Backup(BackupCommand::Show(args)) => {
            interruptible(ctx, backup::show(ctx, args)).await
        }
        Command::Backup(BackupCommand::Verify(args)) => verify::run(ctx, args).await,
        Command::Restore(args) => restore::run(ctx, args).await,
        Command::Health(args) => health::run(ctx, args).await,
        Command::Config(ConfigCommand::Show) => config::show(ctx),
        Command::Completions(args) => packaging::completions(args),
        Command::Man(args) => packaging::man(args),
    }
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
