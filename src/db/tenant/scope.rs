//! Which rows are one school's, found from the catalog rather than a hand
//! list: the tenant's own row (by id), every row of a table with a
//! `tenant_id` column for that tenant, and rows of tables without one that
//! hang on those through foreign keys (join tables), found round by round.
//! Everything else is global (districts, schema_migrations, backup_records):
//! listed and left alone, except that an extract takes the global rows the
//! tenant's rows reference and Rails' schema bookkeeping whole.
//!
//! The order of writes is parents first. The platform's schema has foreign
//! key cycles (a plan and its current version point at each other): a cycle
//! is broken at a nullable foreign key, whose columns are written NULL first
//! and filled once both sides are in (`deferred`).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;
use serde::Serialize;

use crate::db::quote_ident;
use crate::db::schema::{Catalog, ForeignKey};

/// The platform's tenant table, its key column on other tables, its slug.
pub const TENANTS: &str = "tenants";
pub const TENANT_ID: &str = "tenant_id";
pub const SLUG: &str = "slug";

/// Rails' bookkeeping of the schema itself: copied whole into an extract.
pub const SCHEMA_METADATA: [&str; 2] = ["schema_migrations", "ar_internal_metadata"];

/// How a table's rows are reached from the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reach {
    /// The tenant's own row.
    Tenant,
    /// Rows whose `tenant_id` is the tenant's.
    TenantId,
    /// Rows without `tenant_id` that reference the tenant's rows.
    ForeignKey,
    /// Global rows the tenant's rows reference: copied into an extract only.
    Referenced,
    /// Rails' schema bookkeeping: copied whole into an extract only.
    SchemaMetadata,
    /// Global rows: left alone.
    Global,
}

impl Reach {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tenant => "tenant row",
            Self::TenantId => "tenant_id",
            Self::ForeignKey => "foreign key",
            Self::Referenced => "referenced",
            Self::SchemaMetadata => "schema metadata",
            Self::Global => "global",
        }
    }

    /// Rows of the tenant itself (as opposed to global rows).
    pub fn is_tenant(self) -> bool {
        matches!(self, Self::Tenant | Self::TenantId | Self::ForeignKey)
    }
}

#[derive(Debug, Clone)]
pub struct ScopedTable {
    pub table: String,
    pub reach: Reach,
    /// ForeignKey: the keys through which it hangs on tenant rows;
    /// Referenced: the keys of copied tables that point at it.
    pub via: Vec<ForeignKey>,
}

/// The tenant's tables of one database, in write order.
#[derive(Debug, Clone)]
pub struct Scope {
    pub tenant_id: i64,
    tables: BTreeMap<String, ScopedTable>,
    /// The copied tables, parents first.
    pub order: Vec<String>,
    /// Foreign keys written NULL first and filled last (cycles).
    pub deferred: Vec<ForeignKey>,
}

impl Scope {
    /// The scope of `tenant_id` in `catalog`; `extract` adds the global rows
    /// an extract needs. Fails on a cycle of NOT NULL foreign keys.
    pub fn new(catalog: &Catalog, tenant_id: i64, extract: bool) -> Result<Self> {
        let mut tables: BTreeMap<String, ScopedTable> = catalog
            .tables()
            .map(|t| {
                let reach = if t == TENANTS {
                    Reach::Tenant
                } else if catalog.has(t, TENANT_ID) {
                    Reach::TenantId
                } else if SCHEMA_METADATA.contains(&t) {
                    Reach::SchemaMetadata
                } else {
                    Reach::Global
                };
                let table = ScopedTable {
                    table: t.to_owned(),
                    reach,
                    via: Vec::new(),
                };
                (t.to_owned(), table)
            })
            .collect();
        let fks = catalog.foreign_keys();
        // Round by round, so that a table's predicate only refers to tables
        // reached before it: no predicate can refer to itself.
        grow(&mut tables, fks, Reach::ForeignKey, |fk, t| {
            t.get(&fk.parent).is_some_and(|p| p.reach.is_tenant()) && fk.table != fk.parent
        });
        if extract {
            grow(&mut tables, fks, Reach::Referenced, |fk, t| {
                t.get(&fk.table)
                    .is_some_and(|c| c.reach.is_tenant() || c.reach == Reach::Referenced)
                    && fk.table != fk.parent
            });
        }
        let copied: BTreeSet<String> = tables
            .values()
            .filter(|t| {
                t.reach.is_tenant()
                    || (extract && matches!(t.reach, Reach::Referenced | Reach::SchemaMetadata))
            })
            .map(|t| t.table.clone())
            .collect();
        let (order, deferred) = write_order(catalog, &copied)?;
        Ok(Self {
            tenant_id,
            tables,
            order,
            deferred,
        })
    }

    pub fn get(&self, table: &str) -> Option<&ScopedTable> {
        self.tables.get(table)
    }

    /// Every table of the database with its reach, in name order.
    pub fn all(&self) -> impl Iterator<Item = &ScopedTable> {
        self.tables.values()
    }

    /// The SQL condition that a row `alias` of `table` is in the scope.
    pub fn predicate(&self, table: &str, alias: &str) -> String {
        self.predicate_at(table, alias, 0)
    }

    fn predicate_at(&self, table: &str, alias: &str, depth: usize) -> String {
        let Some(t) = self.tables.get(table) else {
            return "false".into();
        };
        let inner = format!("k12_{depth}");
        let columns = |a: &str, cols: &[String]| -> String {
            let list: Vec<String> = cols
                .iter()
                .map(|c| format!("{a}.{}", quote_ident(c)))
                .collect();
            list.join(", ")
        };
        let any = |parts: Vec<String>| {
            if parts.is_empty() {
                "false".to_owned()
            } else {
                format!("({})", parts.join(" OR "))
            }
        };
        match t.reach {
            Reach::Tenant => format!("{alias}.id = {}", self.tenant_id),
            Reach::TenantId => format!("{alias}.{TENANT_ID} = {}", self.tenant_id),
            Reach::SchemaMetadata => "true".into(),
            Reach::Global => "false".into(),
            Reach::ForeignKey => any(t
                .via
                .iter()
                .map(|fk| {
                    format!(
                        "({}) IN (SELECT {} FROM {} {inner} WHERE {})",
                        columns(alias, &fk.columns),
                        columns(&inner, &fk.parent_columns),
                        quote_ident(&fk.parent),
                        self.predicate_at(&fk.parent, &inner, depth + 1)
                    )
                })
                .collect()),
            Reach::Referenced => any(t
                .via
                .iter()
                .map(|fk| {
                    format!(
                        "({}) IN (SELECT {} FROM {} {inner} WHERE {})",
                        columns(alias, &fk.parent_columns),
                        columns(&inner, &fk.columns),
                        quote_ident(&fk.table),
                        self.predicate_at(&fk.table, &inner, depth + 1)
                    )
                })
                .collect()),
        }
    }
}

/// Give `reach` to global tables that `joins` a table already reached, one
/// round at a time, until a round adds nothing.
fn grow(
    tables: &mut BTreeMap<String, ScopedTable>,
    fks: &[ForeignKey],
    reach: Reach,
    joins: impl Fn(&ForeignKey, &BTreeMap<String, ScopedTable>) -> bool,
) {
    loop {
        let mut found: BTreeMap<String, Vec<ForeignKey>> = BTreeMap::new();
        for fk in fks.iter().filter(|fk| joins(fk, tables)) {
            let candidate = if reach == Reach::ForeignKey {
                &fk.table
            } else {
                &fk.parent
            };
            if tables
                .get(candidate)
                .is_some_and(|t| t.reach == Reach::Global)
            {
                found.entry(candidate.clone()).or_default().push(fk.clone());
            }
        }
        if found.is_empty() {
            return;
        }
        for (table, via) in found {
            if let Some(t) = tables.get_mut(&table) {
                t.reach = reach;
                t.via = via;
            }
        }
    }
}

/// Parents first. When every remaining table waits for another (a cycle),
/// the first foreign key of the cycle whose columns may be NULL is deferred.
fn write_order(
    catalog: &Catalog,
    copied: &BTreeSet<String>,
) -> Result<(Vec<String>, Vec<ForeignKey>)> {
    let mut edges: Vec<&ForeignKey> = catalog
        .foreign_keys()
        .iter()
        .filter(|fk| fk.table != fk.parent && copied.contains(&fk.table))
        .filter(|fk| copied.contains(&fk.parent))
        .collect();
    let mut remaining = copied.clone();
    let mut order = Vec::new();
    let mut deferred = Vec::new();
    while !remaining.is_empty() {
        let waiting: BTreeSet<&str> = edges
            .iter()
            .filter(|fk| remaining.contains(&fk.parent))
            .map(|fk| fk.table.as_str())
            .collect();
        let ready: Vec<String> = remaining
            .iter()
            .filter(|t| !waiting.contains(t.as_str()))
            .cloned()
            .collect();
        if !ready.is_empty() {
            for t in ready {
                remaining.remove(&t);
                order.push(t);
            }
            continue;
        }
        let nullable = edges.iter().position(|fk| {
            remaining.contains(&fk.parent)
                && fk
                    .columns
                    .iter()
                    .all(|c| !catalog.is_not_null(&fk.table, c))
        });
        let Some(at) = nullable else {
            anyhow::bail!(
                "the tables {} reference each other through NOT NULL foreign keys: k12ctl \
                 cannot order their rows",
                remaining.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        };
        deferred.push(edges.remove(at).clone());
    }
    Ok((order, deferred))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::from_keys(
            &[
                ("districts", &[("id", "bigint")]),
                ("tenants", &[("id", "bigint"), ("district_id", "bigint")]),
                ("users", &[("id", "bigint"), ("tenant_id", "bigint!")]),
                ("courses", &[("id", "bigint"), ("tenant_id", "bigint!")]),
                (
                    "plans",
                    &[
                        ("id", "bigint"),
                        ("tenant_id", "bigint!"),
                        ("current_version_id", "bigint"),
                    ],
                ),
                (
                    "plan_versions",
                    &[
                        ("id", "bigint"),
                        ("tenant_id", "bigint!"),
                        ("plan_id", "bigint!"),
                    ],
                ),
                (
                    "courses_users",
                    &[("course_id", "bigint!"), ("user_id", "bigint!")],
                ),
                ("likes", &[("id", "bigint"), ("courses_user_id", "bigint")]),
                ("schema_migrations", &[("version", "character varying")]),
                ("backup_records", &[("id", "bigint")]),
            ],
            &[("tenants", &["id"]), ("users", &["id"])],
            &[
                ("tenants", "district_id", "districts"),
                ("users", "tenant_id", "tenants"),
                ("courses", "tenant_id", "tenants"),
                ("plans", "current_version_id", "plan_versions"),
                ("plan_versions", "plan_id", "plans"),
                ("courses_users", "course_id", "courses"),
                ("courses_users", "user_id", "users"),
                ("likes", "courses_user_id", "courses_users"),
            ],
        )
    }

    #[test]
    fn tables_are_reached_by_tenant_id_then_by_foreign_keys() {
        let scope = Scope::new(&catalog(), 7, false).unwrap();
        let reach = |t: &str| scope.get(t).unwrap().reach;
        assert_eq!(reach("tenants"), Reach::Tenant);
        assert_eq!(reach("users"), Reach::TenantId);
        assert_eq!(reach("courses_users"), Reach::ForeignKey);
        assert_eq!(reach("likes"), Reach::ForeignKey, "two hops away");
        assert_eq!(reach("districts"), Reach::Global, "left alone by a merge");
        assert_eq!(reach("schema_migrations"), Reach::SchemaMetadata);
        assert_eq!(scope.get("courses_users").unwrap().via.len(), 2);
        assert!(!scope.order.contains(&"districts".to_owned()));
        assert_eq!(
            scope.predicate("users", "t"),
            format!("t.{TENANT_ID} = 7"),
            "a plain column test"
        );
        let likes = scope.predicate("likes", "t");
        assert!(
            likes.contains(r#"(t."courses_user_id") IN (SELECT k12_0."id" FROM"#)
                && likes.contains("k12_1"),
            "{likes}"
        );
    }

    #[test]
    fn an_extract_adds_referenced_globals_and_schema_metadata() {
        let scope = Scope::new(&catalog(), 7, true).unwrap();
        assert_eq!(scope.get("districts").unwrap().reach, Reach::Referenced);
        assert_eq!(scope.get("backup_records").unwrap().reach, Reach::Global);
        let order = &scope.order;
        let at = |t: &str| order.iter().position(|o| o == t).unwrap();
        assert!(at("districts") < at("tenants"));
        assert!(order.contains(&"schema_migrations".to_owned()));
        assert!(!order.contains(&"backup_records".to_owned()));
        assert_eq!(scope.predicate("schema_migrations", "t"), "true");
        assert!(scope
            .predicate("districts", "t")
            .contains("FROM \"tenants\" k12_0 WHERE k12_0.id = 7"));
    }

    #[test]
    fn parents_come_first_and_a_cycle_is_broken_at_a_nullable_key() {
        let scope = Scope::new(&catalog(), 7, false).unwrap();
        let at = |t: &str| scope.order.iter().position(|o| o == t).unwrap();
        assert!(at("tenants") < at("users"));
        assert!(at("users") < at("courses_users"));
        assert!(at("courses_users") < at("likes"));
        assert!(at("plans") < at("plan_versions"));
        assert_eq!(scope.deferred.len(), 1);
        assert_eq!(scope.deferred[0].columns, ["current_version_id"]);
    }

    #[test]
    fn a_cycle_of_not_null_keys_is_refused() {
        let catalog = Catalog::from_keys(
            &[
                (
                    "a",
                    &[
                        ("id", "bigint"),
                        ("tenant_id", "bigint"),
                        ("b_id", "bigint!"),
                    ],
                ),
                (
                    "b",
                    &[
                        ("id", "bigint"),
                        ("tenant_id", "bigint"),
                        ("a_id", "bigint!"),
                    ],
                ),
            ],
            &[],
            &[("a", "b_id", "b"), ("b", "a_id", "a")],
        );
        let err = Scope::new(&catalog, 1, false).unwrap_err().to_string();
        assert!(err.contains("a, b"), "{err}");
    }
}
