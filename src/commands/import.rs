//! `import csv`: the platform's DataImportService as a command.
//!
//! Runbook: read the whole file and check every row (a thread of its own);
//! check the database has the platform's tables; stage the valid rows with
//! COPY and check their references; with any problem, report each with its
//! line and write nothing (exit 4); else upsert everything in the same
//! transaction, counter caches included.

use std::io::Read;
use std::sync::Arc;

use anyhow::Result;
use serde::Serialize;

use super::Context;
use crate::cli::{ImportCsvArgs, ImportKind};
use crate::db::roster::{self, Outcome, TableCounts};
use crate::db::schema::{self, Catalog};
use crate::db::{self as pg};
use crate::exit;
use crate::onboarding::roster::{self as csv_roster, Format, Kind, RowError};
use crate::output::printer::{Report, Style};
use crate::output::tables;
use crate::pipeline::ProgressSink;

impl From<ImportKind> for Kind {
    fn from(k: ImportKind) -> Self {
        match k {
            ImportKind::Users => Kind::Users,
            ImportKind::Courses => Kind::Courses,
            ImportKind::Enrollments => Kind::Enrollments,
        }
    }
}

pub async fn csv(ctx: &Context, args: ImportCsvArgs) -> Result<()> {
    let kind = Kind::from(args.kind);
    let source = args.file.display().to_string();
    let input: Box<dyn Read + Send> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(&args.file)
                .map_err(|e| exit::usage(format!("cannot open {source}: {e}")))?,
        )
    };
    // Check the database first: a wrong DATABASE_URL should not wait for a
    // large file to be read.
    let conn = ctx.conn()?;
    let mut client = pg::connect(&conn, "k12ctl import").await?;
    let catalog = Catalog::read(&client).await?;
    catalog.require(schema::IMPORT)?;

    let progress = ctx.shared_progress(("read", "staged"));
    progress.phase("checking rows");
    let reader_progress = Arc::clone(&progress);
    let parsed = tokio::task::spawn_blocking(move || {
        csv_roster::parse(kind, input, |n| reader_progress.read(n))
    })
    .await?
    .map_err(|e| anyhow::anyhow!("cannot read {source}: {e}"))?;
    if !parsed.ignored_columns.is_empty() {
        tracing::warn!(
            "{source}: ignoring column(s) not part of a {} file: {}",
            kind.as_str(),
            parsed.ignored_columns.join(", ")
        );
    }
    let rows = parsed.rows_read;
    progress.phase("staging and checking references");
    let staged_progress = Arc::clone(&progress);
    let format = parsed.format;
    let outcome = roster::import(
        &mut client,
        &catalog,
        &args.tenant,
        parsed,
        args.dry_run,
        move |n| staged_progress.written(n),
    )
    .await?;
    progress.finish();

    let mut report = ImportReport {
        tenant: args.tenant,
        kind,
        format,
        file: source,
        rows,
        dry_run: args.dry_run,
        status: "imported",
        tables: Vec::new(),
        errors: Vec::new(),
        errors_total: 0,
    };
    match outcome {
        Outcome::Done(tables) => {
            if args.dry_run {
                report.status = "dry run";
            }
            report.tables = tables;
            ctx.printer.print(&report)
        }
        Outcome::Rejected(errors) => {
            report.status = "rejected";
            report.errors = errors.kept;
            report.errors_total = errors.total;
            ctx.printer.print(&report)?;
            Err(exit::rejected(format!(
                "{} problem{} in {}; nothing was written",
                report.errors_total,
                if report.errors_total == 1 { "" } else { "s" },
                report.file
            )))
        }
    }
}

#[derive(Debug, Serialize)]
struct ImportReport {
    tenant: String,
    kind: Kind,
    /// The file's columns: `platform` (DataImportService's) or `codes`.
    format: Format,
    file: String,
    /// Data rows in the file.
    rows: u64,
    dry_run: bool,
    /// imported, dry run, rejected
    status: &'static str,
    /// Per table: inserted, updated, unchanged (would be, with dry_run).
    tables: Vec<TableCounts>,
    /// The problems (the first 1,000), by line.
    errors: Vec<RowError>,
    errors_total: usize,
}

impl Report for ImportReport {
    fn human(&self, _style: &Style) -> String {
        if self.status == "rejected" {
            let mut t = tables::table(["Line", "Column", "Problem"]);
            for e in &self.errors {
                t.add_row([
                    e.line.to_string(),
                    e.column.clone().unwrap_or_default(),
                    e.reason.clone(),
                ]);
            }
            let more = if self.errors_total > self.errors.len() {
                format!(
                    "\n(the first {} of {} problems are shown)",
                    self.errors.len(),
                    self.errors_total
                )
            } else {
                String::new()
            };
            return format!("{t}{more}");
        }
        let mut t = tables::table(["Table", "Inserted", "Updated", "Unchanged"]);
        for c in &self.tables {
            t.add_row([
                c.table.to_owned(),
                c.inserted.to_string(),
                c.updated.to_string(),
                c.unchanged.to_string(),
            ]);
        }
        let (rows, kind, file, tenant) = (self.rows, self.kind.as_str(), &self.file, &self.tenant);
        if self.dry_run {
            format!("{t}\ndry run: {rows} row(s) of a {kind} file ({file}) checked against {tenant}; nothing was written")
        } else {
            format!("{t}\nimported {rows} row(s) of a {kind} file ({file}) into {tenant}")
        }
    }
}
