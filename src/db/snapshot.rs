//! The consistent view a backup describes: a REPEATABLE READ transaction
//! exports its snapshot; pg_dump and the row counter both import it, so the
//! counts in the manifest describe exactly the dumped data, even while the
//! platform keeps writing.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use tokio_postgres::Client;

use super::quote_ident;

/// Open the exporting transaction on `client` and return the snapshot id.
/// The snapshot stays importable for as long as this transaction is open.
pub async fn export(client: &Client) -> Result<String> {
    client
        .batch_execute(
            "SET idle_in_transaction_session_timeout = 0; \
             BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        )
        .await
        .context("cannot open the snapshot transaction")?;
    let id: String = client
        .query_one("SELECT pg_export_snapshot()", &[])
        .await
        .context("cannot export a snapshot (is this a hot standby without hot_standby_feedback?)")?
        .get(0);
    Ok(id)
}

/// Import an exported snapshot into a new transaction on `client`.
pub async fn import(client: &Client, snapshot_id: &str) -> Result<()> {
    client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    // SET TRANSACTION SNAPSHOT takes a literal, not a parameter; the id is
    // produced by the server (hex digits and dashes) and quoted anyway.
    let literal = format!("'{}'", snapshot_id.replace('\'', "''"));
    client
        .batch_execute(&format!("SET TRANSACTION SNAPSHOT {literal}"))
        .await
        .context("cannot import the backup snapshot")?;
    Ok(())
}

/// Tables whose rows pg_dump writes: ordinary tables and partitions outside
/// the system schemas, excluding tables that belong to extensions.
const TABLES_SQL: &str = "\
SELECT n.nspname::text, c.relname::text
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg\\_toast%'
  AND n.nspname NOT LIKE 'pg\\_temp\\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1, 2";

/// Row count of every table, keyed by `table_key`, in one statement, inside
/// whatever transaction `client` is in.
pub async fn count_rows(client: &Client) -> Result<BTreeMap<String, i64>> {
    let tables: Vec<(String, String)> = client
        .query(TABLES_SQL, &[])
        .await
        .context("cannot list tables")?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    if tables.is_empty() {
        return Ok(BTreeMap::new());
    }
    let sql = tables
        .iter()
        .enumerate()
        .map(|(i, (schema, table))| {
            format!(
                "SELECT {i}, count(*) FROM {}.{}",
                quote_ident(schema),
                quote_ident(table)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let rows = client.query(&sql, &[]).await.context("cannot count rows")?;
    let mut counts = BTreeMap::new();
    for row in rows {
        let i: i32 = row.get(0);
        let (schema, table) = &tables[i as usize];
        counts.insert(table_key(schema, table), row.get::<_, i64>(1));
    }
    Ok(counts)
}

/// The key of a table in row counts: `schema.table`, where a name holding a
/// dot or a double quote is written as a quoted identifier (`"a.b".c`,
/// `a."b.c"`, `"say ""hi"""`), so that no two tables share a key. Plain
/// names keep the plain `schema.table` form, which is also how older
/// manifests wrote every name.
pub fn table_key(schema: &str, table: &str) -> String {
    format!("{}.{}", key_part(schema), key_part(table))
}

fn key_part(name: &str) -> String {
    if name.contains(['.', '"']) {
        quote_ident(name)
    } else {
        name.to_owned()
    }
}

/// Whether a key written by `table_key` has a quoted part (the manifest
/// format that can say so is version 2).
pub fn is_quoted_key(key: &str) -> bool {
    key.contains('"')
}

/// The key of a table as manifests before format 2 wrote it (plain
/// `schema.table` whatever the names, so `a.b.c` could be either table),
/// read the likelier way: schema names rarely hold a dot, table names
/// sometimes do.
pub fn table_key_from_legacy(key: &str) -> String {
    match key.split_once('.') {
        Some((schema, table)) => table_key(schema, table),
        None => key.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Schema and table of a key written by `table_key`: its reverse, which
    /// proves that no two names share a key.
    fn split_table_key(key: &str) -> Option<(String, String)> {
        let (schema, rest) = take_part(key)?;
        let rest = rest.strip_prefix('.')?;
        match take_part(rest)? {
            (table, "") => Some((schema, table)),
            _ => None,
        }
    }

    /// One part of a key: a quoted identifier, or plain text up to the next dot.
    fn take_part(s: &str) -> Option<(String, &str)> {
        let Some(mut rest) = s.strip_prefix('"') else {
            let end = s.find('.').unwrap_or(s.len());
            let name = &s[..end];
            return (!name.is_empty() && !name.contains('"')).then(|| (name.to_owned(), &s[end..]));
        };
        let mut name = String::new();
        loop {
            let end = rest.find('"')?;
            name.push_str(&rest[..end]);
            rest = &rest[end + 1..];
            match rest.strip_prefix('"') {
                Some(after) => {
                    name.push('"');
                    rest = after;
                }
                None => return Some((name, rest)),
            }
        }
    }

    #[test]
    fn names_with_dots_never_share_a_key() {
        assert_eq!(table_key("public", "users"), "public.users");
        assert_eq!(table_key("a.b", "c"), r#""a.b".c"#);
        assert_eq!(table_key("a", "b.c"), r#"a."b.c""#);
        assert_eq!(table_key("we\"ird", "x y"), r#""we""ird".x y"#);
        for (schema, table) in [
            ("public", "users"),
            ("a.b", "c"),
            ("a", "b.c"),
            ("a.", ".b"),
            ("\"", "\"\"."),
            ("ünï côdé", "tab le"),
        ] {
            let key = table_key(schema, table);
            assert_eq!(
                split_table_key(&key),
                Some((schema.to_owned(), table.to_owned())),
                "{key}"
            );
        }
        assert_eq!(split_table_key("nodot"), None);
        assert_eq!(split_table_key(r#""open.x"#), None);
    }

    #[test]
    fn legacy_keys_read_as_schema_then_table() {
        assert_eq!(table_key_from_legacy("public.users"), "public.users");
        assert_eq!(table_key_from_legacy("a.b.c"), r#"a."b.c""#);
        assert_eq!(
            table_key_from_legacy("public.we\"ird"),
            r#"public."we""ird""#
        );
    }
}
