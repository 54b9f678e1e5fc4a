//! PostgreSQL access: connecting (TLS per `sslmode`, retries on connection
//! errors only), the backup lock, the exported snapshot, the
//! `backup_records` mirror, and the platform tables that provisioning and
//! roster imports write. No clap, no output code.

pub mod admin;
pub mod conn;
pub mod insert;
pub mod lock;
pub mod provision;
pub mod records;
pub mod roster;
pub mod schema;
pub mod snapshot;
pub mod tenant;
mod tls;

use std::time::Duration;

use anyhow::{Context, Result};
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::{Client, Config};

pub use conn::{quote_ident, ConnInfo, SslMode, DEFAULT_CONNECT_TIMEOUT};

const CONNECT_ATTEMPTS: u32 = 3;

/// TCP keepalives on every connection: a server that vanishes (host down,
/// network cut) while we wait for an answer is noticed within about two
/// minutes rather than the system's two hours.
const KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 6;

/// The longest any of our statements waits for a lock another session
/// holds (`lock_timeout`): a migration holding a table, a stuck import. Work
/// that makes progress (a long count, a COPY) is never cut short. The row
/// counter of a backup runs beside pg_dump, so this also bounds a dump
/// stuck behind such a lock: the counter fails and the run is aborted.
pub const LOCK_WAIT: Duration = Duration::from_secs(10 * 60);

/// Connect, retrying a refused or dropped connection (connecting is
/// idempotent); authentication and other server errors fail at once.
///
/// The whole of it, every attempt with its TCP connect, TLS handshake and
/// authentication, is bounded by `info.connect_timeout`: a server that
/// accepts connections and never answers fails the run, it does not hang it.
pub async fn connect(info: &ConnInfo, application_name: &str) -> Result<Client> {
    let deadline = tokio::time::Instant::now() + info.connect_timeout;
    match tokio::time::timeout_at(deadline, connect_retrying(info, application_name)).await {
        Ok(result) => result,
        Err(_) => Err(anyhow::anyhow!(
            "cannot connect to {}: no answer within {} (TCP connect, TLS and authentication); \
             check the server, or allow longer with K12CTL_CONNECT_TIMEOUT",
            info.describe(),
            humantime::format_duration(info.connect_timeout)
        )),
    }
}

async fn connect_retrying(info: &ConnInfo, application_name: &str) -> Result<Client> {
    let config = pg_config(info, application_name);
    let tls = if info.sslmode == SslMode::Disable || info.is_unix_socket() {
        None
    } else {
        let config = tls::client_config(info)
            .with_context(|| format!("cannot connect to {}", info.describe()))?;
        Some(tokio_postgres_rustls::MakeRustlsConnect::new(config))
    };
    let mut attempt = 1;
    loop {
        let result = match &tls {
            None => connect_with(&config, tokio_postgres::NoTls).await,
            Some(tls) => connect_with(&config, tls.clone()).await,
        };
        match result {
            Ok(client) => {
                bound_lock_waits(&client).await.map_err(|e| {
                    anyhow::anyhow!("cannot set up the session: {}", describe_error(&e))
                })?;
                return Ok(client);
            }
            Err(e) if e.as_db_error().is_none() && attempt < CONNECT_ATTEMPTS => {
                tracing::debug!("connecting to {} failed ({e}), retrying", info.describe());
                tokio::time::sleep(Duration::from_millis(300 * u64::from(attempt))).await;
                attempt += 1;
            }
            Err(e) => {
                return Err(anyhow::anyhow!(
                    "cannot connect to {}: {}",
                    info.describe(),
                    describe_error(&e)
                ))
            }
        }
    }
}

/// `SET lock_timeout` rather than a startup option, which connection
/// poolers such as PgBouncer reject.
async fn bound_lock_waits(client: &Client) -> Result<(), tokio_postgres::Error> {
    client
        .batch_execute(&format!("SET lock_timeout = {}", LOCK_WAIT.as_millis()))
        .await
}

fn pg_config(info: &ConnInfo, application_name: &str) -> Config {
    let mut config = Config::new();
    if info.is_unix_socket() {
        config.host_path(&info.host);
    } else {
        config.host(&info.host);
    }
    config
        .port(info.port)
        .user(&info.user)
        .dbname(&info.dbname)
        .application_name(application_name)
        .connect_timeout(info.connect_timeout)
        .keepalives(true)
        .keepalives_idle(KEEPALIVE_IDLE)
        .keepalives_interval(KEEPALIVE_INTERVAL)
        .keepalives_retries(KEEPALIVE_RETRIES)
        .ssl_mode(match info.sslmode {
            SslMode::Disable => PgSslMode::Disable,
            SslMode::Allow | SslMode::Prefer => PgSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => PgSslMode::Require,
        });
    if let Some(p) = &info.password {
        config.password(p.expose());
    }
    config
}

async fn connect_with<T>(config: &Config, tls: T) -> Result<Client, tokio_postgres::Error>
where
    T: tokio_postgres::tls::MakeTlsConnect<tokio_postgres::Socket> + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as tokio_postgres::tls::TlsConnect<tokio_postgres::Socket>>::Future: Send,
{
    let (client, connection) = config.connect(tls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("database connection closed: {e}");
        }
    });
    Ok(client)
}

/// The server's own message when there is one (`password authentication
/// failed for user "k12"`), else the client error.
pub fn describe_error(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => {
            let mut msg = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(s) = source {
                msg = format!("{msg}: {s}");
                source = s.source();
            }
            msg
        }
    }
}

/// Facts about the server, recorded in manifests and used to recognise the
/// source database of a backup.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct ServerFacts {
    pub database: String,
    pub server_version: String,
    pub server_version_num: i32,
    /// `pg_control_system()`; None when the role may not read it.
    pub system_identifier: Option<String>,
    pub database_size: i64,
}

pub async fn server_facts(client: &Client) -> Result<ServerFacts> {
    let row = client
        .query_one(
            "SELECT current_database()::text, current_setting('server_version'), \
             current_setting('server_version_num')::int, pg_database_size(current_database())",
            &[],
        )
        .await?;
    let system_identifier = match client
        .query_one(
            "SELECT system_identifier::text FROM pg_control_system()",
            &[],
        )
        .await
    {
        Ok(r) => r.get::<_, Option<String>>(0),
        Err(e) => {
            tracing::debug!("cannot read the system identifier: {e}");
            None
        }
    };
    Ok(ServerFacts {
        database: row.get(0),
        server_version: row.get(1),
        server_version_num: row.get(2),
        system_identifier,
        database_size: row.get(3),
    })
}
