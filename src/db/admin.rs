//! Databases as objects: create, drop, inspect, and the scratch databases
//! that `backup verify` restores into.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use tokio_postgres::Client;

use super::{connect, quote_ident, ConnInfo};

/// Prefix of every scratch database; `sweep_scratch` only ever drops these.
pub const SCRATCH_PREFIX: &str = "k12ctl_verify_";

pub async fn database_exists(client: &Client, name: &str) -> Result<bool> {
    Ok(client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .await
        .context("cannot list databases")?
        .is_some())
}

pub async fn create_database(client: &Client, name: &str) -> Result<()> {
    client
        .batch_execute(&format!("CREATE DATABASE {}", quote_ident(name)))
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "cannot create database {name}: {} (the role needs CREATEDB)",
                super::describe_error(&e)
            )
        })
}

/// Drop a database, ending its sessions first (PostgreSQL 13+).
pub async fn drop_database(client: &Client, name: &str) -> Result<()> {
    client
        .batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            quote_ident(name)
        ))
        .await
        .map_err(|e| anyhow::anyhow!("cannot drop database {name}: {}", super::describe_error(&e)))
}

/// Number of user tables in the database `client` is connected to.
pub async fn user_table_count(client: &Client) -> Result<i64> {
    Ok(client
        .query_one(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'",
            &[],
        )
        .await
        .context("cannot inspect the target database")?
        .get(0))
}

/// What a restore target looks like before anything is touched.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TargetState {
    pub exists: bool,
    pub tables: i64,
}

/// Inspect `target` on the server `admin` is connected to.
pub async fn target_state(admin: &Client, target: &ConnInfo) -> Result<TargetState> {
    if !database_exists(admin, &target.dbname).await? {
        return Ok(TargetState {
            exists: false,
            tables: 0,
        });
    }
    let client = connect(target, "k12ctl restore (inspect target)").await?;
    Ok(TargetState {
        exists: true,
        tables: user_table_count(&client).await?,
    })
}

/// Whether the connected role can have an extension in this database.
#[derive(Debug, Clone)]
pub struct ExtensionSupport {
    pub name: String,
    /// Already in the database (`CREATE EXTENSION IF NOT EXISTS` is a no-op).
    pub installed: bool,
    /// Installed and owned by the connected role (it may comment on it).
    pub owned: bool,
    /// The server has its control file.
    pub available: bool,
    pub superuser: bool,
    /// A version is trusted, or needs no superuser.
    pub trusted: bool,
    /// CREATE on the database (what a trusted extension needs).
    pub can_create_in_database: bool,
}

impl ExtensionSupport {
    /// Why `role` cannot create it here, or None when it can.
    pub fn cannot_create(&self, role: &str) -> Option<String> {
        if self.installed {
            None
        } else if !self.available {
            Some("not available on this server (no extension control file)".to_owned())
        } else if self.superuser {
            None
        } else if !self.trusted {
            Some(format!(
                "needs a superuser; role {role} is not one and the extension is not trusted"
            ))
        } else if !self.can_create_in_database {
            Some(format!(
                "role {role} has no CREATE privilege on the database"
            ))
        } else {
            None
        }
    }
}

/// What the connected role can do about each of `names`.
pub async fn extension_support(client: &Client, names: &[String]) -> Result<Vec<ExtensionSupport>> {
    let rows = client
        .query(
            "SELECT e.name, \
               x.extname IS NOT NULL, \
               x.extowner IS NOT DISTINCT FROM (SELECT oid FROM pg_roles WHERE rolname = current_user), \
               EXISTS (SELECT 1 FROM pg_available_extensions a WHERE a.name = e.name), \
               current_setting('is_superuser') = 'on', \
               COALESCE((SELECT bool_or(v.trusted OR NOT v.superuser) \
                         FROM pg_available_extension_versions v WHERE v.name = e.name), false), \
               has_database_privilege(current_database(), 'CREATE') \
             FROM unnest($1::text[]) WITH ORDINALITY AS e(name, n) \
             LEFT JOIN pg_extension x ON x.extname = e.name \
             ORDER BY e.n",
            &[&names],
        )
        .await
        .context("cannot read which extensions the role can create")?;
    Ok(rows
        .iter()
        .map(|r| ExtensionSupport {
            name: r.get(0),
            installed: r.get(1),
            owned: r.get(2),
            available: r.get(3),
            superuser: r.get(4),
            trusted: r.get(5),
            can_create_in_database: r.get(6),
        })
        .collect())
}

/// A scratch name that says who made it and when:
/// `k12ctl_verify_<unix seconds>_<random>`.
pub fn scratch_name(now: DateTime<Utc>) -> String {
    let tag: u32 = rand::random();
    format!("{SCRATCH_PREFIX}{}_{tag:08x}", now.timestamp())
}

/// When a scratch database was created, from its name.
pub fn scratch_created(name: &str) -> Option<DateTime<Utc>> {
    let rest = name.strip_prefix(SCRATCH_PREFIX)?;
    let (secs, tag) = rest.split_once('_')?;
    if tag.len() != 8 || !tag.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    DateTime::from_timestamp(secs.parse().ok()?, 0)
}

/// Drop scratch databases of earlier runs older than a day (runs killed
/// before they could clean up). Returns the names dropped.
pub async fn sweep_scratch(client: &Client, now: DateTime<Utc>) -> Result<Vec<String>> {
    let names: Vec<String> = client
        .query(
            "SELECT datname::text FROM pg_database WHERE starts_with(datname, $1)",
            &[&SCRATCH_PREFIX],
        )
        .await
        .context("cannot list scratch databases")?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut dropped = Vec::new();
    for name in names {
        let stale = scratch_created(&name).is_some_and(|t| now - t > chrono::Duration::days(1));
        if stale {
            drop_database(client, &name).await?;
            dropped.push(name);
        }
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scratch_names_carry_their_creation_time() {
        let now = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let name = scratch_name(now);
        assert!(name.starts_with(SCRATCH_PREFIX));
        assert!(name.len() < 63, "fits a PostgreSQL identifier");
        assert_eq!(scratch_created(&name), Some(now));
        assert_eq!(scratch_created("k12ctl_verify_production"), None);
        assert_eq!(scratch_created("k12_production"), None);
    }
}
