//! Writing a checked roster into the platform's tables: all rows go through
//! `COPY` (binary, so no value is ever parsed as SQL) into a temporary
//! staging table, references are resolved and checked there, and set-based
//! statements write them, in one transaction with the counter caches.
//!
//! What is written follows the catalog: the platform's schema has no unique
//! key on courses or sections, so those are matched by name (or code where
//! the database has codes) and inserted where missing; sections get a term
//! where the database has terms. Upserts only touch rows whose values
//! change, so re-importing a file changes nothing (no `updated_at` bump).

use anyhow::{Context, Result};
use serde::Serialize;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Transaction};

use super::schema::Catalog;
use crate::exit;
use crate::onboarding::roster::{Errors, Format, Kind, Parsed, Rows, MAX_REPORTED_ERRORS};

mod sql;

pub use sql::enrollment_counters;

/// First key of the import's transaction-level advisory lock ("k12i"); the
/// second is the tenant's. A tenant restore takes the same lock.
pub(crate) const LOCK_CLASS: i32 = 0x6b31_3269;

/// Inserted / updated / unchanged rows of one table.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TableCounts {
    pub table: &'static str,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
}

pub enum Outcome {
    /// Some rows are wrong; nothing was written.
    Rejected(Errors),
    /// Written (or, with dry_run, what would be).
    Done(Vec<TableCounts>),
}

/// What an import of `kind` in `format` writes: refused before any write
/// when the database cannot hold it, naming the table and column.
pub fn check(catalog: &Catalog, kind: Kind, format: Format) -> Result<()> {
    let needs: &[(&str, &str)] = match (kind, format) {
        (Kind::Courses, Format::Codes) => &[("courses", "code"), ("sections", "code")],
        (Kind::Enrollments, Format::Codes) => &[("sections", "code")],
        _ => &[],
    };
    let missing: Vec<String> = needs
        .iter()
        .filter(|(t, c)| !catalog.has(t, c))
        .map(|(t, c)| format!("{t}.{c}"))
        .collect();
    if !missing.is_empty() {
        return Err(exit::usage(format!(
            "this database has no {} column, which a {} file with codes needs: use the \
             platform's columns ({})",
            missing.join(", "),
            kind.as_str(),
            kind.columns(Format::Platform)
                .iter()
                .map(|(c, _)| *c)
                .collect::<Vec<_>>()
                .join(",")
        )));
    }
    let writes: Vec<(&str, Vec<&str>)> = sql::inserts(kind, format, 0)
        .iter()
        .filter(|i| catalog.has_table(i.table()))
        .map(|i| (i.table(), i.columns(catalog)))
        .collect();
    catalog.check_writes(&format!("importing {}", kind.as_str()), &writes)
}

/// Import `parsed` for the tenant with subdomain `slug`. `parsed` may carry
/// errors from reading: its valid rows are still checked against the
/// database, so that one run reports every problem; then nothing is written.
pub async fn import(
    client: &mut Client,
    catalog: &Catalog,
    slug: &str,
    mut parsed: Parsed,
    dry_run: bool,
    on_staged: impl Fn(u64),
) -> Result<Outcome> {
    let kind = parsed.rows.kind();
    check(catalog, kind, parsed.format)?;
    let tx = client.transaction().await?;
    let tenant_id: i64 = tx
        .query_opt("SELECT id FROM tenants WHERE slug = $1", &[&slug])
        .await
        .context("cannot look up the tenant")?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no tenant has the subdomain {slug:?} (provision it first: k12ctl provision school)"
            )
        })?
        .get(0);
    let locked: bool = tx
        .query_one(
            "SELECT pg_try_advisory_xact_lock($1, hashtext($2::bigint::text))",
            &[&LOCK_CLASS, &tenant_id],
        )
        .await?
        .get(0);
    if !locked {
        return Err(exit::locked(format!(
            "another import into {slug:?} is running; try again when it has finished"
        )));
    }
    let statements = sql::Statements::new(catalog, kind, parsed.format, tenant_id);
    stage(&tx, &parsed.rows, &on_staged).await?;
    run(&tx, &statements.resolve, "cannot resolve the staged rows").await?;
    let (found, total) = check_references(&tx, &statements).await?;
    parsed.errors.extend(found, total);
    if !parsed.errors.is_empty() {
        tx.rollback().await?;
        return Ok(Outcome::Rejected(parsed.errors));
    }
    let counts = classify(&tx, &statements).await?;
    if dry_run {
        tx.rollback().await?;
    } else {
        for statement in &statements.write {
            tx.batch_execute(statement)
                .await
                .map_err(|e| anyhow::anyhow!("{}", super::describe_error(&e)))
                .context("the import failed; nothing was written")?;
        }
        if kind == Kind::Courses {
            super::provision::update_tenant_counters(&tx, catalog, tenant_id).await?;
        }
        tx.commit().await.context("the import failed at commit")?;
    }
    Ok(Outcome::Done(counts))
}

async fn run(tx: &Transaction<'_>, statements: &[String], what: &'static str) -> Result<()> {
    for statement in statements {
        tx.batch_execute(statement)
            .await
            .map_err(|e| anyhow::anyhow!("{}", super::describe_error(&e)))
            .context(what)?;
    }
    Ok(())
}

/// COPY the valid rows into `k12ctl_stage`, dropped at the end of the transaction.
async fn stage(tx: &Transaction<'_>, rows: &Rows, on_staged: &impl Fn(u64)) -> Result<()> {
    let (columns, types): (&str, &[Type]) = match rows {
        Rows::Users(_) => (
            "line bigint, email text, first_name text, last_name text, role text",
            &[Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT],
        ),
        Rows::Courses(_) => (
            "line bigint, course_code text, course_name text, description text, \
             section_code text, section_name text, academic_year text",
            &[
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
            ],
        ),
        Rows::Enrollments(_) => (
            "line bigint, email text, section text, role text",
            &[Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT],
        ),
    };
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE k12ctl_stage ({columns}) ON COMMIT DROP"
    ))
    .await
    .context("cannot create the staging table")?;
    let sink = tx
        .copy_in("COPY k12ctl_stage FROM STDIN (FORMAT binary)")
        .await
        .context("cannot start COPY into the staging table")?;
    let writer = BinaryCopyInWriter::new(sink, types);
    futures_util::pin_mut!(writer);
    // Progress: bytes of values staged, reported every 4,096 rows.
    let (mut rows_pending, mut bytes_pending) = (0u32, 0u64);
    let len = |v: &Option<String>| v.as_ref().map_or(0, String::len);
    macro_rules! put {
        ($size:expr; $line:expr, $($v:expr),+) => {{
            let line = $line as i64;
            let values: &[&(dyn ToSql + Sync)] = &[&line, $($v),+];
            writer.as_mut().write(values).await.context("COPY into the staging table failed")?;
            bytes_pending += $size as u64;
            rows_pending += 1;
            if rows_pending == 4096 {
                on_staged(bytes_pending);
                (rows_pending, bytes_pending) = (0, 0);
            }
        }};
    }
    match rows {
        Rows::Users(rows) => {
            for r in rows {
                let size = r.email.len() + len(&r.first_name) + len(&r.last_name) + r.role.len();
                put!(size; r.line, &r.email, &r.first_name, &r.last_name, &r.role);
            }
        }
        Rows::Courses(rows) => {
            for r in rows {
                let size = len(&r.course_code)
                    + r.course_name.len()
                    + len(&r.description)
                    + len(&r.section_code)
                    + len(&r.section_name)
                    + len(&r.academic_year);
                put!(
                    size;
                    r.line,
                    &r.course_code,
                    &r.course_name,
                    &r.description,
                    &r.section_code,
                    &r.section_name,
                    &r.academic_year
                );
            }
        }
        Rows::Enrollments(rows) => {
            for r in rows {
                let size = r.email.len() + r.section.len() + r.role.len();
                put!(size; r.line, &r.email, &r.section, &r.role);
            }
        }
    }
    writer
        .finish()
        .await
        .context("COPY into the staging table failed")?;
    on_staged(bytes_pending);
    Ok(())
}

/// Every failed reference (the first MAX_REPORTED_ERRORS), and how many.
async fn check_references(
    tx: &Transaction<'_>,
    statements: &sql::Statements,
) -> Result<(Vec<crate::onboarding::roster::RowError>, usize)> {
    let mut found = Vec::new();
    let mut total = 0;
    for check in &statements.checks {
        let sql = format!(
            "SELECT q.line, q.detail, count(*) OVER () FROM ({}) AS q(line, detail) \
             ORDER BY q.line LIMIT {MAX_REPORTED_ERRORS}",
            check.sql
        );
        let rows = tx
            .query(&sql, &[])
            .await
            .context("cannot check the rows' references")?;
        if let Some(first) = rows.first() {
            total += first.get::<_, i64>(2) as usize;
        }
        found.extend(rows.iter().map(|r| crate::onboarding::roster::RowError {
            line: r.get::<_, i64>(0) as u64,
            column: Some(check.column.to_owned()),
            reason: (check.reason)(r.get::<_, &str>(1)),
        }));
    }
    Ok((found, total))
}

/// What the write will do, counted before doing it (and for --dry-run).
async fn classify(tx: &Transaction<'_>, statements: &sql::Statements) -> Result<Vec<TableCounts>> {
    let mut counts = Vec::new();
    for (table, sql) in &statements.counts {
        let row = tx
            .query_one(sql.as_str(), &[])
            .await
            .with_context(|| format!("cannot compare the rows with {table}"))?;
        let (inserted, updated, all): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
        counts.push(TableCounts {
            table,
            inserted,
            updated,
            unchanged: all - inserted - updated,
        });
    }
    Ok(counts)
}
