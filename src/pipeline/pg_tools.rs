//! pg_dump, pg_restore and psql as child processes: found on PATH or in the
//! configured bin directory, run without a shell, with connection settings
//! (the password included) passed only through the child's environment.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, Result};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::task::JoinHandle;

use crate::db::conn::INHERITED_PG_VARS;
use crate::db::ConnInfo;

/// How much of a tool's stderr is kept for error messages.
const STDERR_KEEP: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct PgTool {
    pub name: &'static str,
    pub path: PathBuf,
    /// "15.18"
    pub version: String,
    pub major: u32,
}

impl PgTool {
    /// Find `name` and read its version (`pg_dump --version`).
    pub async fn locate(name: &'static str, bindir: Option<&Path>) -> Result<Self> {
        let path = match bindir {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        };
        let out = Command::new(&path)
            .arg("--version")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    anyhow::anyhow!(
                        "{name} not found{} (install the PostgreSQL client tools, e.g. \
                         apt install postgresql-client, or set K12CTL_PG_BINDIR)",
                        bindir
                            .map(|d| format!(" in {}", d.display()))
                            .unwrap_or_else(|| " on PATH".to_owned())
                    )
                } else {
                    anyhow::anyhow!("cannot run {}: {e}", path.display())
                }
            })?;
        let text = String::from_utf8_lossy(&out.stdout);
        let (version, major) = parse_version(&text)
            .with_context(|| format!("cannot read the version of {name} from {text:?}"))?;
        Ok(Self {
            name,
            path,
            version,
            major,
        })
    }

    /// A command for this tool connected to `conn`, with no inherited libpq
    /// settings, stdin closed, stdout and stderr piped.
    pub fn command(&self, conn: &ConnInfo, application_name: &str) -> Command {
        let mut cmd = Command::new(&self.path);
        for var in INHERITED_PG_VARS {
            cmd.env_remove(var);
        }
        // The tool's own messages in English: `pg_errors` reads them.
        cmd.envs(conn.child_env(application_name))
            .env_remove("LC_ALL")
            .env("LC_MESSAGES", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// A command for this tool that connects nowhere (`pg_restore -l`), with
    /// no inherited libpq settings and stdin, stdout and stderr piped.
    pub fn offline_command(&self) -> Command {
        let mut cmd = Command::new(&self.path);
        for var in INHERITED_PG_VARS {
            cmd.env_remove(var);
        }
        cmd.env_remove("LC_ALL")
            .env("LC_MESSAGES", "C")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Fails when this tool cannot work with a server of `server_major`.
    pub fn check_server(&self, server_major: u32) -> Result<()> {
        if self.major < server_major {
            anyhow::bail!(
                "{} {} cannot work with a PostgreSQL {server_major} server: install the \
                 version {server_major} client tools (e.g. apt install postgresql-client-{server_major}) \
                 or set K12CTL_PG_BINDIR",
                self.name,
                self.version
            );
        }
        Ok(())
    }
}

/// "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" -> ("15.18", 15)
pub fn parse_version(text: &str) -> Option<(String, u32)> {
    let after = text.split(')').nth(1)?.split_whitespace().next()?;
    let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
    Some((after.to_owned(), digits.parse().ok()?))
}

/// Collect a child's stderr in the background, keeping the last 64 KiB and
/// logging each line at debug level.
pub fn collect_stderr<R>(tool: &'static str, mut stderr: R) -> JoinHandle<String>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut kept = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match stderr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > STDERR_KEEP {
                        kept.drain(..kept.len() - STDERR_KEEP);
                    }
                }
            }
        }
        let text = String::from_utf8_lossy(&kept).into_owned();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            tracing::debug!("{tool}: {line}");
        }
        text
    })
}

/// The last few meaningful lines of a tool's stderr, for an error message.
pub fn last_lines(stderr: &str, n: usize) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(n);
    lines[start..].join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_parse() {
        assert_eq!(
            parse_version("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n"),
            Some(("15.18".to_owned(), 15))
        );
        assert_eq!(
            parse_version("pg_restore (PostgreSQL) 17beta1"),
            Some(("17beta1".to_owned(), 17))
        );
        assert_eq!(parse_version("garbage"), None);
    }

    #[test]
    fn last_lines_skip_blanks() {
        assert_eq!(last_lines("a\n\nb\nc\n", 2), "b; c");
    }
}
