//! `restore --tenant SUBDOMAIN`: one school out of a full backup, without
//! rolling any other school back.
//!
//! Runbook: pick the backup as `restore` does; restore it into a scratch
//! database (tables and rows only, always dropped); find the tenant there;
//! for an extract, create the new database with the backup's schema. Then,
//! in one transaction on the target: stage the tenant's rows with binary
//! COPY, compare them with what is there, look for conflicts. The scratch
//! copy goes; the plan is shown and the subdomain typed; the missing rows
//! go in parents first, counter caches are recomputed, commit. A conflict,
//! a dry run or a refusal rolls back: nothing is written, and an extract's
//! new database is removed again.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use chrono::Utc;
use tokio_postgres::Client;

use super::restore::{check_status, confirm_by_typing, find_source};
use super::tenant_report::{Mode, TenantRestoreReport};
use super::Context;
use crate::cli::RestoreArgs;
use crate::db::schema::Catalog;
use crate::db::tenant::{self, Plan};
use crate::db::{self, admin, ConnInfo};
use crate::exit;
use crate::output::tables;
use crate::pipeline::backup::application_name;
use crate::pipeline::manifest::BackupManifest;
use crate::pipeline::tenant::{apply_schema, restore_scratch, ScratchCopy, StoredBackup};
use crate::pipeline::ProgressSink;

/// How many differing rows the confirmation and the report list.
const DIFFERING_LISTED: i64 = 200;

pub async fn run(ctx: &Context, args: RestoreArgs) -> Result<()> {
    let mode =
        match (args.merge, args.create) {
            (true, false) => Mode::Merge,
            (false, true) => Mode::Extract,
            _ => return Err(exit::usage(
                "restore --tenant needs --merge (put the tenant's missing rows back into a live \
                 database) or --create (extract the tenant into a new database)",
            )),
        };
    let slug = args.tenant.clone().unwrap_or_default();
    let conn = ctx.conn()?;
    let (store, source) = find_source(ctx, &args).await?;
    check_status(&source, args.allow_unverified)?;
    let manifest = source
        .manifest
        .as_ref()
        .context("restore --tenant needs a backup with a manifest (--backup ID or --latest)")?;
    let identities = ctx.identities_for(args.identity.as_deref(), Some(manifest))?;
    let admin_client = db::connect(&conn, &application_name("restore --tenant")).await?;
    let target = conn.with_dbname(&args.target);
    check_target(&admin_client, &target, mode).await?;

    let clock = Instant::now();
    let backup = StoredBackup {
        store: store.as_ref(),
        manifest,
        pg_bindir: ctx.settings.backup.pg_bindir.as_deref(),
        identities,
    };
    let progress = ctx.shared_progress(("downloaded", "restored"));
    let scratch = restore_scratch(&backup, &conn, progress.clone(), &ctx.interrupt).await?;
    let mut scratch = Some(scratch);
    let job = Job {
        ctx,
        args: &args,
        mode,
        slug: &slug,
        backup: &backup,
        target: &target,
        admin: &admin_client,
        progress: progress.clone(),
    };
    let outcome = tokio::select! {
        r = job.run(&mut scratch) => r,
        sig = ctx.interrupt.wait() => Err(sig.into()),
    };
    if let Some(s) = scratch.take() {
        s.remove().await;
    }
    progress.finish();
    // check_target saw no such database: if an extract's exists now, this run made it.
    let created = mode == Mode::Extract
        && admin::database_exists(&admin_client, &target.dbname)
            .await
            .unwrap_or(true);
    let report = match outcome {
        Ok(report) => report,
        Err(e) => {
            let what = if created && remove_target(&admin_client, &target).await {
                format!(
                    "nothing was restored; database {} was removed again",
                    target.dbname
                )
            } else {
                format!(
                    "nothing was restored; database {} is as it was",
                    target.dbname
                )
            };
            return Err(e.context(what));
        }
    };
    if created && !report.committed {
        remove_target(&admin_client, &target).await;
    }
    let report = TenantRestoreReport {
        duration_seconds: clock.elapsed().as_secs_f64(),
        ..report
    };
    ctx.printer.print(&report)?;
    if !report.conflicts.is_empty() {
        return Err(exit::rejected(format!(
            "{} row(s) of tenant {slug} cannot go back (listed above); nothing was written",
            report.conflicts.len()
        )));
    }
    Ok(())
}

/// A merge needs the target to exist, an extract needs it not to.
async fn check_target(admin: &Client, target: &ConnInfo, mode: Mode) -> Result<()> {
    let exists = admin::database_exists(admin, &target.dbname).await?;
    match (mode, exists) {
        (Mode::Merge, false) => Err(exit::usage(format!(
            "database {} does not exist on {} (a merge goes into a live database; to extract \
             the tenant into a new one, use --create)",
            target.dbname,
            target.server()
        ))),
        (Mode::Extract, true) => Err(exit::usage(format!(
            "database {} already exists on {}: --create extracts into a new database (to put \
             rows back into this one, use --merge)",
            target.dbname,
            target.server()
        ))),
        _ => Ok(()),
    }
}

/// Drop an extract's database; whether it went.
async fn remove_target(admin: &Client, target: &ConnInfo) -> bool {
    match admin::drop_database(admin, &target.dbname).await {
        Ok(()) => true,
        Err(e) => {
            tracing::error!("{e:#}");
            false
        }
    }
}

struct Job<'a> {
    ctx: &'a Context,
    args: &'a RestoreArgs,
    mode: Mode,
    slug: &'a str,
    backup: &'a StoredBackup<'a>,
    target: &'a ConnInfo,
    admin: &'a Client,
    progress: Arc<crate::output::Progress>,
}

impl Job<'_> {
    /// From the scratch copy to a committed (or rolled back) transaction.
    /// The scratch copy is removed as soon as the rows are staged.
    async fn run(&self, scratch: &mut Option<ScratchCopy>) -> Result<TenantRestoreReport> {
        let m = self.backup.manifest;
        let copy = scratch.as_ref().context("no scratch copy")?;
        let tenant_id =
            tenant::find_tenant(&copy.client, self.slug, &format!("backup {}", m.id)).await?;
        if self.mode == Mode::Extract {
            self.progress.phase("creating the schema");
            admin::create_database(self.admin, &self.target.dbname).await?;
            apply_schema(self.backup, self.target).await?;
        }
        let mut client = db::connect(self.target, &application_name("restore --tenant")).await?;
        let source_catalog = Catalog::read(&copy.client).await?;
        let target_catalog = Catalog::read(&client).await?;
        tenant::require(&target_catalog)?;
        let plan = Plan::new(
            &target_catalog,
            &source_catalog,
            tenant_id,
            self.mode == Mode::Extract,
        )?;
        let tx = client.transaction().await?;
        tenant::lock(&tx, tenant_id, self.slug).await?;
        self.progress.phase("copying the tenant's rows");
        tenant::stage(&tx, &copy.client, &plan, |table, rows| {
            tracing::debug!("staged {rows} rows of {table}");
        })
        .await?;
        if self.mode == Mode::Extract {
            tenant::copy_sequences(&copy.client, &tx).await?;
        }
        if let Some(s) = scratch.take() {
            s.remove().await;
        }
        self.progress.phase("comparing");
        let mut counts = tenant::classify(&tx, &plan).await?;
        let overwrite = self.args.overwrite_changed;
        let conflicts = tenant::conflicts(&tx, &target_catalog, &plan, overwrite).await?;
        let differing = tenant::differing(&tx, &plan, DIFFERING_LISTED).await?;
        self.progress.finish();
        let mut report =
            TenantRestoreReport::new(self.mode, self.slug, tenant_id, m, self.target, &plan);
        report.dry_run = self.args.dry_run;
        report.overwrite_changed = overwrite;
        report.conflicts = conflicts;
        report.differing = differing;
        report.tables = counts.clone();
        if !report.conflicts.is_empty() || self.args.dry_run {
            tx.rollback().await?;
            return Ok(report);
        }
        confirm_by_typing(
            self.ctx,
            self.args.yes,
            &self.summary(m, &report),
            "the subdomain",
            self.slug,
        )
        .await?;
        tenant::write(&tx, &plan, overwrite, &mut counts).await?;
        tenant::recompute_counters(&tx, &target_catalog, tenant_id).await?;
        tx.commit().await.context("the restore failed at commit")?;
        report.tables = counts;
        report.committed = true;
        Ok(report)
    }

    /// What the confirmation shows: the backup, the target, and the plan.
    fn summary(&self, m: &BackupManifest, report: &TenantRestoreReport) -> String {
        let taken = format!(
            "{}, taken {} UTC, {} ago",
            m.status.as_str(),
            m.started_at.format("%Y-%m-%d %H:%M:%S"),
            tables::age(m.started_at, Utc::now())
        );
        let into = match self.mode {
            Mode::Merge => format!(
                "into database {} on {} (live: only missing rows are added)",
                self.target.dbname,
                self.target.server()
            ),
            Mode::Extract => format!(
                "into the new database {} on {}",
                self.target.dbname,
                self.target.server()
            ),
        };
        format!(
            "{} tenant {} (id {}) from backup {} ({taken})\n  {into}\n{}",
            self.mode.verb(),
            self.slug,
            report.tenant_id,
            m.id,
            report.plan_text(false)
        )
    }
}
