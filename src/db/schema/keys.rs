//! The keys of the current schema, read from pg_catalog next to the columns:
//! primary keys, unique indexes and foreign keys, and every table's columns
//! in their order with their types. This is what a tenant restore needs to
//! find a school's rows (tenant_id, and the tables that hang on them through
//! foreign keys), to order its writes (parents first) and to find conflicts
//! (a unique key now taken) before it writes.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use tokio_postgres::GenericClient;

use super::Catalog;

/// A column, in table order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypedColumn {
    pub name: String,
    /// `format_type()`: "bigint", "character varying", "jsonb", ...
    pub type_name: String,
    /// A generated column: computed by the server, never written.
    pub generated: bool,
}

/// `table (columns) REFERENCES parent (parent_columns)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub name: String,
    pub table: String,
    pub columns: Vec<String>,
    pub parent: String,
    pub parent_columns: Vec<String>,
}

/// A unique index on plain columns (expression indexes are left to the
/// server); `predicate` is the WHERE of a partial index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueKey {
    pub name: String,
    pub table: String,
    pub columns: Vec<String>,
    pub primary: bool,
    pub predicate: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct Keys {
    pub columns: BTreeMap<String, Vec<TypedColumn>>,
    pub unique: Vec<UniqueKey>,
    pub foreign: Vec<ForeignKey>,
}

const CURRENT_SCHEMA: &str = "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())";

impl Keys {
    pub async fn read(client: &impl GenericClient) -> Result<Self> {
        let mut keys = Self::default();
        let columns = client
            .query(
                &format!(
                    "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), \
                       a.attgenerated <> '' \
                     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
                     WHERE c.relnamespace = {CURRENT_SCHEMA} AND c.relkind IN ('r', 'p') \
                       AND a.attnum > 0 AND NOT a.attisdropped \
                     ORDER BY c.relname, a.attnum"
                ),
                &[],
            )
            .await
            .context("cannot read the database's column types")?;
        for r in columns {
            keys.columns.entry(r.get(0)).or_default().push(TypedColumn {
                name: r.get(1),
                type_name: r.get(2),
                generated: r.get(3),
            });
        }
        let names = |rel: &str, list: &str, limit: &str| {
            format!(
                "ARRAY(SELECT a.attname::text FROM unnest({list}) WITH ORDINALITY o(n, i) \
                   JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = o.n \
                 WHERE o.i <= {limit} ORDER BY o.i)"
            )
        };
        let unique = client
            .query(
                &format!(
                    "SELECT i.relname::text, c.relname::text, x.indisprimary, {}, \
                       pg_get_expr(x.indpred, x.indrelid) \
                     FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid \
                       JOIN pg_class i ON i.oid = x.indexrelid \
                     WHERE x.indisunique AND c.relnamespace = {CURRENT_SCHEMA} \
                       AND c.relkind IN ('r', 'p') AND x.indexprs IS NULL \
                     ORDER BY c.relname, NOT x.indisprimary, i.relname",
                    names("x.indrelid", "x.indkey::int2[]", "x.indnkeyatts")
                ),
                &[],
            )
            .await
            .context("cannot read the database's unique indexes")?;
        keys.unique = unique
            .iter()
            .map(|r| UniqueKey {
                name: r.get(0),
                table: r.get(1),
                primary: r.get(2),
                columns: r.get(3),
                predicate: r.get(4),
            })
            .collect();
        let foreign = client
            .query(
                &format!(
                    "SELECT k.conname::text, c.relname::text, {}, p.relname::text, {} \
                     FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
                       JOIN pg_class p ON p.oid = k.confrelid \
                     WHERE k.contype = 'f' AND c.relnamespace = {CURRENT_SCHEMA} \
                       AND p.relnamespace = {CURRENT_SCHEMA} \
                     ORDER BY c.relname, k.conname",
                    names("k.conrelid", "k.conkey", "1000"),
                    names("k.confrelid", "k.confkey", "1000")
                ),
                &[],
            )
            .await
            .context("cannot read the database's foreign keys")?;
        keys.foreign = foreign
            .iter()
            .map(|r| ForeignKey {
                name: r.get(0),
                table: r.get(1),
                columns: r.get(2),
                parent: r.get(3),
                parent_columns: r.get(4),
            })
            .collect();
        Ok(keys)
    }
}

impl Catalog {
    /// The tables, in name order.
    pub fn tables(&self) -> impl Iterator<Item = &str> {
        self.tables.keys().map(String::as_str)
    }

    /// A table's columns in table order, with their types (empty for an
    /// unknown table).
    pub fn typed_columns(&self, table: &str) -> &[TypedColumn] {
        self.keys.columns.get(table).map_or(&[], Vec::as_slice)
    }

    /// The primary key's columns; None when the table has none.
    pub fn primary_key(&self, table: &str) -> Option<&[String]> {
        self.keys
            .unique
            .iter()
            .find(|u| u.primary && u.table == table)
            .map(|u| u.columns.as_slice())
    }

    /// Unique indexes of a table, the primary key first.
    pub fn unique_keys<'a>(&'a self, table: &'a str) -> impl Iterator<Item = &'a UniqueKey> {
        self.keys.unique.iter().filter(move |u| u.table == table)
    }

    /// Every foreign key of the schema.
    pub fn foreign_keys(&self) -> &[ForeignKey] {
        &self.keys.foreign
    }

    /// Whether a column is NOT NULL (false for an unknown column).
    pub fn is_not_null(&self, table: &str, column: &str) -> bool {
        self.tables
            .get(table)
            .and_then(|t| t.get(column))
            .is_some_and(|c| c.not_null)
    }

    /// A catalog for tests: (table, columns with types; a type ending in
    /// `!` is NOT NULL), primary keys
    /// `("table", &["id"])` and foreign keys `(table, column, parent)` to
    /// the parent's `id`.
    #[cfg(test)]
    pub(crate) fn from_keys(
        tables: &[(&str, &[(&str, &str)])],
        primary: &[(&str, &[&str])],
        foreign: &[(&str, &str, &str)],
    ) -> Self {
        let mut columns = Vec::new();
        for (table, cols) in tables {
            for (name, ty) in *cols {
                columns.push((*table, *name, ty.ends_with('!'), false));
            }
        }
        let mut catalog = Self::from_columns(&columns);
        for (table, cols) in tables {
            catalog.keys.columns.insert(
                (*table).to_owned(),
                cols.iter()
                    .map(|(name, ty)| TypedColumn {
                        name: (*name).to_owned(),
                        type_name: ty.trim_end_matches('!').to_owned(),
                        generated: false,
                    })
                    .collect(),
            );
        }
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        catalog.keys.unique = primary
            .iter()
            .map(|(table, cols)| UniqueKey {
                name: format!("{table}_pkey"),
                table: (*table).to_owned(),
                columns: owned(cols),
                primary: true,
                predicate: None,
            })
            .collect();
        catalog.keys.foreign = foreign
            .iter()
            .map(|(table, column, parent)| ForeignKey {
                name: format!("fk_{table}_{column}"),
                table: (*table).to_owned(),
                columns: vec![(*column).to_owned()],
                parent: (*parent).to_owned(),
                parent_columns: vec!["id".to_owned()],
            })
            .collect();
        catalog
    }
}
