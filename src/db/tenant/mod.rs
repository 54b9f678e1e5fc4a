//! One school's rows out of a restored copy of a backup: which they are
//! (`scope.rs`), moving them into temporary tables of the target with binary
//! COPY (`stage.rs`), and comparing, checking and writing them there in one
//! transaction (`merge.rs`).
//!
//! The same machinery serves both uses of `restore --tenant`: a merge into a
//! live database (rows missing now go back with their ids; nothing that
//! exists is touched unless asked) and an extract into a new database that
//! holds the schema only, where every row is missing.

use anyhow::{Context, Result};
use serde::Serialize;
use tokio_postgres::GenericClient;

use super::quote_ident;
use super::schema::{Catalog, ForeignKey};
use crate::exit;

mod merge;
pub mod scope;
mod stage;

pub use merge::{
    classify, conflicts, copy_sequences, differing, lock, recompute_counters, write, Conflict,
    RowRef, TableCounts,
};
pub use scope::{Reach, Scope};
pub use stage::stage;

/// Counter caches k12ctl keeps exact (scripts/check-counters.sql): they are
/// recomputed after a merge, so their values do not make a row "differ".
const COUNTERS: [(&str, &str); 4] = [
    ("tenants", "schools_count"),
    ("tenants", "courses_count"),
    ("sections", "enrollments_count"),
    ("courses", "enrollments_count"),
];

/// What happens to one table's rows.
#[derive(Debug, Clone)]
pub struct TablePlan {
    pub table: String,
    pub reach: Reach,
    /// The columns moved: the target's, written by clients, that the backup has too.
    pub columns: Vec<String>,
    /// The target's primary key; None: whole rows (an extract only).
    pub key: Option<Vec<String>>,
    /// The columns that decide whether a row differs (counter caches left out).
    pub compared: Vec<String>,
    /// Foreign keys of this table written NULL first and filled last.
    pub deferred: Vec<ForeignKey>,
    /// The temporary table in the target.
    pub stage: String,
}

/// A table the restore cannot take rows of, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub table: String,
    pub reason: String,
}

/// The whole restore of one tenant: its tables in write order.
#[derive(Debug, Clone)]
pub struct Plan {
    pub scope: Scope,
    pub tables: Vec<TablePlan>,
    pub skipped: Vec<Skipped>,
}

impl Plan {
    /// The plan for `tenant_id` from the backup (`source`, the scratch copy)
    /// into `target`. Fails, naming every column, when a column changed type
    /// since the backup or the target has a NOT NULL column the backup cannot fill.
    pub fn new(target: &Catalog, source: &Catalog, tenant_id: i64, extract: bool) -> Result<Self> {
        let scope = Scope::new(target, tenant_id, extract)?;
        let mut tables = Vec::new();
        let mut skipped = Vec::new();
        let mut changed_type = Vec::new();
        for table in &scope.order {
            if !source.has_table(table) {
                skipped.push(Skipped {
                    table: table.clone(),
                    reason: "not in the backup (created since)".into(),
                });
                continue;
            }
            let key = target.primary_key(table).map(<[String]>::to_vec);
            if key.is_none() && !extract {
                skipped.push(Skipped {
                    table: table.clone(),
                    reason: "no primary key: rows cannot be matched".into(),
                });
                continue;
            }
            let mut columns = Vec::new();
            for c in target.typed_columns(table).iter().filter(|c| !c.generated) {
                match source
                    .typed_columns(table)
                    .iter()
                    .find(|s| s.name == c.name)
                {
                    Some(s) if s.type_name == c.type_name => columns.push(c.name.clone()),
                    Some(s) => changed_type.push(format!(
                        "{table}.{} ({} in the backup, {} now)",
                        c.name, s.type_name, c.type_name
                    )),
                    None => {}
                }
            }
            let compared = columns
                .iter()
                .filter(|c| !COUNTERS.contains(&(table.as_str(), c.as_str())))
                .cloned()
                .collect();
            let deferred = scope
                .deferred
                .iter()
                .filter(|fk| &fk.table == table)
                .cloned()
                .collect();
            let stage = format!("k12ctl_tenant_{}", tables.len());
            tables.push(TablePlan {
                table: table.clone(),
                reach: scope.get(table).map_or(Reach::Global, |t| t.reach),
                columns,
                key,
                compared,
                deferred,
                stage,
            });
        }
        for table in source.tables().filter(|t| !target.has_table(t)) {
            if source.has(table, scope::TENANT_ID) {
                skipped.push(Skipped {
                    table: table.to_owned(),
                    reason: "no longer in the database (dropped since the backup)".into(),
                });
            }
        }
        if !changed_type.is_empty() {
            anyhow::bail!(
                "columns changed type since the backup: {}; k12ctl cannot move these rows \
                 (extract the tenant with --create and move them by hand)",
                changed_type.join(", ")
            );
        }
        let writes: Vec<(&str, Vec<&str>)> = tables
            .iter()
            .map(|t| {
                let cols = t.columns.iter().map(String::as_str).collect();
                (t.table.as_str(), cols)
            })
            .collect();
        target.check_writes("restoring the tenant's rows", &writes)?;
        Ok(Self {
            scope,
            tables,
            skipped,
        })
    }
}

/// The id of the tenant with subdomain `slug` in the backup's copy; exit 1
/// naming the tenants it has when there is none.
pub async fn find_tenant(source: &impl GenericClient, slug: &str, backup: &str) -> Result<i64> {
    let sql = format!(
        "SELECT id FROM {} WHERE {} = $1",
        quote_ident(scope::TENANTS),
        quote_ident(scope::SLUG)
    );
    if let Some(row) = source
        .query_opt(&sql, &[&slug])
        .await
        .context("cannot look up the tenant in the backup")?
    {
        return Ok(row.get(0));
    }
    let slugs: Vec<String> = source
        .query(
            &format!(
                "SELECT {0}::text FROM {1} ORDER BY {0}",
                quote_ident(scope::SLUG),
                quote_ident(scope::TENANTS)
            ),
            &[],
        )
        .await
        .context("cannot list the tenants of the backup")?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let known = if slugs.is_empty() {
        "it has no tenants".to_owned()
    } else {
        format!("its tenants: {}", slugs.join(", "))
    };
    Err(anyhow::anyhow!(
        "no tenant has the subdomain {slug:?} in {backup} ({known})"
    ))
}

/// Fail with exit 2 unless the database has the platform's tenant table.
pub fn require(catalog: &Catalog) -> Result<()> {
    if catalog.has(scope::TENANTS, "id") && catalog.has(scope::TENANTS, scope::SLUG) {
        return Ok(());
    }
    Err(exit::usage(format!(
        "this database has no {}.id and {}.{}: restore --tenant needs the platform's tenants table",
        scope::TENANTS,
        scope::TENANTS,
        scope::SLUG
    )))
}
