//! The platform's `backup_records` table, mirrored where it exists so the
//! platform's admin pages keep showing backups. The bucket's manifests are
//! the source of truth; a mirror write that fails is logged, never fatal
//! (a backup taken from a read-only standby cannot write it).

use anyhow::{Context, Result};
use serde_json::Value;
use tokio_postgres::Client;

/// Columns the mirror writes; all exist in the platform's migration.
const REQUIRED_COLUMNS: &[&str] = &[
    "id",
    "backup_type",
    "status",
    "s3_key",
    "s3_bucket",
    "size_bytes",
    "duration_seconds",
    "metadata",
    "error_message",
    "verified_at",
    "verification_result",
    "created_at",
    "updated_at",
];

/// Whether `public.backup_records` exists with every column we write.
pub async fn table_present(client: &Client) -> Result<bool> {
    let found: i64 = client
        .query_one(
            "SELECT count(*) FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = 'backup_records' \
               AND column_name = ANY($1)",
            &[&REQUIRED_COLUMNS],
        )
        .await
        .context("cannot inspect backup_records")?
        .get(0);
    Ok(found == REQUIRED_COLUMNS.len() as i64)
}

/// The server's `version()` and `pg_size_pretty` of `database_size` (of the
/// current database when unknown): the texts the platform keeps in `metadata`.
pub async fn server_texts(client: &Client, database_size: Option<i64>) -> Result<(String, String)> {
    let row = client
        .query_one(
            "SELECT version(), pg_size_pretty(coalesce($1::bigint, pg_database_size(current_database())))",
            &[&database_size],
        )
        .await
        .context("cannot read the server's version and database size")?;
    Ok((row.get(0), row.get(1)))
}

/// What the next run writes on the `in_progress` rows of runs that died.
pub const ABANDONED_MESSAGE: &str =
    "the run ended without recording a result (killed?); marked failed by the next run";

/// Insert the `in_progress` row of a new run; returns its id.
///
/// First, the `in_progress` rows of k12ctl runs that died (SIGKILL, a lost
/// host) are marked `failed`: the caller holds the backup lock of this
/// database, so no other k12ctl run of it is alive. k12ctl's rows are those
/// whose key ends in `.dump.gz` or `.dump.zst`; the platform's own job
/// (`.sql.gz`) may be running now and is left alone.
pub async fn insert_in_progress(
    client: &Client,
    backup_type: &str,
    key: &str,
    bucket: &str,
) -> Result<i64> {
    let abandoned = client
        .execute(
            "UPDATE public.backup_records SET status = 'failed', error_message = $1, \
             updated_at = (now() AT TIME ZONE 'UTC') \
             WHERE status = 'in_progress' \
               AND (s3_key LIKE '%.dump.gz' OR s3_key LIKE '%.dump.zst')",
            &[&ABANDONED_MESSAGE],
        )
        .await
        .context("cannot mark abandoned runs in backup_records")?;
    if abandoned > 0 {
        tracing::warn!("marked {abandoned} backup_records row(s) of runs that died as failed");
    }
    // `id::bigint`: the platform's id is a bigint, an older table's a serial.
    let row = client
        .query_one(
            "INSERT INTO public.backup_records \
               (backup_type, status, s3_key, s3_bucket, created_at, updated_at) \
             VALUES ($1, 'in_progress', $2, $3, (now() AT TIME ZONE 'UTC'), (now() AT TIME ZONE 'UTC')) \
             RETURNING id::bigint",
            &[&backup_type, &key, &bucket],
        )
        .await
        .context("cannot insert into backup_records")?;
    Ok(row.get(0))
}

pub async fn mark_completed(
    client: &Client,
    id: i64,
    size: i64,
    duration_seconds: i32,
    metadata: &Value,
) -> Result<()> {
    client
        .execute(
            "UPDATE public.backup_records SET status = 'completed', size_bytes = $2, \
             duration_seconds = $3, metadata = $4, updated_at = (now() AT TIME ZONE 'UTC') WHERE id = $1::bigint",
            &[&id, &size, &duration_seconds, metadata],
        )
        .await
        .context("cannot update backup_records")?;
    Ok(())
}

pub async fn mark_failed(client: &Client, id: i64, error: &str) -> Result<()> {
    client
        .execute(
            "UPDATE public.backup_records SET status = 'failed', error_message = $2, \
             updated_at = (now() AT TIME ZONE 'UTC') WHERE id = $1::bigint",
            &[&id, &error],
        )
        .await
        .context("cannot update backup_records")?;
    Ok(())
}

/// Record a verification result on the row whose `s3_key` is `key`.
pub async fn mark_verification(
    client: &Client,
    key: &str,
    passed: bool,
    result: &Value,
    error: Option<&str>,
) -> Result<u64> {
    let status = if passed {
        "verified"
    } else {
        "verification_failed"
    };
    client
        .execute(
            "UPDATE public.backup_records SET status = $2, verified_at = (now() AT TIME ZONE 'UTC'), \
             verification_result = $3, error_message = $4, updated_at = (now() AT TIME ZONE 'UTC') \
             WHERE s3_key = $1",
            &[&key, &status, result, &error],
        )
        .await
        .context("cannot update backup_records")
}
