//! Writing a checked roster into the platform's tables: all rows go through
//! `COPY` (binary, so no value is ever parsed as SQL) into a temporary
//! staging table, references are checked there, and one set-based upsert per
//! table writes them, in one transaction with the counter caches.
//!
//! Upserts only touch rows whose values change, so re-importing a file
//! changes nothing (no `updated_at` bump, no dead tuples).

use anyhow::{Context, Result};
use serde::Serialize;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Transaction};

use super::provision::NOW_UTC;
use crate::exit;
use crate::onboarding::roster::{Errors, Kind, Parsed, Rows, MAX_REPORTED_ERRORS};

/// First key of the import's transaction-level advisory lock ("k12i"); the
/// second is the tenant's.
const LOCK_CLASS: i32 = 0x6b31_3269;

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

/// Import `parsed` for the tenant with subdomain `slug`. `parsed` may carry
/// errors from reading: its valid rows are still checked against the
/// database, so that one run reports every problem; then nothing is written.
pub async fn import(
    client: &mut Client,
    slug: &str,
    mut parsed: Parsed,
    dry_run: bool,
    on_staged: impl Fn(u64),
) -> Result<Outcome> {
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
    let kind = parsed.rows.kind();
    stage(&tx, tenant_id, &parsed.rows, &on_staged).await?;
    let (found, total) = check_references(&tx, kind, tenant_id).await?;
    parsed.errors.extend(found, total);
    if !parsed.errors.is_empty() {
        tx.rollback().await?;
        return Ok(Outcome::Rejected(parsed.errors));
    }
    let counts = classify(&tx, kind, tenant_id).await?;
    if dry_run {
        tx.rollback().await?;
    } else {
        write(&tx, kind, tenant_id).await?;
        tx.commit().await.context("the import failed at commit")?;
    }
    Ok(Outcome::Done(counts))
}

/// COPY the valid rows into `k12ctl_stage`, dropped at the end of the transaction.
async fn stage(
    tx: &Transaction<'_>,
    tenant_id: i64,
    rows: &Rows,
    on_staged: &impl Fn(u64),
) -> Result<()> {
    let (columns, types): (&str, &[Type]) = match rows {
        Rows::Users(_) => (
            "line bigint, email text, first_name text, last_name text, role text",
            &[Type::INT8, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT],
        ),
        Rows::Courses(_) => (
            "line bigint, course_code text, course_name text, section_code text, \
             section_name text, academic_year text",
            &[
                Type::INT8,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
            ],
        ),
        Rows::Enrollments(_) => (
            "line bigint, email text, section_code text, role text",
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
                let size = r.email.len() + r.first_name.len() + r.last_name.len() + r.role.len();
                put!(size; r.line, &r.email, &r.first_name, &r.last_name, &r.role);
            }
        }
        Rows::Courses(rows) => {
            for r in rows {
                let size = r.course_code.len()
                    + r.course_name.len()
                    + r.section_code.len()
                    + r.section_name.len()
                    + r.academic_year.as_ref().map_or(0, String::len);
                put!(
                    size;
                    r.line,
                    &r.course_code,
                    &r.course_name,
                    &r.section_code,
                    &r.section_name,
                    &r.academic_year
                );
            }
        }
        Rows::Enrollments(rows) => {
            for r in rows {
                let size = r.email.len() + r.section_code.len() + r.role.len();
                put!(size; r.line, &r.email, &r.section_code, &r.role);
            }
        }
    }
    writer
        .finish()
        .await
        .context("COPY into the staging table failed")?;
    on_staged(bytes_pending);
    // Resolve references once, for the checks, the counts and the writes.
    let resolve = match rows {
        Rows::Users(_) => {
            "CREATE TEMP TABLE k12ctl_rows ON COMMIT DROP AS \
             SELECT s.*, u.id AS user_id, r.id AS role_id, \
                    u.first_name AS old_first_name, u.last_name AS old_last_name, \
                    (ur.id IS NOT NULL) AS has_role \
             FROM k12ctl_stage s \
             LEFT JOIN users u ON u.tenant_id = $1 AND u.email = s.email \
             LEFT JOIN roles r ON r.tenant_id = $1 AND r.name = s.role \
             LEFT JOIN user_roles ur ON ur.user_id = u.id AND ur.role_id = r.id"
        }
        Rows::Courses(_) => {
            "CREATE TEMP TABLE k12ctl_rows ON COMMIT DROP AS \
             SELECT s.*, y.id AS year_id \
             FROM k12ctl_stage s \
             LEFT JOIN academic_years y ON y.tenant_id = $1 AND \
               CASE WHEN s.academic_year IS NULL THEN y.current ELSE y.name = s.academic_year END"
        }
        Rows::Enrollments(_) => {
            "CREATE TEMP TABLE k12ctl_rows ON COMMIT DROP AS \
             SELECT s.*, u.id AS user_id, x.id AS section_id, e.role AS old_role \
             FROM k12ctl_stage s \
             LEFT JOIN users u ON u.tenant_id = $1 AND u.email = s.email \
             LEFT JOIN sections x ON x.tenant_id = $1 AND x.code = s.section_code \
             LEFT JOIN enrollments e ON e.user_id = u.id AND e.section_id = x.id"
        }
    };
    // CREATE TABLE AS takes no bind parameters; the tenant id is an integer
    // read from the database, formatted as such.
    tx.batch_execute(&format!(
        "{}; ANALYZE k12ctl_rows",
        resolve.replace("$1", &tenant_id.to_string())
    ))
    .await
    .context("cannot resolve the staged rows")?;
    Ok(())
}

/// A reference check: rows of `k12ctl_rows` that fail, as (line, detail).
struct Check {
    column: &'static str,
    /// SELECT line, detail FROM k12ctl_rows ... (tenant id as $1).
    sql: &'static str,
    reason: fn(&str) -> String,
}

fn checks(kind: Kind) -> Vec<Check> {
    match kind {
        Kind::Users => vec![Check {
            column: "role",
            sql: "SELECT line, role FROM k12ctl_rows WHERE role_id IS NULL",
            reason: |role| {
                format!("the tenant has no role {role:?} (provision school creates the five roles)")
            },
        }],
        Kind::Courses => vec![
            Check {
                column: "academic_year",
                sql: "SELECT line, coalesce(academic_year, '') FROM k12ctl_rows WHERE year_id IS NULL",
                reason: |year| {
                    if year.is_empty() {
                        "the tenant has no current academic year; name one in an academic_year column"
                            .to_owned()
                    } else {
                        format!("the tenant has no academic year named {year:?}")
                    }
                },
            },
            Check {
                column: "section_code",
                sql: "SELECT r.line, r.section_code || ' belongs to course ' || c.code || ' (' || y.name || ')' \
                      FROM k12ctl_rows r \
                      JOIN sections x ON x.tenant_id = $1 AND x.code = r.section_code \
                      JOIN courses c ON c.id = x.course_id \
                      JOIN academic_years y ON y.id = c.academic_year_id \
                      WHERE r.year_id IS NOT NULL \
                        AND (c.code <> r.course_code OR c.academic_year_id <> r.year_id)",
                reason: |what| format!("section {what} in the database"),
            },
            // The file's own check compares the years as written; a blank year
            // and the current year's name are the same year.
            Check {
                column: "course_name",
                sql: "SELECT r.line, format('course \"%s\" is named \"%s\" on line %s', \
                        r.course_code, f.course_name, f.line) \
                      FROM k12ctl_rows r \
                      JOIN (SELECT DISTINCT ON (year_id, course_code) year_id, course_code, course_name, line \
                            FROM k12ctl_rows WHERE year_id IS NOT NULL \
                            ORDER BY year_id, course_code, line) f \
                        ON f.year_id = r.year_id AND f.course_code = r.course_code \
                      WHERE r.course_name <> f.course_name",
                reason: |what| what.to_owned(),
            },
        ],
        Kind::Enrollments => vec![
            Check {
                column: "email",
                sql: "SELECT line, email FROM k12ctl_rows WHERE user_id IS NULL",
                reason: |email| format!("no user {email} in this tenant (import users first)"),
            },
            Check {
                column: "section_code",
                sql: "SELECT line, section_code FROM k12ctl_rows WHERE section_id IS NULL",
                reason: |code| format!("no section {code:?} in this tenant (import courses first)"),
            },
        ],
    }
}

/// Every failed reference (the first MAX_REPORTED_ERRORS), and how many.
async fn check_references(
    tx: &Transaction<'_>,
    kind: Kind,
    tenant_id: i64,
) -> Result<(Vec<crate::onboarding::roster::RowError>, usize)> {
    let mut found = Vec::new();
    let mut total = 0;
    for check in checks(kind) {
        let sql = format!(
            "SELECT q.line, q.detail, count(*) OVER () FROM ({}) AS q(line, detail) \
             ORDER BY q.line LIMIT {MAX_REPORTED_ERRORS}",
            check.sql
        );
        let rows = if check.sql.contains("$1") {
            tx.query(&sql, &[&tenant_id]).await
        } else {
            tx.query(&sql, &[]).await
        }
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
async fn classify(tx: &Transaction<'_>, kind: Kind, tenant_id: i64) -> Result<Vec<TableCounts>> {
    let queries: &[(&'static str, &str)] = match kind {
        Kind::Users => &[(
            "users",
            "SELECT count(*) FILTER (WHERE user_id IS NULL), \
                    count(*) FILTER (WHERE user_id IS NOT NULL AND (NOT has_role \
                      OR (old_first_name, old_last_name) IS DISTINCT FROM (first_name, last_name))), \
                    count(*) FROM k12ctl_rows",
        )],
        Kind::Courses => &[
            (
                "courses",
                "SELECT count(*) FILTER (WHERE c.id IS NULL), \
                        count(*) FILTER (WHERE c.id IS NOT NULL AND c.name IS DISTINCT FROM r.course_name), \
                        count(*) \
                 FROM (SELECT DISTINCT ON (year_id, course_code) year_id, course_code, course_name \
                       FROM k12ctl_rows ORDER BY year_id, course_code, line) r \
                 LEFT JOIN courses c ON c.tenant_id = $1 AND c.academic_year_id = r.year_id \
                   AND c.code = r.course_code",
            ),
            (
                "sections",
                "SELECT count(*) FILTER (WHERE x.id IS NULL), \
                        count(*) FILTER (WHERE x.id IS NOT NULL AND x.name IS DISTINCT FROM r.section_name), \
                        count(*) \
                 FROM k12ctl_rows r LEFT JOIN sections x ON x.tenant_id = $1 AND x.code = r.section_code",
            ),
        ],
        Kind::Enrollments => &[(
            "enrollments",
            "SELECT count(*) FILTER (WHERE old_role IS NULL), \
                    count(*) FILTER (WHERE old_role IS DISTINCT FROM role AND old_role IS NOT NULL), \
                    count(*) FROM k12ctl_rows",
        )],
    };
    let mut counts = Vec::new();
    for (table, sql) in queries {
        let row = if sql.contains("$1") {
            tx.query_one(*sql, &[&tenant_id]).await
        } else {
            tx.query_one(*sql, &[]).await
        }
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

/// The upserts and the counter caches.
async fn write(tx: &Transaction<'_>, kind: Kind, tenant_id: i64) -> Result<()> {
    let statements: Vec<String> = match kind {
        Kind::Users => vec![
            format!(
                "INSERT INTO users (tenant_id, email, first_name, last_name, created_at, updated_at) \
                 SELECT $1, email, first_name, last_name, {NOW_UTC}, {NOW_UTC} \
                 FROM k12ctl_rows ORDER BY line \
                 ON CONFLICT (tenant_id, email) DO UPDATE \
                   SET first_name = EXCLUDED.first_name, last_name = EXCLUDED.last_name, \
                       updated_at = EXCLUDED.updated_at \
                   WHERE (users.first_name, users.last_name) \
                         IS DISTINCT FROM (EXCLUDED.first_name, EXCLUDED.last_name)"
            ),
            format!(
                "INSERT INTO user_roles (tenant_id, user_id, role_id, created_at, updated_at) \
                 SELECT $1, u.id, r.role_id, {NOW_UTC}, {NOW_UTC} \
                 FROM k12ctl_rows r JOIN users u ON u.tenant_id = $1 AND u.email = r.email \
                 WHERE NOT r.has_role ORDER BY r.line \
                 ON CONFLICT (user_id, role_id) DO NOTHING"
            ),
        ],
        Kind::Courses => vec![
            format!(
                "INSERT INTO courses (tenant_id, academic_year_id, code, name, created_at, updated_at) \
                 SELECT $1, year_id, course_code, course_name, {NOW_UTC}, {NOW_UTC} FROM ( \
                   SELECT DISTINCT ON (year_id, course_code) year_id, course_code, course_name, line \
                   FROM k12ctl_rows ORDER BY year_id, course_code, line) r ORDER BY line \
                 ON CONFLICT (tenant_id, academic_year_id, code) DO UPDATE \
                   SET name = EXCLUDED.name, updated_at = EXCLUDED.updated_at \
                   WHERE courses.name IS DISTINCT FROM EXCLUDED.name"
            ),
            format!(
                "INSERT INTO sections (tenant_id, course_id, code, name, created_at, updated_at) \
                 SELECT $1, c.id, r.section_code, r.section_name, {NOW_UTC}, {NOW_UTC} \
                 FROM k12ctl_rows r JOIN courses c ON c.tenant_id = $1 \
                   AND c.academic_year_id = r.year_id AND c.code = r.course_code \
                 ORDER BY r.line \
                 ON CONFLICT (tenant_id, code) DO UPDATE \
                   SET name = EXCLUDED.name, updated_at = EXCLUDED.updated_at \
                   WHERE sections.name IS DISTINCT FROM EXCLUDED.name"
            ),
            // Counter caches do not touch updated_at (Rails' update_counters).
            "UPDATE tenants t SET courses_count = c.n \
             FROM (SELECT count(*) AS n FROM courses WHERE tenant_id = $1) c \
             WHERE t.id = $1 AND t.courses_count IS DISTINCT FROM c.n"
                .to_owned(),
        ],
        Kind::Enrollments => vec![
            format!(
                "INSERT INTO enrollments (tenant_id, user_id, section_id, role, created_at, updated_at) \
                 SELECT $1, user_id, section_id, role, {NOW_UTC}, {NOW_UTC} \
                 FROM k12ctl_rows WHERE old_role IS DISTINCT FROM role ORDER BY line \
                 ON CONFLICT (user_id, section_id) DO UPDATE \
                   SET role = EXCLUDED.role, updated_at = EXCLUDED.updated_at \
                   WHERE enrollments.role IS DISTINCT FROM EXCLUDED.role"
            ),
            "UPDATE sections x SET enrollments_count = c.n \
             FROM (SELECT e.section_id, count(*) AS n FROM enrollments e \
                   WHERE e.section_id IN (SELECT DISTINCT section_id FROM k12ctl_rows) \
                   GROUP BY e.section_id) c \
             WHERE x.id = c.section_id AND x.tenant_id = $1 \
               AND x.enrollments_count IS DISTINCT FROM c.n"
                .to_owned(),
        ],
    };
    for sql in &statements {
        tx.execute(sql.as_str(), &[&tenant_id])
            .await
            .map_err(|e| anyhow::anyhow!("{}", super::describe_error(&e)))
            .context("the import failed; nothing was written")?;
    }
    Ok(())
}
