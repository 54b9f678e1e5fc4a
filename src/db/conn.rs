//! Connection parameters parsed from a `postgres://` URL, used both for our
//! own connections and for the environment of child processes (pg_dump,
//! pg_restore, psql), so that a password never reaches a command line.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;

use crate::exit;
use crate::secret::Secret;

/// libpq's `sslmode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self> {
        Ok(match value {
            "disable" => Self::Disable,
            "allow" => Self::Allow,
            "prefer" => Self::Prefer,
            "require" => Self::Require,
            "verify-ca" => Self::VerifyCa,
            "verify-full" => Self::VerifyFull,
            other => {
                return Err(exit::usage(format!(
                    "sslmode {other:?} in the database URL is not one of disable, allow, \
                     prefer, require, verify-ca, verify-full"
                )))
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Allow => "allow",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// Where and how to connect. `Debug` never shows the password.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// Host name, IP address, or a Unix socket directory (starts with `/`).
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<Secret<String>>,
    pub dbname: String,
    pub sslmode: SslMode,
    pub sslrootcert: Option<PathBuf>,
    pub connect_timeout: Duration,
}

impl ConnInfo {
    /// Parse a `postgres://` or `postgresql://` URL. Errors never echo the URL.
    pub fn parse(raw: &Secret<String>) -> Result<Self> {
        let url = url::Url::parse(raw.expose()).map_err(|e| {
            exit::usage(format!(
                "the database URL is not a valid postgres:// URL ({e})"
            ))
        })?;
        if !matches!(url.scheme(), "postgres" | "postgresql") {
            return Err(exit::usage(format!(
                "the database URL must start with postgres:// or postgresql://, not {}://",
                url.scheme()
            )));
        }
        let decode = |s: &str| {
            percent_decode(s)
                .ok_or_else(|| exit::usage("the database URL has invalid percent-encoding"))
        };
        let mut info = ConnInfo {
            host: url.host_str().map(str::to_owned).unwrap_or_default(),
            port: url.port().unwrap_or(5432),
            user: decode(url.username())?,
            password: url.password().map(decode).transpose()?.map(Secret::new),
            dbname: decode(url.path().trim_start_matches('/'))?,
            sslmode: SslMode::Prefer,
            sslrootcert: None,
            connect_timeout: Duration::from_secs(10),
        };
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "sslmode" => info.sslmode = SslMode::parse(&value)?,
                "sslrootcert" => info.sslrootcert = Some(PathBuf::from(value.as_ref())),
                "host" => info.host = value.into_owned(),
                "port" => {
                    info.port = value.parse().map_err(|_| {
                        exit::usage(format!(
                            "port {value:?} in the database URL is not a number"
                        ))
                    })?
                }
                "user" => info.user = value.into_owned(),
                "password" => info.password = Some(Secret::new(value.into_owned())),
                "dbname" => info.dbname = value.into_owned(),
                "connect_timeout" => {
                    let secs: u64 = value.parse().map_err(|_| {
                        exit::usage(format!("connect_timeout {value:?} is not a number"))
                    })?;
                    info.connect_timeout = Duration::from_secs(secs.max(1));
                }
                // Harmless libpq options we do not need to act on.
                "application_name" | "target_session_attrs" | "options" => {}
                other => {
                    return Err(exit::usage(format!(
                        "option {other:?} in the database URL is not supported"
                    )))
                }
            }
        }
        if info.host.is_empty() {
            info.host = "localhost".to_owned();
        }
        if info.user.is_empty() {
            info.user = "postgres".to_owned();
        }
        if info.dbname.is_empty() {
            info.dbname = info.user.clone();
        }
        Ok(info)
    }

    /// The same server, another database (scratch and restore targets).
    pub fn with_dbname(&self, dbname: &str) -> Self {
        Self {
            dbname: dbname.to_owned(),
            ..self.clone()
        }
    }

    pub fn is_unix_socket(&self) -> bool {
        self.host.starts_with('/')
    }

    /// `host:port`, for messages.
    pub fn server(&self) -> String {
        if self.is_unix_socket() {
            format!("{}/.s.PGSQL.{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// "database k12 on db.example:5432 as k12", for messages.
    pub fn describe(&self) -> String {
        format!(
            "database {} on {} as {}",
            self.dbname,
            self.server(),
            self.user
        )
    }

    /// Environment for libpq programs. Everything goes through the
    /// environment, nothing through argv: the password stays out of the
    /// process list and hostile names never meet an argument parser.
    pub fn child_env(&self, application_name: &str) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("PGHOST", self.host.clone()),
            ("PGPORT", self.port.to_string()),
            ("PGUSER", self.user.clone()),
            ("PGDATABASE", self.dbname.clone()),
            ("PGSSLMODE", self.sslmode.as_str().to_owned()),
            ("PGAPPNAME", application_name.to_owned()),
            (
                "PGCONNECT_TIMEOUT",
                self.connect_timeout.as_secs().to_string(),
            ),
        ];
        if let Some(p) = &self.password {
            env.push(("PGPASSWORD", p.expose().clone()));
        }
        if let Some(c) = &self.sslrootcert {
            env.push(("PGSSLROOTCERT", c.display().to_string()));
        }
        env
    }
}

/// libpq variables a child must not inherit from our environment, since
/// they would override or add to what `child_env` sets.
pub const INHERITED_PG_VARS: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGDATABASE",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGSSLMODE",
    "PGSSLROOTCERT",
    "PGOPTIONS",
    "PGAPPNAME",
    "PGCONNECT_TIMEOUT",
    "PGTARGETSESSIONATTRS",
    "DATABASE_URL",
];

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A libpq connection string naming only a database: `dbname='...'`.
/// Passing a bare name to `--dbname` would let a name containing `=` be
/// read as connection options; quoted, any name is just a name. Host, port,
/// user and password come from the environment (`ConnInfo::child_env`).
pub fn conninfo_dbname(name: &str) -> String {
    format!(
        "dbname='{}'",
        name.replace('\\', "\\\\").replace('\'', "\\'")
    )
}

/// Quote an identifier for SQL (`"a ""b"""`). Every identifier the tool puts
/// into SQL text goes through this; values go through parameters.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> ConnInfo {
        ConnInfo::parse(&Secret::new(url.to_owned())).unwrap()
    }

    #[test]
    fn url_parts_are_decoded() {
        let c = parse(
            "postgres://k12%20ops:p%40ss%3Aw0rd@db.example:6543/k12%20prod?sslmode=verify-full",
        );
        assert_eq!(c.user, "k12 ops");
        assert_eq!(
            c.password.as_ref().map(|p| p.expose().as_str()),
            Some("p@ss:w0rd")
        );
        assert_eq!(c.dbname, "k12 prod");
        assert_eq!(c.port, 6543);
        assert_eq!(c.sslmode, SslMode::VerifyFull);
        assert!(!format!("{c:?}").contains("p@ss"));
    }

    #[test]
    fn unix_socket_host_in_query() {
        let c = parse("postgresql:///k12?host=/var/run/postgresql");
        assert!(c.is_unix_socket());
        assert_eq!(c.dbname, "k12");
        assert_eq!(c.user, "postgres");
    }

    #[test]
    fn bad_urls_are_usage_errors_without_echo() {
        for bad in [
            "mysql://a:hunter2@x/y",
            "postgres://a:hunter2@x/y?sslmode=maybe",
            "postgres://a:hunter2@x/y?foo=1",
        ] {
            let err = ConnInfo::parse(&Secret::new(bad.to_owned())).unwrap_err();
            assert_eq!(exit::code_for(&err), exit::ExitCode::Usage);
            assert!(!format!("{err:#}").contains("hunter2"));
        }
    }

    #[test]
    fn password_only_in_env() {
        let c = parse("postgres://u:s3cret@h/d");
        let env = c.child_env("k12ctl");
        assert!(env.iter().any(|(k, v)| *k == "PGPASSWORD" && v == "s3cret"));
    }

    #[test]
    fn conninfo_names_are_quoted() {
        assert_eq!(conninfo_dbname("k12"), "dbname='k12'");
        assert_eq!(
            conninfo_dbname(r"a'b\c host=evil"),
            r"dbname='a\'b\\c host=evil'"
        );
    }

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_ident(r#"we"ird; DROP"#), r#""we""ird; DROP""#);
    }
}
