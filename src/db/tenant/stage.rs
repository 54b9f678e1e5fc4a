//! The tenant's rows from the backup's copy into temporary tables of the
//! target: `COPY (SELECT ...) TO STDOUT (FORMAT binary)` on one connection,
//! its bytes passed unchanged to `COPY ... FROM STDIN (FORMAT binary)` on
//! the other. No value is decoded or parsed on the way, and memory holds a
//! few COPY messages at a time. The plan has checked that both sides have
//! the same column types, which the binary format needs.

use anyhow::{Context, Result};
use futures_util::SinkExt;
use tokio_postgres::{Client, Transaction};

use super::{Plan, TablePlan};
use crate::db::{describe_error, quote_ident};

/// Stage every table of the plan; `on_rows(table, rows)` after each.
pub async fn stage(
    tx: &Transaction<'_>,
    source: &Client,
    plan: &Plan,
    on_rows: impl Fn(&str, u64),
) -> Result<()> {
    for t in &plan.tables {
        let rows = stage_table(tx, source, plan, t)
            .await
            .with_context(|| format!("cannot copy the rows of {} out of the backup", t.table))?;
        on_rows(&t.table, rows);
    }
    Ok(())
}

async fn stage_table(
    tx: &Transaction<'_>,
    source: &Client,
    plan: &Plan,
    t: &TablePlan,
) -> Result<u64> {
    let columns = list(&t.columns, "");
    let table = quote_ident(&t.table);
    // The target's column types, without its constraints, plus the verdict.
    tx.batch_execute(&format!(
        "CREATE TEMP TABLE {} ON COMMIT DROP AS \
         SELECT {columns}, NULL::text AS k12ctl_state FROM {table} WITH NO DATA",
        t.stage
    ))
    .await
    .map_err(|e| anyhow::anyhow!("{}", describe_error(&e)))?;
    let out = source
        .copy_out(&format!(
            "COPY (SELECT {} FROM {table} t WHERE {}) TO STDOUT (FORMAT binary)",
            list(&t.columns, "t."),
            plan.scope.predicate(&t.table, "t")
        ))
        .await
        .map_err(|e| anyhow::anyhow!("{}", describe_error(&e)))?;
    let sink = tx
        .copy_in(&format!(
            "COPY {} ({columns}) FROM STDIN (FORMAT binary)",
            t.stage
        ))
        .await
        .map_err(|e| anyhow::anyhow!("{}", describe_error(&e)))?;
    futures_util::pin_mut!(out);
    futures_util::pin_mut!(sink);
    sink.send_all(&mut out)
        .await
        .map_err(|e| anyhow::anyhow!("{}", describe_error(&e)))?;
    let rows = sink
        .as_mut()
        .finish()
        .await
        .map_err(|e| anyhow::anyhow!("{}", describe_error(&e)))?;
    Ok(rows)
}

/// `"a", "b"` with an alias prefix (`t."a", t."b"`).
pub(super) fn list(columns: &[String], prefix: &str) -> String {
    columns
        .iter()
        .map(|c| format!("{prefix}{}", quote_ident(c)))
        .collect::<Vec<_>>()
        .join(", ")
}
