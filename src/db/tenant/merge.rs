//! The staged rows against the target, inside the transaction that writes
//! them: every row gets a verdict (missing now, differs, unchanged, or its
//! key is held by another tenant's row), conflicts are found by queries
//! before any write (a unique key now taken, a parent that is neither in
//! the database nor among the rows going back), then the missing rows are
//! inserted parents first with their ids, the deferred keys of cycles
//! filled, differing rows replaced only when asked, and the counter caches
//! recomputed. Sequences are not touched by a merge.

use anyhow::{Context, Result};
use serde::Serialize;
use tokio_postgres::{Client, Transaction};

use super::stage::list;
use super::{Plan, Reach, TablePlan};
use crate::db::roster::{enrollment_counters, LOCK_CLASS};
use crate::db::schema::Catalog;
use crate::db::{describe_error, quote_ident};
use crate::exit;

/// How many rows of each kind of conflict are listed.
const CONFLICTS_LISTED: i64 = 100;

/// One table's rows, compared and then written.
#[derive(Debug, Clone, Serialize)]
pub struct TableCounts {
    pub table: String,
    pub reach: Reach,
    /// The tenant's rows in the backup.
    pub backup_rows: i64,
    /// In the backup, not in the database now: re-inserted.
    pub missing: i64,
    /// In both, with other values now: left alone unless --overwrite-changed.
    pub differ: i64,
    pub unchanged: i64,
    /// The tenant's rows now that the backup does not have: never touched.
    pub new_since_backup: i64,
    /// The backup row's key is now a row of another tenant (a conflict).
    pub held_by_other_tenant: i64,
    pub inserted: u64,
    pub overwritten: u64,
}

/// A row that cannot go back.
#[derive(Debug, Clone, Serialize)]
pub struct Conflict {
    pub table: String,
    /// The backup row's key, `id=42`.
    pub row: String,
    pub problem: String,
}

/// A row named by its key.
#[derive(Debug, Clone, Serialize)]
pub struct RowRef {
    pub table: String,
    pub row: String,
}

fn sql_err(e: tokio_postgres::Error) -> anyhow::Error {
    anyhow::anyhow!("{}", describe_error(&e))
}

/// The same row on both sides, by primary key; never for keyless tables.
fn matches(t: &TablePlan, a: &str, b: &str) -> String {
    match &t.key {
        Some(key) => format!(
            "({}) = ({})",
            list(key, &format!("{a}.")),
            list(key, &format!("{b}."))
        ),
        None => "false".into(),
    }
}

/// The key of row `a` as text: `id=42`.
fn key_text(t: &TablePlan, a: &str) -> String {
    match &t.key {
        Some(key) => {
            let parts: Vec<String> = key
                .iter()
                .map(|k| format!("'{k}=' || coalesce({a}.{}::text, 'NULL')", quote_ident(k)))
                .collect();
            format!("concat_ws(', ', {})", parts.join(", "))
        }
        None => format!("ROW({})::text", list(&t.columns, &format!("{a}."))),
    }
}

/// The transaction-level lock that imports into the tenant take too.
pub async fn lock(tx: &Transaction<'_>, tenant_id: i64, slug: &str) -> Result<()> {
    let locked: bool = tx
        .query_one(
            "SELECT pg_try_advisory_xact_lock($1, hashtext($2::bigint::text))",
            &[&LOCK_CLASS, &tenant_id],
        )
        .await
        .context("cannot take the tenant's lock")?
        .get(0);
    if !locked {
        return Err(exit::locked(format!(
            "an import or restore into {slug:?} is running; try again when it has finished"
        )));
    }
    Ok(())
}

/// Give every staged row its verdict and count them, table by table.
pub async fn classify(tx: &Transaction<'_>, plan: &Plan) -> Result<Vec<TableCounts>> {
    let mut all = Vec::new();
    for t in &plan.tables {
        let table = quote_ident(&t.table);
        let differs = if t.compared.is_empty() {
            "'same'".to_owned()
        } else {
            format!(
                "CASE WHEN ROW({})::text IS DISTINCT FROM ROW({})::text THEN 'differs' ELSE 'same' END",
                list(&t.compared, "l."),
                list(&t.compared, "s.")
            )
        };
        let pred = plan.scope.predicate(&t.table, "l");
        tx.batch_execute(&format!(
            "UPDATE {stage} s SET k12ctl_state = coalesce((SELECT \
               CASE WHEN NOT coalesce({pred}, false) THEN 'foreign' ELSE {differs} END \
               FROM {table} l WHERE {m} LIMIT 1), 'missing'); \
             ANALYZE {stage}",
            stage = t.stage,
            m = matches(t, "l", "s"),
        ))
        .await
        .map_err(sql_err)
        .with_context(|| {
            format!(
                "cannot compare the backup's rows of {} with the database",
                t.table
            )
        })?;
        let row = tx
            .query_one(
                &format!(
                    "SELECT count(*), count(*) FILTER (WHERE k12ctl_state = 'missing'), \
                       count(*) FILTER (WHERE k12ctl_state = 'differs'), \
                       count(*) FILTER (WHERE k12ctl_state = 'same'), \
                       count(*) FILTER (WHERE k12ctl_state = 'foreign'), \
                       (SELECT count(*) FROM {table} l WHERE {pred} AND NOT EXISTS \
                          (SELECT 1 FROM {stage} s WHERE {m})) \
                     FROM {stage}",
                    stage = t.stage,
                    m = matches(t, "l", "s"),
                ),
                &[],
            )
            .await
            .map_err(sql_err)
            .with_context(|| format!("cannot count the rows of {}", t.table))?;
        all.push(TableCounts {
            table: t.table.clone(),
            reach: t.reach,
            backup_rows: row.get(0),
            missing: row.get(1),
            differ: row.get(2),
            unchanged: row.get(3),
            held_by_other_tenant: row.get(4),
            new_since_backup: row.get(5),
            inserted: 0,
            overwritten: 0,
        });
    }
    Ok(all)
}

/// The verdicts of the rows a run writes.
fn written_states(overwrite: bool) -> &'static str {
    if overwrite {
        "('missing', 'differs')"
    } else {
        "('missing')"
    }
}

/// Every row that cannot go back, found before anything is written.
pub async fn conflicts(
    tx: &Transaction<'_>,
    catalog: &Catalog,
    plan: &Plan,
    overwrite: bool,
) -> Result<Vec<Conflict>> {
    let mut found = Vec::new();
    for t in &plan.tables {
        let mut queries = vec![format!(
            "SELECT {}, 'the row with this key now belongs to another tenant' \
             FROM {} s WHERE k12ctl_state = 'foreign' ORDER BY 1 LIMIT {CONFLICTS_LISTED}",
            key_text(t, "s"),
            t.stage
        )];
        queries.extend(unique_queries(catalog, t, overwrite));
        queries.extend(parent_queries(catalog, plan, t, overwrite));
        for sql in queries {
            let rows = tx
                .query(&sql, &[])
                .await
                .map_err(sql_err)
                .with_context(|| format!("cannot check the rows of {} for conflicts", t.table))?;
            found.extend(rows.iter().map(|r| Conflict {
                table: t.table.clone(),
                row: r.get(0),
                problem: r.get(1),
            }));
        }
    }
    Ok(found)
}

/// A unique key (other than the primary key) that a row going back shares
/// with another row now. Partial indexes are checked with their predicate
/// on both sides; one whose predicate needs a column the backup lacks, and
/// expression indexes, are left to the server.
fn unique_queries(catalog: &Catalog, t: &TablePlan, overwrite: bool) -> Vec<String> {
    let missing_columns: Vec<&str> = catalog
        .typed_columns(&t.table)
        .iter()
        .map(|c| c.name.as_str())
        .filter(|c| !t.columns.iter().any(|x| x == c))
        .collect();
    catalog
        .unique_keys(&t.table)
        .filter(|u| !u.primary && u.columns.iter().all(|c| t.columns.contains(c)))
        .filter(|u| {
            u.predicate.as_deref().is_none_or(|p| {
                !missing_columns.iter().any(|c| {
                    p.split(|ch: char| !ch.is_alphanumeric() && ch != '_')
                        .any(|w| w == *c)
                })
            })
        })
        .map(|u| {
            let filter = u
                .predicate
                .as_deref()
                .map(|p| format!(" AND ({p})"))
                .unwrap_or_default();
            format!(
                "SELECT {key}, format('unique key %s %s is now taken by the row %s', {name}, \
                   ROW({sv})::text, {lkey}) \
                 FROM (SELECT * FROM {stage} WHERE k12ctl_state IN {states}{filter}) s \
                 JOIN (SELECT * FROM {table} WHERE true{filter}) l \
                   ON ({lv}) = ({sv}) AND NOT ({m}) \
                 ORDER BY 1 LIMIT {CONFLICTS_LISTED}",
                key = key_text(t, "s"),
                name = quote_literal(&format!("{} ({})", u.name, u.columns.join(", "))),
                sv = list(&u.columns, "s."),
                lv = list(&u.columns, "l."),
                lkey = key_text(t, "l"),
                stage = t.stage,
                states = written_states(overwrite),
                table = quote_ident(&t.table),
                m = matches(t, "l", "s"),
            )
        })
        .collect()
}

/// A row going back whose parent is neither in the database now nor among
/// the rows going back.
fn parent_queries(catalog: &Catalog, plan: &Plan, t: &TablePlan, overwrite: bool) -> Vec<String> {
    catalog
        .foreign_keys()
        .iter()
        .filter(|fk| fk.table == t.table && fk.columns.iter().all(|c| t.columns.contains(c)))
        .map(|fk| {
            let fk_cols = list(&fk.columns, "s.");
            let not_null: Vec<String> = fk
                .columns
                .iter()
                .map(|c| format!("s.{} IS NOT NULL", quote_ident(c)))
                .collect();
            let staged = plan
                .tables
                .iter()
                .find(|p| p.table == fk.parent)
                .filter(|p| fk.parent_columns.iter().all(|c| p.columns.contains(c)))
                .map(|p| {
                    format!(
                        " AND NOT EXISTS (SELECT 1 FROM {} p WHERE p.k12ctl_state = 'missing' \
                           AND ({}) = ({fk_cols}))",
                        p.stage,
                        list(&fk.parent_columns, "p.")
                    )
                })
                .unwrap_or_default();
            format!(
                "SELECT {key}, format('%s = %s: %s row %s is neither in the database nor among \
                   the rows going back', {cols}, ROW({fk_cols})::text, {parent}, ROW({fk_cols})::text) \
                 FROM {stage} s WHERE s.k12ctl_state IN {states} AND {not_null} \
                   AND NOT EXISTS (SELECT 1 FROM {ptable} p WHERE ({pcols}) = ({fk_cols})){staged} \
                 ORDER BY 1 LIMIT {CONFLICTS_LISTED}",
                key = key_text(t, "s"),
                cols = quote_literal(&fk.columns.join(", ")),
                parent = quote_literal(&fk.parent),
                stage = t.stage,
                states = written_states(overwrite),
                not_null = not_null.join(" AND "),
                ptable = quote_ident(&fk.parent),
                pcols = list(&fk.parent_columns, "p."),
            )
        })
        .collect()
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The rows that differ now, by key (the first `limit`), for the
/// confirmation of --overwrite-changed.
pub async fn differing(tx: &Transaction<'_>, plan: &Plan, limit: i64) -> Result<Vec<RowRef>> {
    let mut rows = Vec::new();
    for t in &plan.tables {
        let found = tx
            .query(
                &format!(
                    "SELECT {} FROM {} s WHERE k12ctl_state = 'differs' ORDER BY 1 LIMIT {limit}",
                    key_text(t, "s"),
                    t.stage
                ),
                &[],
            )
            .await
            .map_err(sql_err)?;
        rows.extend(found.iter().map(|r| RowRef {
            table: t.table.clone(),
            row: r.get(0),
        }));
    }
    Ok(rows)
}

/// Insert the missing rows parents first (deferred keys NULL), fill the
/// deferred keys, then replace differing rows when `overwrite`.
pub async fn write(
    tx: &Transaction<'_>,
    plan: &Plan,
    overwrite: bool,
    counts: &mut [TableCounts],
) -> Result<()> {
    for (t, c) in plan.tables.iter().zip(counts.iter_mut()) {
        let values: Vec<String> = t
            .columns
            .iter()
            .map(|col| {
                if t.deferred.iter().any(|fk| fk.columns.contains(col)) {
                    "NULL".to_owned()
                } else {
                    format!("s.{}", quote_ident(col))
                }
            })
            .collect();
        c.inserted = tx
            .execute(
                &format!(
                    "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM {} s \
                     WHERE s.k12ctl_state = 'missing'",
                    quote_ident(&t.table),
                    list(&t.columns, ""),
                    values.join(", "),
                    t.stage
                ),
                &[],
            )
            .await
            .map_err(sql_err)
            .with_context(|| format!("cannot re-insert the rows of {}", t.table))?;
    }
    for t in &plan.tables {
        for fk in &t.deferred {
            update(tx, t, &fk.columns, "missing").await?;
        }
    }
    if overwrite {
        for (t, c) in plan.tables.iter().zip(counts.iter_mut()) {
            let key = t.key.clone().unwrap_or_default();
            let columns: Vec<String> = t
                .columns
                .iter()
                .filter(|c| !key.contains(c))
                .cloned()
                .collect();
            c.overwritten = update(tx, t, &columns, "differs").await?;
        }
    }
    Ok(())
}

/// Set `columns` of the rows whose staged twin has the verdict `state`.
async fn update(
    tx: &Transaction<'_>,
    t: &TablePlan,
    columns: &[String],
    state: &str,
) -> Result<u64> {
    if columns.is_empty() || t.key.is_none() {
        return Ok(0);
    }
    let sets: Vec<String> = columns
        .iter()
        .map(|c| format!("{0} = s.{0}", quote_ident(c)))
        .collect();
    tx.execute(
        &format!(
            "UPDATE {} l SET {} FROM {} s WHERE s.k12ctl_state = '{state}' AND {}",
            quote_ident(&t.table),
            sets.join(", "),
            t.stage,
            matches(t, "l", "s")
        ),
        &[],
    )
    .await
    .map_err(sql_err)
    .with_context(|| format!("cannot update the rows of {}", t.table))
}

/// The counter caches of the tenant's rows, where the database has them.
pub async fn recompute_counters(
    tx: &Transaction<'_>,
    catalog: &Catalog,
    tenant_id: i64,
) -> Result<()> {
    crate::db::provision::update_tenant_counters(tx, catalog, tenant_id).await?;
    if catalog.has("sections", "tenant_id") && catalog.has("courses", "tenant_id") {
        let statements = enrollment_counters(
            catalog,
            &format!("SELECT id FROM sections WHERE tenant_id = {tenant_id}"),
            &format!("SELECT id FROM courses WHERE tenant_id = {tenant_id}"),
        );
        for sql in statements {
            tx.batch_execute(&sql)
                .await
                .map_err(sql_err)
                .context("cannot recompute the counter caches")?;
        }
    }
    Ok(())
}

/// An extract continues the backup's sequences: each is set to its value
/// in the backup's copy.
pub async fn copy_sequences(source: &Client, tx: &Transaction<'_>) -> Result<usize> {
    let values = source
        .query(
            "SELECT sequencename::text, last_value FROM pg_sequences \
             WHERE schemaname = current_schema() AND last_value IS NOT NULL",
            &[],
        )
        .await
        .context("cannot read the backup's sequences")?;
    let mut set = 0;
    for r in &values {
        let (name, value): (String, i64) = (r.get(0), r.get(1));
        set += tx
            .execute(
                "SELECT setval(c.oid, $2) FROM pg_class c WHERE c.relname = $1 AND c.relkind = 'S' \
                   AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())",
                &[&name, &value],
            )
            .await
            .map_err(sql_err)
            .with_context(|| format!("cannot set the sequence {name}"))? as usize;
    }
    Ok(set)
}
