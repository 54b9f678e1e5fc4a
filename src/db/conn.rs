//! Connection parameters parsed from a `postgres://` URL, used both for our
//! own connections and for the environment of child processes (pg_dump,
//! pg_restore, psql), so that a password never reaches a command line.
//!
//! Both sides must trust the same server: the trusted roots are resolved
//! here, once, the way libpq resolves `sslrootcert` (`root_certs`), and the
//! children get the result explicitly rather than resolving it themselves.

use std::path::{Path, PathBuf};
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
    /// Whether libpq checks the server's certificate in this mode even
    /// without a root file (`verify-ca`, `verify-full`).
    pub fn requires_verification(self) -> bool {
        matches!(self, Self::VerifyCa | Self::VerifyFull)
    }

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
    /// `sslrootcert` as given in the URL (`system` included); see `root_certs`.
    pub sslrootcert: Option<PathBuf>,
    /// Bound on connecting: TCP, TLS and authentication together.
    pub connect_timeout: Duration,
}

/// How long connecting may take unless configured (`K12CTL_CONNECT_TIMEOUT`,
/// or `connect_timeout` in the URL).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// libpq's floor: a `connect_timeout` of 1 is taken as 2 seconds.
const MIN_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the roots that authenticate the server come from, resolved as
/// libpq resolves `sslrootcert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCerts {
    /// A PEM file: `sslrootcert`, else `~/.postgresql/root.crt`. libpq
    /// verifies the server's chain whenever this file exists, whatever the
    /// sslmode; when it does not, only `verify-ca`/`verify-full` fail.
    File(PathBuf),
    /// `sslrootcert=system`: the CA bundle of the system's TLS library
    /// (`SSL_CERT_FILE`, else the distribution's bundle), if one was found.
    System(Option<PathBuf>),
    /// No home directory to find `~/.postgresql/root.crt` in.
    NoHomeDirectory,
}

impl RootCerts {
    /// The file to load, if it exists.
    pub fn existing_file(&self) -> Option<&Path> {
        match self {
            Self::File(p) | Self::System(Some(p)) => Some(p).filter(|p| p.is_file()),
            _ => None,
        }
        .map(PathBuf::as_path)
    }
}

impl ConnInfo {
    /// Parse a `postgres://` or `postgresql://` URL, with the default bound
    /// on connecting. Errors never echo the URL.
    pub fn parse(raw: &Secret<String>) -> Result<Self> {
        Self::parse_with(raw, DEFAULT_CONNECT_TIMEOUT)
    }

    /// Parse a URL; `connect_timeout` applies unless the URL has its own
    /// `connect_timeout` (which wins, as in libpq).
    pub fn parse_with(raw: &Secret<String>, connect_timeout: Duration) -> Result<Self> {
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
            connect_timeout: connect_timeout.max(MIN_CONNECT_TIMEOUT),
        };
        let mut sslmode = None;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "sslmode" => sslmode = Some(SslMode::parse(&value)?),
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
                    let secs = value
                        .parse::<u64>()
                        .ok()
                        .filter(|s| *s > 0)
                        .ok_or_else(|| {
                            exit::usage(format!(
                                "connect_timeout {value:?} in the database URL is not a number of \
                             seconds above 0 (k12ctl never waits forever for a server)"
                            ))
                        })?;
                    info.connect_timeout = Duration::from_secs(secs).max(MIN_CONNECT_TIMEOUT);
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
        info.sslmode = ssl_mode_for(sslmode, info.sslrootcert.as_deref())?;
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

    /// The roots that authenticate the server, found as libpq finds them:
    /// `sslrootcert`; `system`; else `~/.postgresql/root.crt`, with the home
    /// directory taken from `$HOME`, else the password database (libpq 15+).
    pub fn root_certs(&self) -> RootCerts {
        match self.sslrootcert.as_deref() {
            Some(p) if p == Path::new("system") => RootCerts::System(system_ca_bundle()),
            Some(p) => RootCerts::File(p.to_owned()),
            None => match std::env::home_dir().filter(|h| !h.as_os_str().is_empty()) {
                Some(home) => RootCerts::File(home.join(".postgresql").join("root.crt")),
                None => RootCerts::NoHomeDirectory,
            },
        }
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
        // The roots we resolved, explicitly: a child never falls back to a
        // default of its own, and PostgreSQL 15's tools, which do not know
        // `sslrootcert=system`, get the same bundle as a file.
        match self.root_certs() {
            RootCerts::File(p) | RootCerts::System(Some(p)) => {
                env.push(("PGSSLROOTCERT", p.display().to_string()))
            }
            RootCerts::System(None) => env.push(("PGSSLROOTCERT", "system".to_owned())),
            RootCerts::NoHomeDirectory => {}
        }
        env
    }
}

/// The sslmode libpq would use: with `sslrootcert=system` the default is
/// `verify-full` and any weaker mode is refused (PostgreSQL 16's libpq).
fn ssl_mode_for(given: Option<SslMode>, rootcert: Option<&Path>) -> Result<SslMode> {
    let system = rootcert == Some(Path::new("system"));
    match given {
        None if system => Ok(SslMode::VerifyFull),
        None => Ok(SslMode::Prefer),
        Some(mode) if system && mode != SslMode::VerifyFull => Err(exit::usage(format!(
            "sslmode={} cannot be used with sslrootcert=system: anyone can get a certificate \
             from a public CA, so only verify-full authenticates the server (libpq refuses it too)",
            mode.as_str()
        ))),
        Some(mode) => Ok(mode),
    }
}

/// The CA bundle that OpenSSL, and so libpq's `sslrootcert=system`, loads:
/// `SSL_CERT_FILE`, else the distribution's bundle.
fn system_ca_bundle() -> Option<PathBuf> {
    const BUNDLES: &[&str] = &[
        "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Alpine
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // RHEL, Fedora
        "/etc/pki/tls/certs/ca-bundle.crt",   // older RHEL
        "/etc/ssl/ca-bundle.pem",             // openSUSE
        "/etc/ssl/cert.pem",                  // Alpine, BSDs
    ];
    std::env::var_os("SSL_CERT_FILE")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| BUNDLES.iter().map(PathBuf::from).find(|p| p.is_file()))
}

/// Variables a child must not inherit from our environment: every
/// connection variable libpq reads (PostgreSQL 17's list). Our own
/// connections read none of them, so a child gets only what `child_env`
/// sets: no other server, TLS mode, roots or service file behind our back.
pub const INHERITED_PG_VARS: &[&str] = &[
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGREQUIREAUTH",
    "PGCHANNELBINDING",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGSYSCONFDIR",
    "PGOPTIONS",
    "PGAPPNAME",
    "PGSSLMODE",
    "PGREQUIRESSL",
    "PGSSLNEGOTIATION",
    "PGSSLCOMPRESSION",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGSSLCERTMODE",
    "PGSSLROOTCERT",
    "PGSSLCRL",
    "PGSSLCRLDIR",
    "PGSSLSNI",
    "PGREQUIREPEER",
    "PGSSLMINPROTOCOLVERSION",
    "PGSSLMAXPROTOCOLVERSION",
    "PGGSSENCMODE",
    "PGKRBSRVNAME",
    "PGGSSLIB",
    "PGGSSDELEGATION",
    "PGCONNECT_TIMEOUT",
    "PGCLIENTENCODING",
    "PGTARGETSESSIONATTRS",
    "PGLOADBALANCEHOSTS",
    "PGDATESTYLE",
    "PGTZ",
    "PGGEQO",
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
    fn connect_timeouts_are_bounded_and_the_urls_wins() {
        assert_eq!(
            parse("postgres://h/d").connect_timeout,
            DEFAULT_CONNECT_TIMEOUT
        );
        let url = Secret::new("postgres://h/d".to_owned());
        let c = ConnInfo::parse_with(&url, Duration::from_secs(7)).unwrap();
        assert_eq!(c.connect_timeout, Duration::from_secs(7));
        let url = Secret::new("postgres://h/d?connect_timeout=1".to_owned());
        let c = ConnInfo::parse_with(&url, Duration::from_secs(7)).unwrap();
        assert_eq!(c.connect_timeout, MIN_CONNECT_TIMEOUT, "libpq's floor");
        assert_eq!(
            c.child_env("x")
                .iter()
                .find(|(k, _)| *k == "PGCONNECT_TIMEOUT")
                .unwrap()
                .1,
            "2"
        );
        let forever = Secret::new("postgres://h/d?connect_timeout=0".to_owned());
        let err = ConnInfo::parse(&forever).unwrap_err();
        assert_eq!(exit::code_for(&err), exit::ExitCode::Usage);
    }

    #[test]
    fn roots_resolve_as_libpq_and_children_get_them_explicitly() {
        let c = parse("postgres://h/d?sslmode=require&sslrootcert=/etc/k12/ca.pem");
        assert_eq!(c.root_certs(), RootCerts::File("/etc/k12/ca.pem".into()));
        let env = c.child_env("x");
        assert!(env.contains(&("PGSSLROOTCERT", "/etc/k12/ca.pem".to_owned())));

        let system = parse("postgres://h/d?sslrootcert=system");
        assert_eq!(
            system.sslmode,
            SslMode::VerifyFull,
            "system implies verify-full"
        );
        assert!(matches!(system.root_certs(), RootCerts::System(_)));
        for weaker in ["disable", "prefer", "require", "verify-ca"] {
            let url = format!("postgres://h/d?sslrootcert=system&sslmode={weaker}");
            let err = ConnInfo::parse(&Secret::new(url)).unwrap_err();
            assert_eq!(exit::code_for(&err), exit::ExitCode::Usage, "{weaker}");
        }
        assert_eq!(parse("postgres://h/d").sslmode, SslMode::Prefer);
    }

    #[test]
    fn children_inherit_no_libpq_variable() {
        for var in [
            "PGSSLCERT",
            "PGSSLCRL",
            "PGSSLMINPROTOCOLVERSION",
            "PGGSSENCMODE",
            "PGSERVICEFILE",
        ] {
            assert!(INHERITED_PG_VARS.contains(&var), "{var}");
        }
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
