//! `backup verify`: checksum, restore into a scratch database, compare row
//! counts, record the verdict. Exit 0 verified, 4 verification failed,
//! 1 when the backup could not be judged.

use anyhow::Result;
use serde::Serialize;

use super::Context;
use crate::cli::BackupVerifyArgs;
use crate::db::ConnInfo;
use crate::exit;
use crate::output::printer::Style;
use crate::output::prometheus::Gauge;
use crate::output::{tables, Report};
use crate::pipeline::catalog::Catalog;
use crate::pipeline::manifest::{BackupStatus, Verification};
use crate::pipeline::verify::{self as pipeline, VerifyRequest};
use crate::pipeline::ProgressSink;

pub async fn run(ctx: &Context, args: BackupVerifyArgs) -> Result<Vec<Gauge>> {
    let store = ctx.store().await?;
    let id = args.id.as_deref().unwrap_or("latest");
    let manifest = Catalog::new(store.as_ref()).load(id).await?;
    // The source database, when configured: the default scratch server, and
    // where backup_records is mirrored.
    let source = match &ctx.settings.database_url {
        Some(url) => Some(ConnInfo::parse(url)?),
        None => None,
    };
    let scratch =
        match (&args.scratch_url, &source, args.quick) {
            (_, _, true) => None,
            (Some(url), _, false) => Some(ConnInfo::parse(url)?),
            (None, Some(source), false) => Some(source.clone()),
            (None, None, false) => return Err(exit::usage(
                "verify restores into a scratch database: set DATABASE_URL (its server is used) \
                 or --scratch-url, or use --quick to check only the size and SHA-256",
            )),
        };
    let identities = if args.quick {
        None
    } else {
        ctx.identities_for(args.identity.as_deref(), Some(&manifest))?
    };
    let progress = ctx.shared_progress(("downloaded", "restored"));
    let verification = pipeline::run(&VerifyRequest {
        store: store.as_ref(),
        manifest: &manifest,
        scratch_server: scratch.as_ref(),
        pg_bindir: ctx.settings.backup.pg_bindir.as_deref(),
        identities,
        progress: progress.clone(),
        interrupt: &ctx.interrupt,
    })
    .await?;
    progress.finish();
    // A quick check that passes proves the bytes, not the restore: it does
    // not make a backup `verified`. Any failure does mark it.
    let updated = if args.quick && verification.passed {
        let mut m = manifest.clone();
        m.verification = Some(verification);
        m
    } else {
        pipeline::record(store.as_ref(), source.as_ref(), &manifest, verification).await?
    };
    let report = VerifyReport {
        id: updated.id.clone(),
        status: updated.status,
        quick: args.quick,
        verification: updated.verification.clone(),
    };
    ctx.printer.print(&report)?;
    match report.verification {
        Some(v) if !v.passed => Err(exit::rejected(format!(
            "backup {} failed verification ({}): {}",
            updated.id,
            v.failed_check.as_deref().unwrap_or("unknown check"),
            v.error.as_deref().unwrap_or("no detail")
        ))),
        Some(v) => Ok(vec![
            Gauge::new(
                "tables",
                "Tables whose row counts the last verification compared.",
                v.tables.len() as f64,
            ),
            Gauge::new(
                "backup_start_timestamp_seconds",
                "Start of the backup the last run verified (Unix time).",
                updated.started_at.timestamp() as f64,
            ),
        ]),
        None => Ok(Vec::new()),
    }
}

#[derive(Serialize)]
struct VerifyReport {
    id: String,
    status: BackupStatus,
    quick: bool,
    verification: Option<Verification>,
}

impl Report for VerifyReport {
    fn human(&self, _: &Style) -> String {
        let Some(v) = &self.verification else {
            return format!("backup {}: no verification recorded", self.id);
        };
        if !v.passed {
            // The error line on stderr says why; show the evidence here.
            let mut out = format!("backup {} FAILED verification", self.id);
            let differing: Vec<_> = v
                .tables
                .iter()
                .filter(|(_, c)| c.expected != c.actual)
                .collect();
            if !differing.is_empty() {
                let mut t = tables::table(["TABLE", "EXPECTED", "RESTORED"]);
                let show =
                    |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_else(|| "missing".into());
                for (table, c) in differing {
                    t.add_row(vec![table.clone(), show(c.expected), show(c.actual)]);
                }
                out.push('\n');
                out.push_str(&t.to_string());
            }
            return out;
        }
        let what = if self.quick {
            "size and SHA-256 match the manifest".to_owned()
        } else {
            format!(
                "size and SHA-256 match, restored into a scratch database, row counts of {} tables match",
                v.tables.len()
            )
        };
        let verdict = if self.quick { "checked" } else { "verified" };
        let mut out = format!(
            "backup {} {verdict} in {}: {what}",
            self.id,
            tables::duration(v.duration_seconds)
        );
        out.push_str(&super::restore::skipped_lines(&v.skipped_extensions));
        out
    }
}
