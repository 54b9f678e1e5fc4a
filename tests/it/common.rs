//! Shared helpers: the real servers from `scripts/testenv.sh`, one database
//! and one key prefix per test, and a `k12ctl` command wired to them.
//!
//! The server-free target (`tests/cli`) includes this file too: nothing here
//! touches a server, or reads a `K12CTL_TEST_*` variable, until [`env`] is
//! called, and [`k12ctl_no_servers`], the snapshots, the fakes and the JSON
//! helpers need none.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;

/// The servers the suite runs against. Missing variables are a hard failure:
/// a suite that skips its integration tests would pass without testing.
pub struct Env {
    pub pg_url: String,
    pub pg_bindir: PathBuf,
    /// The PostgreSQL 16 server (pgserver's wheel) and its client tools.
    pub pg16_url: String,
    pub pg16_bindir: PathBuf,
    pub s3_endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    pub secret_key: String,
    pub garage_config: String,
    pub redis_url: String,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run the suite with scripts/test.sh, which starts PostgreSQL, Garage and Redis")
    })
}

pub fn env() -> Env {
    Env {
        pg_url: var("K12CTL_TEST_PG_URL"),
        pg_bindir: PathBuf::from(var("K12CTL_TEST_PG_BINDIR")),
        pg16_url: var("K12CTL_TEST_PG16_URL"),
        pg16_bindir: PathBuf::from(var("K12CTL_TEST_PG16_BINDIR")),
        s3_endpoint: var("K12CTL_TEST_S3_ENDPOINT"),
        bucket: var("K12CTL_TEST_S3_BUCKET"),
        region: var("K12CTL_TEST_S3_REGION"),
        access_key: var("K12CTL_TEST_S3_ACCESS_KEY_ID"),
        secret_key: var("K12CTL_TEST_S3_SECRET_ACCESS_KEY"),
        garage_config: var("K12CTL_TEST_GARAGE_CONFIG"),
        redis_url: var("K12CTL_TEST_REDIS_URL"),
    }
}

/// A short random suffix for names.
pub fn unique(hint: &str) -> String {
    let n: u64 = rand::random();
    let hint: String = hint
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{hint}_{:08x}", n as u32)
}

/// The URL of another database on the test server.
pub fn db_url(env: &Env, dbname: &str) -> String {
    url_with_db(&env.pg_url, dbname)
}

/// A server's URL with another database.
fn url_with_db(server_url: &str, dbname: &str) -> String {
    let mut url = url::Url::parse(server_url).expect("the test server's URL is a URL");
    url.set_path(&format!("/{}", urlencode(dbname)));
    url.to_string()
}

/// One of the test PostgreSQL servers, with its own client tools.
pub struct PgServer {
    /// "pg15" or "pg16"
    pub name: &'static str,
    /// Admin URL (database `postgres`).
    pub url: String,
    /// Its pg_dump, pg_restore and psql (`K12CTL_PG_BINDIR`).
    pub bindir: PathBuf,
}

impl PgServer {
    /// 15 or 16.
    pub fn major(&self) -> u32 {
        self.name[2..].parse().expect("name is pgNN")
    }

    /// The URL of a database on this server.
    pub fn db_url(&self, dbname: &str) -> String {
        url_with_db(&self.url, dbname)
    }
}

/// Both test servers: PostgreSQL 15 (Debian's) and 16 (pgserver's wheel).
pub fn pg_servers(env: &Env) -> Vec<PgServer> {
    vec![
        PgServer {
            name: "pg15",
            url: env.pg_url.clone(),
            bindir: env.pg_bindir.clone(),
        },
        PgServer {
            name: "pg16",
            url: env.pg16_url.clone(),
            bindir: env.pg16_bindir.clone(),
        },
    ]
}

/// The test server named `name` ("pg15" or "pg16").
pub fn pg_server(env: &Env, name: &str) -> PgServer {
    pg_servers(env)
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no test server {name}"))
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Run psql against a URL; panics with psql's stderr on failure.
pub fn psql(url: &str, sql: &str) -> String {
    let out = try_psql(url, sql);
    assert!(
        out.status.success(),
        "psql failed: {}\nSQL: {sql}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

pub fn try_psql(url: &str, sql: &str) -> Output {
    psql_on(url)
        .args(["-tA", "-c", sql])
        .output()
        .expect("psql runs")
}

/// `psql -X -q -v ON_ERROR_STOP=1 -d URL` with the URL's password moved into
/// `PGPASSWORD` (none inherited), so that no password is on a command line.
fn psql_on(url: &str) -> Command {
    let mut cmd = Command::new("psql");
    cmd.env_remove("PGPASSWORD");
    let mut dsn = url.to_owned();
    if let Ok(mut parsed) = url::Url::parse(url) {
        if let Some(password) = parsed.password().map(percent_decode) {
            if parsed.set_password(None).is_ok() {
                cmd.env("PGPASSWORD", password);
                dsn = parsed.to_string();
            }
        }
    }
    cmd.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &dsn]);
    cmd
}

/// `%XX` escapes of a URL component decoded.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) if bytes[i] == b'%' => {
                out.push(b);
                i += 3;
            }
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Run a SQL file.
pub fn psql_file(url: &str, file: &Path) {
    let out = psql_on(url)
        .arg("-f")
        .arg(file)
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql -f {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The dates of the platform schemas in `../shared/platform/`: when the task
/// documents were written, and the newest.
pub const PLATFORM_DATES: [&str; 2] = ["2026-02-25", "2026-03-07"];

/// `platform-schema-DATE.sql` of the platform's real schema: from
/// `K12CTL_PLATFORM_DIR`, else `../shared/platform/` beside the repository.
pub fn platform_schema(date: &str) -> PathBuf {
    std::env::var_os("K12CTL_PLATFORM_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path("../shared/platform"))
        .join(format!("platform-schema-{date}.sql"))
}

/// Run SQL from standard input (ON_ERROR_STOP); panics with psql's stderr.
pub fn psql_stdin(url: &str, sql: &str) {
    use std::io::Write as _;
    let mut child = psql_on(url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("psql runs");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin
        .write_all(sql.as_bytes())
        .expect("psql reads its input");
    drop(stdin);
    let out = child.wait_with_output().expect("psql runs");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A database of its own for one test, dropped at the end.
pub struct TestDb {
    pub name: String,
    pub url: String,
    admin_url: String,
}

impl TestDb {
    pub fn new(env: &Env, hint: &str) -> Self {
        Self::named(env, &unique(&format!("k12t_{hint}")))
    }

    /// A database with an exact name (hostile names included).
    pub fn named(env: &Env, name: &str) -> Self {
        let admin_url = env.pg_url.clone();
        psql(
            &admin_url,
            &format!("CREATE DATABASE {}", quote_ident(name)),
        );
        Self {
            name: name.to_owned(),
            url: db_url(env, name),
            admin_url,
        }
    }

    /// A database of its own on `server` ([`TestDb::new`] is the PostgreSQL 15 one).
    pub fn on(server: &PgServer, hint: &str) -> Self {
        let name = unique(&format!("k12t_{hint}"));
        psql(
            &server.url,
            &format!("CREATE DATABASE {}", quote_ident(&name)),
        );
        Self::adopt(server, &name)
    }

    /// A database that something else created on `server` (a restore's
    /// target), dropped at the end like the others.
    pub fn adopt(server: &PgServer, name: &str) -> Self {
        Self {
            name: name.to_owned(),
            url: server.db_url(name),
            admin_url: server.url.clone(),
        }
    }

    /// Empty database with the platform schema.
    pub fn with_schema(env: &Env, hint: &str) -> Self {
        let db = Self::new(env, hint);
        psql_file(&db.url, &repo_path("schema/lms.sql"));
        db
    }

    /// The platform schema and the sample data.
    pub fn seeded(env: &Env, hint: &str) -> Self {
        let db = Self::with_schema(env, hint);
        psql_file(&db.url, &repo_path("schema/sample-data.sql"));
        db
    }

    /// Empty database with the platform's real schema of `date` (one of
    /// [`PLATFORM_DATES`]). A server without `pg_stat_statements` (no contrib
    /// modules) gets the schema without that extension.
    pub fn platform(env: &Env, hint: &str, date: &str) -> Self {
        let db = Self::new(env, hint);
        db.load_platform_schema(date);
        db
    }

    /// [`TestDb::platform`] on `server`.
    pub fn platform_on(server: &PgServer, hint: &str, date: &str) -> Self {
        let db = Self::on(server, hint);
        db.load_platform_schema(date);
        db
    }

    pub fn load_platform_schema(&self, date: &str) {
        let path = platform_schema(date);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let available = psql(
            &self.url,
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_stat_statements'",
        ) == "1";
        let text = if available {
            text
        } else {
            text.lines()
                .filter(|l| {
                    !l.contains("EXTENSION IF NOT EXISTS pg_stat_statements")
                        && !l.starts_with("COMMENT ON EXTENSION pg_stat_statements")
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        psql_stdin(&self.url, &text);
    }

    pub fn sql(&self, sql: &str) -> String {
        psql(&self.url, sql)
    }

    /// Per-table content checksums: the md5 of every row's text, in order.
    pub fn table_checksums(&self) -> BTreeMap<String, String> {
        table_checksums(&self.url)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = try_psql(
            &self.admin_url,
            &format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&self.name)
            ),
        );
    }
}

pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub fn table_checksums(url: &str) -> BTreeMap<String, String> {
    let tables = psql(
        url,
        "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables \
         WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1",
    );
    tables
        .lines()
        .map(|t| {
            let sum = psql(
                url,
                &format!("SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, E'\\n' ORDER BY x::text)), '') FROM {t} x"),
            );
            (t.to_owned(), sum)
        })
        .collect()
}

/// One test's place in the bucket.
pub struct S3Prefix {
    pub prefix: String,
}

impl S3Prefix {
    pub fn new(hint: &str) -> Self {
        Self {
            prefix: format!("t/{}", unique(hint)),
        }
    }

    pub fn storage_url(&self, env: &Env) -> String {
        format!("s3://{}/{}", env.bucket, self.prefix)
    }
}

/// The AWS CLI against Garage, as an independent view of the bucket.
pub fn aws(env: &Env, args: &[&str]) -> Output {
    Command::new("aws")
        .arg("--endpoint-url")
        .arg(&env.s3_endpoint)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &env.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &env.secret_key)
        .env("AWS_DEFAULT_REGION", &env.region)
        .env("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
        .env("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")
        .output()
        .expect("the aws CLI runs")
}

/// Keys under a prefix.
pub fn s3_keys(env: &Env, prefix: &str) -> Vec<String> {
    let out = aws(
        env,
        &[
            "s3api",
            "list-objects-v2",
            "--bucket",
            &env.bucket,
            "--prefix",
            prefix,
            "--query",
            "Contents[].Key",
            "--output",
            "text",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|k| *k != "None")
        .map(str::to_owned)
        .collect()
}

/// Unfinished multipart uploads under a prefix.
pub fn s3_pending_uploads(env: &Env, prefix: &str) -> Vec<String> {
    let out = aws(
        env,
        &[
            "s3api",
            "list-multipart-uploads",
            "--bucket",
            &env.bucket,
            "--prefix",
            prefix,
            "--query",
            "Uploads[].Key",
            "--output",
            "text",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter(|k| *k != "None")
        .map(str::to_owned)
        .collect()
}

/// `k12ctl` with a clean environment: only `PATH`, a `HOME` with no config
/// file, no instance metadata lookups, and the temp dir as working directory.
pub fn k12ctl_no_servers() -> Command {
    let mut cmd = Command::cargo_bin("k12ctl").expect("the binary is built");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(std::env::temp_dir());
    cmd
}

/// `k12ctl` with a clean environment pointing at the test servers.
pub fn k12ctl(env: &Env) -> Command {
    let mut cmd = k12ctl_no_servers();
    cmd.env("K12CTL_S3_ENDPOINT", &env.s3_endpoint)
        .env("BACKUP_S3_REGION", &env.region)
        .env("AWS_ACCESS_KEY_ID", &env.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &env.secret_key);
    cmd
}

/// `k12ctl` for a database and an S3 prefix.
pub fn k12ctl_for(env: &Env, db: &TestDb, prefix: &S3Prefix) -> Command {
    let mut cmd = k12ctl(env);
    cmd.env("DATABASE_URL", &db.url)
        .env("K12CTL_STORAGE", prefix.storage_url(env));
    cmd
}

/// [`k12ctl_for`] running `server`'s own pg_dump, pg_restore and psql
/// (`K12CTL_PG_BINDIR`; the other tests use the ones on `PATH`).
pub fn k12ctl_on(env: &Env, server: &PgServer, db: &TestDb, prefix: &S3Prefix) -> Command {
    let mut cmd = k12ctl_for(env, db, prefix);
    cmd.env("K12CTL_PG_BINDIR", &server.bindir);
    cmd
}

/// Run and capture, with stdin closed (as under cron).
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(std::process::Stdio::null())
        .output()
        .expect("k12ctl runs")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            stdout(o),
            stderr(o)
        )
    })
}

#[track_caller]
pub fn assert_code(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "expected exit {code}\nstdout: {}\nstderr: {}",
        stdout(o),
        stderr(o)
    );
}

/// Compare with `tests/snapshots/NAME`; `K12CTL_UPDATE_SNAPSHOTS=1` rewrites.
#[track_caller]
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = repo_path("tests/snapshots").join(name);
    if std::env::var_os("K12CTL_UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "snapshot {} is missing; run with K12CTL_UPDATE_SNAPSHOTS=1 and review it",
            path.display()
        )
    });
    assert_eq!(
        actual, expected,
        "snapshot {name} changed; rerun with K12CTL_UPDATE_SNAPSHOTS=1 if intended"
    );
}

/// The shape of a JSON value: keys kept, scalars replaced by their type.
pub fn shape(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Null => Value::String("null".into()),
        Value::Bool(_) => Value::String("bool".into()),
        Value::Number(_) => Value::String("number".into()),
        Value::String(_) => Value::String("string".into()),
        Value::Array(items) => Value::Array(items.iter().take(1).map(shape).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
    }
}

/// A YAML config file in a temp dir.
pub fn config(yaml: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    std::fs::write(file.path(), yaml).unwrap();
    file
}

/// Run a `health` command; its output and its JSON report.
pub fn health_json(cmd: &mut Command) -> (Output, serde_json::Value) {
    let out = run(cmd);
    let report = json(&out);
    (out, report)
}

/// One check of a `health` report.
pub fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    &report["checks"][name]
}

#[track_caller]
pub fn assert_status(report: &serde_json::Value, name: &str, status: &str) {
    assert_eq!(
        check(report, name)["status"],
        status,
        "{name}: {}",
        serde_json::to_string_pretty(check(report, name)).unwrap()
    );
}

/// A directory of PATH shims placed before the real tools.
pub struct Shims {
    pub dir: tempfile::TempDir,
}

impl Shims {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Write an executable script named `name`.
    pub fn add(&self, name: &str, script: &str) -> &Self {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join(name);
        std::fs::write(&path, script).expect("write shim");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("chmod shim");
        self
    }

    pub fn path_env(&self) -> std::ffi::OsString {
        let mut paths = vec![self.dir.path().to_path_buf()];
        paths.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        std::env::join_paths(paths).expect("PATH joins")
    }
}

/// One HTTP request as the test server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub body: String,
}

/// A tiny HTTP server on 127.0.0.1 that records requests and answers with a
/// fixed status, or never answers at all (`hang`).
pub struct HttpRecorder {
    pub url: String,
    requests: std::sync::Arc<std::sync::Mutex<Vec<Request>>>,
}

impl HttpRecorder {
    pub fn start(status: u16, reply: &'static str, hang: bool) -> Self {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                if hang {
                    held.push(stream);
                    continue;
                }
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let (method, path) = (
                    parts.next().unwrap_or("").to_owned(),
                    parts.next().unwrap_or("").to_owned(),
                );
                let mut length = 0usize;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut received = vec![0u8; length];
                let _ = reader.read_exact(&mut received);
                seen.lock().unwrap().push(Request {
                    method,
                    path,
                    body: String::from_utf8_lossy(&received).into_owned(),
                });
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reply}",
                    reply.len()
                );
            }
        });
        Self { url, requests }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

/// A URL on a port nothing listens on.
pub fn closed_port_url() -> String {
    format!("http://127.0.0.1:{}", closed_port())
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A private `redis-server` for one test (its own data, no interference
/// between tests running in parallel); killed when dropped.
pub struct RedisServer {
    child: std::process::Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    /// Start one with extra configuration (`["--maxmemory", "64mb"]`) and
    /// return once it says it accepts connections.
    pub fn start(extra: &[&str]) -> Self {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let port = closed_port();
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .args(extra)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("redis-server runs (apt-get install redis-server)");
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = Vec::new();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("Ready to accept connections") => break,
                Some(Ok(line)) => seen.push(line),
                _ => panic!("redis-server did not start:\n{}", seen.join("\n")),
            }
        }
        // Keep draining its log so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            port,
            _dir: dir,
        }
    }

    /// The URL of one of its databases.
    pub fn url(&self, db: u32) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }

    /// Stop it now; its port is then closed.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `redis-cli` against a URL, one command; panics on failure.
pub fn redis_cli(url: &str, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-u", url])
        .args(args)
        .output()
        .expect("redis-cli runs");
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success() && !text.starts_with("ERR"),
        "redis-cli {args:?}: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// How a stand-in AI gateway answers `GET /v1/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayMode {
    Ok,
    Degraded,
    ServerError,
    /// Accepts the connection and never answers.
    Hang,
}

/// A minimal HTTP server on 127.0.0.1 standing in for the AI gateway. Its
/// thread lives as long as the test process (it blocks in accept).
pub struct Gateway {
    pub url: String,
}

impl Gateway {
    pub fn start(mode: GatewayMode) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                if mode == GatewayMode::Hang {
                    held.push(stream);
                    continue;
                }
                let _ = answer(stream, mode);
            }
        });
        Self { url }
    }
}

fn answer(mut stream: std::net::TcpStream, mode: GatewayMode) -> std::io::Result<()> {
    use std::io::{Read, Write};
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&buf[..n]);
    }
    let first_line = String::from_utf8_lossy(&request);
    let (status, body) = if !first_line.starts_with("GET /v1/health ") {
        ("404 Not Found", r#"{"detail":"Not Found"}"#)
    } else {
        match mode {
            GatewayMode::Ok => (
                "200 OK",
                r#"{"status":"ok","timestamp":"2026-11-23T00:00:00Z"}"#,
            ),
            GatewayMode::Degraded => (
                "200 OK",
                r#"{"status":"degraded","reason":"no AI provider configured"}"#,
            ),
            GatewayMode::ServerError => ("500 Internal Server Error", "Internal Server Error"),
            GatewayMode::Hang => unreachable!(),
        }
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A TCP server that accepts connections and never answers: a hung
/// PostgreSQL, Redis, S3 endpoint or gateway.
pub fn black_hole() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// What the hang tests bound a command by before killing it: far above the
/// connect timeout they use (2 s), far below "forever".
pub const WATCHDOG: std::time::Duration = std::time::Duration::from_secs(30);

/// The command gave up on a server that never answers (a [`black_hole`]) after
/// the 2 s connect timeout, with one error line naming it.
#[track_caller]
pub fn assert_no_answer_within(out: &Output, took: std::time::Duration, what: &str) {
    assert_code(out, 1);
    let err = stderr(out);
    assert!(
        err.contains("no answer within 2s") && err.contains("127.0.0.1"),
        "{what}: one line naming the server and the bound: {err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{what}: {err}"
    );
    // 2 s, plus the process start and, for restore, reading the catalog.
    assert!(
        took < std::time::Duration::from_secs(8),
        "{what} took {took:?}"
    );
}

/// Read a key of the test bucket with the AWS CLI.
pub fn s3_get(env: &Env, key: &str) -> Vec<u8> {
    let file = tempfile::NamedTempFile::new().unwrap();
    let out = aws(
        env,
        &[
            "s3",
            "cp",
            &format!("s3://{}/{key}", env.bucket),
            file.path().to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(file.path()).unwrap()
}

/// Write bytes to a key of the test bucket with the AWS CLI.
pub fn s3_put(env: &Env, key: &str, bytes: &[u8]) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), bytes).unwrap();
    let out = aws(
        env,
        &[
            "s3",
            "cp",
            file.path().to_str().unwrap(),
            &format!("s3://{}/{key}", env.bucket),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run with stdin closed, killing the process if it has not exited within
/// `limit` (then the test fails with what it printed so far). Returns the
/// output and how long it ran.
pub fn run_within(cmd: &mut Command, limit: std::time::Duration) -> (Output, std::time::Duration) {
    use std::io::Read;
    use std::process::Stdio;
    let started = std::time::Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("k12ctl runs");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after {limit:?}; killed\nstderr: {}",
                String::from_utf8_lossy(&err.join().unwrap())
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let took = started.elapsed();
    let output = Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    (output, took)
}
