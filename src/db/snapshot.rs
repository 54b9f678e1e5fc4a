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

/// Row count of every table, keyed `schema.table`, in one statement, inside
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
        counts.insert(format!("{schema}.{table}"), row.get::<_, i64>(1));
    }
    Ok(counts)
}
