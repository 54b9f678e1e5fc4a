//! `restore --target DB`: the runbook of a safe restore. Pick the backup,
//! refuse the dangerous cases, show what will happen and have the operator
//! type the target's name, then restore all or nothing.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Context;
use crate::cli::RestoreArgs;
use crate::db::admin::{self, TargetState};
use crate::db::{self, snapshot, ConnInfo, ServerFacts};
use crate::exit;
use crate::output::printer::Style;
use crate::output::{tables, Report};
use crate::pipeline::backup::application_name;
use crate::pipeline::catalog::{is_not_found, Catalog};
use crate::pipeline::manifest::{BackupManifest, BackupStatus, SkippedExtension};
use crate::pipeline::pg_tools::PgTool;
use crate::pipeline::restore::{load, ArchiveFormat, LoadOptions, Loaders};
use crate::pipeline::stored::{spawn_reader, Decode, ReadOutcome};
use crate::pipeline::verify::{checksum_problem, compare_counts};
use crate::pipeline::ProgressSink;
use crate::storage::{self, ObjectStore, ObjectUrl};

/// What is being restored: a cataloged backup, or an object without manifest
/// (the platform's old backups) by key or URL.
pub(super) struct Source {
    pub(super) label: String,
    pub(super) key: String,
    pub(super) manifest: Option<BackupManifest>,
    pub(super) size: Option<u64>,
    pub(super) taken: Option<DateTime<Utc>>,
}

pub async fn run(ctx: &Context, args: RestoreArgs) -> Result<()> {
    let conn = ctx.conn()?;
    let (store, source) = find_source(ctx, &args).await?;
    check_status(&source, args.allow_unverified)?;
    let identities = ctx.identities_for(args.identity.as_deref(), source.manifest.as_ref())?;
    let pg_restore = PgTool::locate("pg_restore", ctx.settings.backup.pg_bindir.as_deref()).await?;
    let admin_client = db::connect(&conn, &application_name("restore")).await?;
    let facts = db::server_facts(&admin_client).await?;
    let target = conn.with_dbname(&args.target);
    if is_source(&source, &facts, &conn, &args.target) && !args.force_source {
        return Err(exit::refused(format!(
            "{} was taken from database {} on this server: restoring would overwrite the \
             source. Restore into another database, or add --force-source if that is really meant",
            source.label, args.target
        )));
    }
    let state = admin::target_state(&admin_client, &target).await?;
    check_target(&state, &args, &target)?;
    confirm(ctx, &args, &source, &target, &state, store.as_ref()).await?;

    let clock = Instant::now();
    let created = !state.exists;
    if created {
        admin::create_database(&admin_client, &target.dbname).await?;
    }
    let loaders = Loaders {
        pg_restore,
        bindir: ctx.settings.backup.pg_bindir.clone(),
    };
    let progress = ctx.shared_progress(("downloaded", "restored"));
    let outcome = tokio::select! {
        r = restore(store.as_ref(), &source, &target, &loaders, &args, state.tables > 0, identities, progress.clone()) => r,
        sig = ctx.interrupt.wait() => Err(sig.into()),
    };
    progress.finish();
    let report = match outcome {
        Ok(r) if r.error.is_none() => r,
        failed => {
            if created {
                if let Err(e) = admin::drop_database(&admin_client, &target.dbname).await {
                    tracing::error!("{e:#}");
                }
            }
            return Err(match failed {
                Ok(r) => r.error.unwrap_or_else(|| anyhow::anyhow!("restore failed")),
                Err(e) => e,
            }
            .context(if created {
                format!(
                    "nothing was restored; database {} was removed again",
                    target.dbname
                )
            } else {
                format!(
                    "nothing was restored; database {} is as it was",
                    target.dbname
                )
            }));
        }
    };
    let report = RestoreReport {
        duration_seconds: clock.elapsed().as_secs_f64(),
        created,
        ..report
    };
    ctx.printer.print(&report)?;
    if report.row_counts_match == Some(false) {
        return Err(exit::rejected(format!(
            "restored row counts differ from the manifest in: {}",
            report.mismatches.join(", ")
        )));
    }
    Ok(())
}

/// The store and the backup in it: `--key` (relative to the configured
/// storage, or a full `s3://` / `file://` URL), else the catalog.
pub(super) async fn find_source(
    ctx: &Context,
    args: &RestoreArgs,
) -> Result<(Box<dyn ObjectStore>, Source)> {
    let Some(key) = &args.key else {
        let store = ctx.store().await?;
        let id = args.backup.as_deref().unwrap_or("latest");
        let m = Catalog::new(store.as_ref()).load(id).await?;
        let source = Source {
            label: format!("backup {}", m.id),
            key: m.object_key.clone(),
            size: m.compressed_size,
            taken: Some(m.started_at),
            manifest: Some(m),
        };
        return Ok((store, source));
    };
    let (store, key, hint) = match ObjectUrl::parse(key)? {
        Some(url) => {
            let s3 = ctx.settings.storage.as_ref().map(|s| &s.s3);
            let (store, key) = storage::open_object(&url, s3).await?;
            (store, key, String::new())
        }
        None => {
            let store = ctx.store().await?;
            let hint = format!(
                " (--key is relative to the storage {}; for an object elsewhere give its full \
                 URL, s3://bucket/key or file:///path)",
                store.describe()
            );
            (store, key.clone(), hint)
        }
    };
    let location = store.location(&key);
    let Some(info) = store.head(&key).await? else {
        // S3 answers a HEAD in a missing bucket with a bare 404: listing
        // tells a missing bucket (or no access) from a missing key.
        store.check_access().await?;
        return Err(anyhow::anyhow!("object {location} does not exist{hint}"));
    };
    let source = Source {
        label: format!("object {location}"),
        key,
        manifest: None,
        size: Some(info.size),
        taken: info.last_modified,
    };
    Ok((store, source))
}

pub(super) fn check_status(source: &Source, allow_unverified: bool) -> Result<()> {
    let Some(m) = &source.manifest else {
        return Ok(());
    };
    match m.status {
        BackupStatus::Completed | BackupStatus::Verified => Ok(()),
        BackupStatus::Failed => Err(anyhow::anyhow!(
            "{} is a failed run and holds no restorable data (try: k12ctl backup list --status completed)",
            source.label
        )),
        BackupStatus::VerificationFailed if allow_unverified => Ok(()),
        BackupStatus::VerificationFailed => Err(exit::refused(format!(
            "{} failed verification ({}); pick another backup, or add --allow-unverified",
            source.label,
            m.verification
                .as_ref()
                .and_then(|v| v.error.as_deref())
                .unwrap_or("no detail")
        ))),
    }
}

/// Whether the target is the database the backup was taken from, on the
/// same cluster. Unknown identifiers count as the same cluster: the safe side.
fn is_source(source: &Source, facts: &ServerFacts, conn: &ConnInfo, target: &str) -> bool {
    match &source.manifest {
        Some(m) => {
            m.database == target
                && match (&m.system_identifier, &facts.system_identifier) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                }
        }
        // An old backup does not say where it came from; the configured
        // database is the platform's own.
        None => target == conn.dbname,
    }
}

fn check_target(state: &TargetState, args: &RestoreArgs, target: &ConnInfo) -> Result<()> {
    let name = &target.dbname;
    if !state.exists && !args.create {
        return Err(exit::usage(format!(
            "database {name} does not exist on {} (add --create to create it)",
            target.server()
        )));
    }
    if state.tables > 0 && !args.clean {
        return Err(exit::refused(format!(
            "database {name} holds {} tables; add --clean to replace them (in one transaction: \
             a failed restore leaves them as they are), or restore into a new database with --create",
            state.tables
        )));
    }
    if args.jobs.is_some() && state.exists {
        return Err(exit::usage(format!(
            "--jobs restores in parallel, which cannot be one transaction: it needs a new \
             database (--create with a target that does not exist yet), and {name} exists"
        )));
    }
    Ok(())
}

async fn confirm(
    ctx: &Context,
    args: &RestoreArgs,
    source: &Source,
    target: &ConnInfo,
    state: &TargetState,
    store: &dyn ObjectStore,
) -> Result<()> {
    let now = Utc::now();
    let taken = source
        .taken
        .map(|t| {
            format!(
                "taken {} UTC, {} ago",
                t.format("%Y-%m-%d %H:%M:%S"),
                tables::age(t, now)
            )
        })
        .unwrap_or_else(|| "date unknown".to_owned());
    let status = source
        .manifest
        .as_ref()
        .map(|m| format!("{}, ", m.status.as_str()))
        .unwrap_or_default();
    let size = source
        .size
        .map(tables::bytes)
        .unwrap_or_else(|| "size unknown".into());
    let what = match (state.exists, state.tables) {
        (false, _) => "does not exist; it will be created".to_owned(),
        (true, 0) => "exists and is empty".to_owned(),
        (true, n) => format!("exists and holds {n} tables, which will be REPLACED"),
    };
    let summary = format!(
        "Restore {} ({status}{taken}, {size})\n  from {}\n  into database {} on {}: {what}",
        source.label,
        store.location(&source.key),
        target.dbname,
        target.server()
    );
    confirm_by_typing(
        ctx,
        args.yes,
        &summary,
        "the target database name",
        &target.dbname,
    )
    .await
}

/// Show `summary` and have the operator type `expected` (`what` names it).
/// `--yes` skips the prompt (the summary is logged); off a terminal without
/// it, and on a wrong answer, the restore is refused (exit 3).
pub(super) async fn confirm_by_typing(
    ctx: &Context,
    yes: bool,
    summary: &str,
    what: &str,
    expected: &str,
) -> Result<()> {
    if yes {
        tracing::info!("{}", summary.replace('\n', " "));
        return Ok(());
    }
    if !ctx.interactive {
        return Err(exit::refused(format!(
            "{summary}\nrestore needs confirmation: run it at a terminal, or pass --yes"
        )));
    }
    eprintln!("{summary}");
    let prompt = format!("Type {what} ({expected}) to confirm");
    let typed = tokio::task::spawn_blocking(move || {
        dialoguer::Input::<String>::new()
            .with_prompt(prompt)
            .allow_empty(true)
            .interact_text()
    })
    .await
    .context("the confirmation prompt failed")?;
    match typed {
        Ok(t) if t == expected => Ok(()),
        Ok(_) => Err(exit::refused(format!(
            "{what} typed does not match; nothing was changed"
        ))),
        Err(e) => Err(exit::refused(format!(
            "no confirmation ({e}); nothing was changed"
        ))),
    }
}

#[allow(clippy::too_many_arguments)]
async fn restore(
    store: &dyn ObjectStore,
    source: &Source,
    target: &ConnInfo,
    loaders: &Loaders,
    args: &RestoreArgs,
    replacing: bool,
    identities: Option<Arc<Vec<age::x25519::Identity>>>,
    progress: Arc<dyn ProgressSink>,
) -> Result<RestoreReport> {
    let (reader, _) = store.open(&source.key).await.map_err(|e| {
        if is_not_found(&e) {
            anyhow::anyhow!("the data object {} is missing", store.location(&source.key))
        } else {
            e
        }
    })?;
    let decode = match &source.manifest {
        Some(m) => Decode::Expect(m.compression),
        None => Decode::Sniff,
    };
    let (chunks, reader) = spawn_reader(reader, decode, identities, progress.clone());
    let manifest = source.manifest.as_ref();
    let check = |read: &ReadOutcome| manifest.and_then(|m| checksum_problem(m, read));
    let opts = LoadOptions {
        clean: replacing,
        single_transaction: args.jobs.is_none(),
        jobs: args.jobs,
        allow_plain_sql: manifest.is_none(),
        temp_dir: args.temp_dir.clone(),
        skip_post_data: false,
    };
    progress.phase("restoring");
    let loaded = load(
        loaders,
        target,
        chunks,
        reader,
        &check,
        &opts,
        progress.as_ref(),
    )
    .await?;
    let mut report = RestoreReport {
        source: source.label.clone(),
        key: source.key.clone(),
        location: store.location(&source.key),
        target: target.dbname.clone(),
        server: target.server(),
        format: loaded.format,
        created: false,
        cleaned: replacing,
        jobs: args.jobs,
        stored_bytes: loaded.read.size,
        restored_bytes: loaded.restored_bytes,
        duration_seconds: 0.0,
        tables: 0,
        row_counts_match: None,
        mismatches: Vec::new(),
        skipped_extensions: loaded.skipped_extensions,
        error: None,
    };
    if let Some(e) = loaded.integrity_error {
        report.error = Some(exit::rejected(format!("{} is damaged: {e}", source.label)));
        return Ok(report);
    }
    if let Some(e) = loaded.restore_error {
        report.error = Some(anyhow::anyhow!(
            "restore of {} failed: {}",
            source.label,
            e.message
        ));
        return Ok(report);
    }
    let client = db::connect(target, &application_name("restore (row counts)")).await?;
    let actual = snapshot::count_rows(&client).await?;
    report.tables = actual.len();
    if let Some(m) = manifest {
        let checks = compare_counts(&m.table_row_counts, &actual);
        report.mismatches = checks
            .iter()
            .filter(|(t, c)| m.table_row_counts.contains_key(*t) && c.expected != c.actual)
            .map(|(t, c)| format!("{t} (backup {:?}, restored {:?})", c.expected, c.actual))
            .collect();
        report.row_counts_match = Some(report.mismatches.is_empty());
    }
    Ok(report)
}

#[derive(Serialize)]
struct RestoreReport {
    source: String,
    /// The object's key in its store (the catalog's `object_key`, or `--key`).
    key: String,
    /// The object's full URL.
    location: String,
    target: String,
    server: String,
    format: Option<ArchiveFormat>,
    created: bool,
    cleaned: bool,
    jobs: Option<u32>,
    stored_bytes: u64,
    restored_bytes: u64,
    duration_seconds: f64,
    tables: usize,
    /// Whether every table's row count equals the manifest's (None: no manifest).
    row_counts_match: Option<bool>,
    mismatches: Vec<String>,
    /// Extensions of the backup the role could not create, left out.
    skipped_extensions: Vec<SkippedExtension>,
    #[serde(skip)]
    error: Option<anyhow::Error>,
}

impl Report for RestoreReport {
    fn human(&self, _: &Style) -> String {
        let counts = match self.row_counts_match {
            Some(true) => ", row counts match the backup",
            Some(false) => ", ROW COUNTS DIFFER from the backup",
            None => "",
        };
        let mut out = format!(
            "restored {} into {} on {} in {}: {} tables, {} read{counts}",
            self.source,
            self.target,
            self.server,
            tables::duration(self.duration_seconds),
            self.tables,
            tables::bytes(self.stored_bytes),
        );
        out.push_str(&skipped_lines(&self.skipped_extensions));
        out
    }
}

/// One line per extension left out, for human output (empty when none).
pub(super) fn skipped_lines(skipped: &[SkippedExtension]) -> String {
    skipped
        .iter()
        .map(|s| format!("\nskipped extension {}: {}", s.name, s.reason))
        .collect()
}
