//! What the database's platform tables look like, read once per run from the
//! catalog, so that provisioning and imports write what this database has:
//! the platform's schema of any date, the task documents' variant with its
//! counter caches, or a later migration that adds or drops a column.
//!
//! Two questions are asked before any write: does the database have the
//! columns a command cannot do without (`require`), and does a table have a
//! NOT NULL column without a default that k12ctl would leave empty
//! (`unfillable`)? Either fails naming every table and column at once.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use tokio_postgres::GenericClient;

mod keys;
pub use keys::ForeignKey;

/// (table, columns) a command cannot do without.
pub type Needs = &'static [(&'static str, &'static [&'static str])];

/// What `provision school` writes and `provision status` reads, at least.
/// The rest (districts, settings, counters, provider configs, frameworks,
/// terms) is written where the database has it.
pub const PROVISION: Needs = &[
    ("tenants", &["id", "name", "slug"]),
    ("schools", &["id", "tenant_id", "name"]),
    ("roles", &["id", "tenant_id", "name"]),
    ("user_roles", &["id", "tenant_id", "user_id", "role_id"]),
    (
        "permissions",
        &[
            "id",
            "tenant_id",
            "role_id",
            "resource",
            "action",
            "granted",
        ],
    ),
    (
        "users",
        &["id", "tenant_id", "email", "first_name", "last_name"],
    ),
    (
        "academic_years",
        &["id", "tenant_id", "name", "start_date", "end_date"],
    ),
    (
        "ai_task_policies",
        &["id", "tenant_id", "created_by_id", "task_type", "enabled"],
    ),
    ("courses", &["id", "tenant_id"]),
];

/// What `import csv` writes, at least.
pub const IMPORT: Needs = &[
    ("tenants", &["id", "slug"]),
    (
        "users",
        &["id", "tenant_id", "email", "first_name", "last_name"],
    ),
    ("roles", &["id", "tenant_id", "name"]),
    ("user_roles", &["id", "tenant_id", "user_id", "role_id"]),
    (
        "academic_years",
        &["id", "tenant_id", "name", "start_date", "end_date"],
    ),
    ("courses", &["id", "tenant_id", "academic_year_id", "name"]),
    ("sections", &["id", "tenant_id", "course_id", "name"]),
    (
        "enrollments",
        &["id", "tenant_id", "user_id", "section_id", "role"],
    ),
];

/// Rails' timestamps, written wherever a table has them.
pub const TIMESTAMPS: [&str; 2] = ["created_at", "updated_at"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub not_null: bool,
    /// A default, an identity or a generated column: the server fills it.
    pub filled_by_server: bool,
}

/// The tables of the current schema and their columns.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    database: String,
    tables: BTreeMap<String, BTreeMap<String, Column>>,
    /// Keys and typed columns (`keys.rs`).
    keys: keys::Keys,
}

impl Catalog {
    /// Read the tables of the connection's current schema.
    pub async fn read(client: &impl GenericClient) -> Result<Self> {
        let rows = client
            .query(
                "SELECT c.relname::text, a.attname::text, a.attnotnull, \
                   a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '' \
                 FROM pg_attribute a \
                 JOIN pg_class c ON c.oid = a.attrelid \
                 WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema()) \
                   AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped",
                &[],
            )
            .await
            .context("cannot read the database's tables")?;
        let mut catalog = Self {
            database: client
                .query_one("SELECT current_database()::text", &[])
                .await
                .context("cannot read the database's name")?
                .get(0),
            tables: BTreeMap::new(),
            keys: keys::Keys::read(client).await?,
        };
        for r in rows {
            catalog.tables.entry(r.get(0)).or_default().insert(
                r.get(1),
                Column {
                    not_null: r.get(2),
                    filled_by_server: r.get(3),
                },
            );
        }
        Ok(catalog)
    }

    /// A catalog from (table, column, not null, filled by the server).
    #[cfg(test)]
    pub(crate) fn from_columns(columns: &[(&str, &str, bool, bool)]) -> Self {
        let mut catalog = Self::default();
        for (table, column, not_null, filled) in columns {
            catalog
                .tables
                .entry((*table).to_owned())
                .or_default()
                .insert(
                    (*column).to_owned(),
                    Column {
                        not_null: *not_null,
                        filled_by_server: *filled,
                    },
                );
        }
        catalog
    }

    pub fn has_table(&self, table: &str) -> bool {
        self.tables.contains_key(table)
    }

    pub fn has(&self, table: &str, column: &str) -> bool {
        self.tables
            .get(table)
            .is_some_and(|t| t.contains_key(column))
    }

    /// Fail with everything in `needs` that is missing, in one message.
    pub fn require(&self, needs: Needs) -> Result<()> {
        let mut missing = Vec::new();
        for (table, columns) in needs {
            if !self.has_table(table) {
                missing.push(format!("table {table}"));
                continue;
            }
            for column in columns.iter().chain(&TIMESTAMPS) {
                if !self.has(table, column) {
                    missing.push(format!("column {table}.{column}"));
                }
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        anyhow::bail!(
            "{} is not a platform database k12ctl can write to: missing {} (run the platform's \
             migrations, or load its schema into a new database)",
            self.database,
            missing.join(", ")
        )
    }

    /// NOT NULL columns without a default that a write of `written` into
    /// `table` would leave empty, as `table.column`.
    pub fn unfillable(&self, table: &str, written: &[&str]) -> Vec<String> {
        let Some(columns) = self.tables.get(table) else {
            return Vec::new();
        };
        columns
            .iter()
            .filter(|(name, c)| {
                c.not_null && !c.filled_by_server && !written.contains(&name.as_str())
            })
            .map(|(name, _)| format!("{table}.{name}"))
            .collect()
    }

    /// Refuse, before any write, when a table k12ctl inserts into has a
    /// NOT NULL column without a default that it does not fill.
    /// `writes`: (table, the columns the insert gives).
    pub fn check_writes(&self, what: &str, writes: &[(&str, Vec<&str>)]) -> Result<()> {
        let unfillable: BTreeSet<String> = writes
            .iter()
            .flat_map(|(table, written)| self.unfillable(table, written))
            .collect();
        if unfillable.is_empty() {
            return Ok(());
        }
        let list: Vec<String> = unfillable.into_iter().collect();
        anyhow::bail!(
            "{what} would leave NOT NULL column{} {} of {} empty: the column has no default and \
             k12ctl does not know what to write there; nothing was written (give the column a \
             default in a migration, or ask for k12ctl to learn it)",
            if list.len() == 1 { "" } else { "s" },
            list.join(", "),
            self.database
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::from_columns(&[
            ("tenants", "id", true, true),
            ("tenants", "name", true, false),
            ("tenants", "slug", true, false),
            ("tenants", "settings", false, true),
            ("tenants", "region", true, false),
            ("tenants", "created_at", true, false),
            ("tenants", "updated_at", true, false),
        ])
    }

    #[test]
    fn missing_tables_and_columns_are_named_together() {
        let err = catalog()
            .require(&[("tenants", &["id", "district_id"]), ("schools", &["id"])])
            .unwrap_err()
            .to_string();
        assert!(err.contains("column tenants.district_id"), "{err}");
        assert!(err.contains("table schools"), "{err}");
        assert!(catalog().require(&[("tenants", &["id", "slug"])]).is_ok());
    }

    #[test]
    fn not_null_without_default_is_unfillable_unless_written() {
        let c = catalog();
        let written = ["name", "slug", "created_at", "updated_at"];
        assert_eq!(c.unfillable("tenants", &written), ["tenants.region"]);
        assert!(c
            .unfillable(
                "tenants",
                &["name", "slug", "region", "created_at", "updated_at"]
            )
            .is_empty());
        let err = c
            .check_writes("provisioning", &[("tenants", written.to_vec())])
            .unwrap_err()
            .to_string();
        assert!(err.contains("tenants.region"), "{err}");
    }
}
