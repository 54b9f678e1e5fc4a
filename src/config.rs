//! Resolves the command line, the environment, the `.env` file and the YAML
//! file into one `Settings` value, once, at start-up.
//!
//! Precedence, highest first: flag > environment > `.env` > YAML file > default.
//! clap already applies "flag > environment" for arguments that have an `env`
//! name; `.env` entries are loaded into the environment before parsing, but
//! never over a variable that is already set, so they rank just below it.
//! The YAML file fills what is still unset. Commands never read the
//! environment themselves: everything they need is in `Settings`.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::cli::{GlobalArgs, OutputFormat};
use crate::exit;
use crate::health::settings::{HealthFile, HealthSettings};
use crate::notify::NotifySettings;
use crate::onboarding::defaults::{self, AiPolicy, ProvisionFile};
use crate::pipeline::codec::{Compression, DEFAULT_ZSTD_THREADS};
use crate::secret::{redact_http_url, redact_path, redact_url, Secret};

/// Where a resolved value came from (shown by `config show`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Flag,
    Env,
    DotEnv,
    ConfigFile,
    Default,
}

/// Names of the variables that the `.env` file put into the environment.
#[derive(Debug, Default, Clone)]
pub struct DotEnv {
    pub path: Option<PathBuf>,
    pub loaded: HashSet<String>,
}

/// Load `./.env` into the environment without overriding what is already set.
/// Must run before clap parses, and before any thread is started.
pub fn load_dotenv() -> Result<DotEnv> {
    let path = PathBuf::from(".env");
    if !path.is_file() {
        return Ok(DotEnv::default());
    }
    let mut loaded = HashSet::new();
    let entries = dotenvy::from_path_iter(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    for entry in entries {
        let (key, value) = entry.with_context(|| format!("{} is malformed", path.display()))?;
        if std::env::var_os(&key).is_none() {
            std::env::set_var(&key, value);
            loaded.insert(key);
        }
    }
    Ok(DotEnv {
        path: Some(path),
        loaded,
    })
}

/// The YAML configuration file. Unknown keys are an error: a typo in a
/// retention or threshold setting must not be silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub database_url: Option<String>,
    /// Bound on connecting to PostgreSQL (TCP, TLS, authentication), seconds.
    pub connect_timeout_seconds: Option<u64>,
    pub storage: Option<String>,
    pub redis_url: Option<String>,
    pub ai_gateway_url: Option<String>,
    pub output: Option<OutputFormat>,
    #[serde(default)]
    pub s3: S3File,
    #[serde(default)]
    pub backup: BackupFile,
    #[serde(default)]
    pub retention: RetentionFile,
    #[serde(default)]
    pub notify: crate::notify::NotifyFile,
    #[serde(default)]
    pub health: HealthFile,
    #[serde(default)]
    pub provision: ProvisionFile,
}

/// `retention:`, used by `backup prune` under its flags.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionFile {
    pub keep_last: Option<u32>,
    pub keep_daily: Option<u32>,
    pub keep_weekly: Option<u32>,
    pub keep_monthly: Option<u32>,
    /// A duration like `7d` or `36h`.
    pub keep_within: Option<String>,
    pub keep_failed_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3File {
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub force_path_style: Option<bool>,
    pub server_side_encryption: Option<String>,
    pub checksum: Option<ChecksumMode>,
    pub parts_in_flight: Option<usize>,
    pub timeout_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupFile {
    /// `gzip` or `zstd[:LEVEL]`.
    pub compression: Option<String>,
    /// gzip's level.
    pub compression_level: Option<u32>,
    pub compression_threads: Option<usize>,
    pub pg_bindir: Option<PathBuf>,
    /// age recipients (public keys) every backup is encrypted to.
    #[serde(default)]
    pub encrypt_to: Vec<String>,
    /// age identity file used to decrypt for verify and restore.
    pub identity_file: Option<PathBuf>,
}

/// When the S3 client adds request checksums. `when_required` is the safe
/// choice for third-party S3 stores that reject the newer CRC headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChecksumMode {
    WhenRequired,
    WhenSupported,
}

/// Fully resolved settings. Built once; read everywhere.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_file: Option<PathBuf>,
    pub database_url: Option<Secret<String>>,
    /// Bound on connecting to PostgreSQL, unless the URL has `connect_timeout`.
    pub connect_timeout: Duration,
    pub storage: Option<StorageSettings>,
    /// Redis of Sidekiq (`health`); unset: those checks are skipped.
    pub redis_url: Option<Secret<String>>,
    /// Base URL of the AI gateway (`health`); unset: skipped.
    pub ai_gateway_url: Option<String>,
    pub output: OutputSettings,
    pub backup: BackupSettings,
    pub retention: RetentionFile,
    pub notify: NotifySettings,
    pub health: HealthSettings,
    /// AI task policies every provisioned school starts with.
    pub ai_policies: Vec<AiPolicy>,
    pub sources: BTreeMap<&'static str, Source>,
}

#[derive(Debug, Clone)]
pub struct StorageSettings {
    pub url: String,
    pub s3: S3Settings,
}

#[derive(Debug, Clone)]
pub struct S3Settings {
    pub endpoint: Option<String>,
    pub region: String,
    pub force_path_style: bool,
    pub server_side_encryption: Option<String>,
    pub checksum: ChecksumMode,
    pub parts_in_flight: usize,
    /// How long an S3 request may go without progress (no answer, no byte
    /// sent or received) before it is abandoned and retried.
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct OutputSettings {
    pub format: OutputFormat,
    pub progress: bool,
    pub quiet: bool,
}

#[derive(Debug, Clone)]
pub struct BackupSettings {
    pub compression: Compression,
    /// gzip's level.
    pub compression_level: u32,
    /// gzip's threads.
    pub compression_threads: usize,
    /// zstd's threads: `compression_threads` when set, else
    /// `codec::DEFAULT_ZSTD_THREADS` (measured; gzip's default is not).
    pub zstd_threads: usize,
    pub pg_bindir: Option<PathBuf>,
    pub encrypt_to: Vec<String>,
    pub identity_file: Option<PathBuf>,
}

/// Default gzip level, chosen by measurement (docs/BENCHMARKS.md): level 2
/// costs much less CPU than 3 for a ratio within a few percent; level 1 of
/// zlib-rs is a quick mode with a much worse ratio.
pub const DEFAULT_COMPRESSION_LEVEL: u32 = 2;
/// Compression threads by default: the machine's cores, at most 4.
fn default_compression_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4)
}
pub const DEFAULT_PARTS_IN_FLIGHT: usize = 4;
/// S3 requests that make no progress for this long are retried: far above
/// any healthy pause, far below "forever".
pub const DEFAULT_S3_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_REGION: &str = "us-east-1";

impl Settings {
    /// The database URL, or a configuration error that says how to set it.
    pub fn require_database_url(&self) -> Result<&Secret<String>> {
        self.database_url.as_ref().ok_or_else(|| {
            exit::usage(
                "no database configured (set DATABASE_URL, pass --database-url, \
                 or add database_url to the config file)",
            )
        })
    }

    /// The storage settings, or a configuration error that says how to set them.
    pub fn require_storage(&self) -> Result<&StorageSettings> {
        self.storage.as_ref().ok_or_else(|| {
            exit::usage(
                "no backup storage configured (set K12CTL_STORAGE or BACKUP_S3_BUCKET, \
                 pass --storage s3://bucket/prefix or --storage file:///dir, \
                 or add storage to the config file)",
            )
        })
    }
}

/// Reads one variable; the process environment includes `.env` entries.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

struct Resolver<'a> {
    dotenv: &'a DotEnv,
    sources: BTreeMap<&'static str, Source>,
}

impl Resolver<'_> {
    fn env_source(&self, name: &str) -> Source {
        if self.dotenv.loaded.contains(name) {
            Source::DotEnv
        } else {
            Source::Env
        }
    }

    /// A value clap parsed from a flag or from `env_name`.
    fn flag_or_env<T: PartialEq + Clone>(
        &mut self,
        key: &'static str,
        parsed: Option<T>,
        env_name: &str,
        env_value: impl Fn(&str) -> Option<T>,
    ) -> Option<T> {
        let value = parsed?;
        let from_env = env(env_name).and_then(|raw| env_value(&raw));
        let source = if from_env.as_ref() == Some(&value) {
            self.env_source(env_name)
        } else {
            Source::Flag
        };
        self.sources.insert(key, source);
        Some(value)
    }

    /// The first of the environment variables that is set.
    fn first_env(&mut self, key: &'static str, names: &[&str]) -> Option<String> {
        let (name, value) = names.iter().find_map(|n| env(n).map(|v| (*n, v)))?;
        self.sources.insert(key, self.env_source(name));
        Some(value)
    }

    fn or_file<T>(&mut self, key: &'static str, value: Option<T>, file: Option<T>) -> Option<T> {
        if value.is_some() {
            return value;
        }
        let v = file?;
        self.sources.insert(key, Source::ConfigFile);
        Some(v)
    }

    fn or_default<T>(&mut self, key: &'static str, value: Option<T>, default: T) -> T {
        value.unwrap_or_else(|| {
            self.sources.insert(key, Source::Default);
            default
        })
    }
}

fn parse_bool(key: &str, raw: &str) -> Result<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(exit::usage(format!(
            "{key} must be true or false, not {raw:?}"
        ))),
    }
}

fn parse_checksum(raw: &str) -> Result<ChecksumMode> {
    match raw {
        "when_required" => Ok(ChecksumMode::WhenRequired),
        "when_supported" => Ok(ChecksumMode::WhenSupported),
        _ => Err(exit::usage(format!(
            "K12CTL_S3_CHECKSUM must be when_required or when_supported, not {raw:?}"
        ))),
    }
}

/// The YAML file: `--config` (must exist), else `./k12ctl.yaml`, else
/// `$XDG_CONFIG_HOME/k12ctl/config.yaml` (or `~/.config/...`).
fn find_config_file(explicit: Option<&Path>) -> Result<Option<PathBuf>> {
    if let Some(path) = explicit {
        if !path.is_file() {
            return Err(exit::usage(format!(
                "config file {} does not exist",
                path.display()
            )));
        }
        return Ok(Some(path.to_owned()));
    }
    let local = PathBuf::from("k12ctl.yaml");
    if local.is_file() {
        return Ok(Some(local));
    }
    let xdg = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")));
    Ok(xdg
        .map(|dir| dir.join("k12ctl").join("config.yaml"))
        .filter(|p| p.is_file()))
}

pub fn read_config_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    if text.trim().is_empty() {
        return Ok(FileConfig::default());
    }
    yaml_serde::from_str(&text)
        .map_err(|e| exit::usage(format!("config file {} is invalid: {e}", path.display())))
}

/// The format of an error message: the one of results, as [`resolve`] would
/// find it (flag > environment > `.env` > YAML file > human), from the parts
/// that can still be read when resolving failed or was not needed.
pub fn output_format_for_errors(global: &GlobalArgs) -> OutputFormat {
    global
        .output
        .or_else(|| {
            let path = find_config_file(global.config.as_deref()).ok()??;
            read_config_file(&path).ok()?.output
        })
        .unwrap_or(OutputFormat::Human)
}

/// Resolve everything. Errors here are configuration errors (exit 2).
pub fn resolve(global: &GlobalArgs, dotenv: &DotEnv, is_terminal: bool) -> Result<Settings> {
    let config_file = find_config_file(global.config.as_deref())?;
    let file = match &config_file {
        Some(path) => read_config_file(path)?,
        None => FileConfig::default(),
    };
    let mut r = Resolver {
        dotenv,
        sources: BTreeMap::new(),
    };

    let database_url = r.flag_or_env(
        "database_url",
        global.database_url.clone(),
        "DATABASE_URL",
        |v| Some(Secret::new(v.to_owned())),
    );
    let database_url = r.or_file(
        "database_url",
        database_url,
        file.database_url.map(Secret::new),
    );

    let connect_timeout = resolve_connect_timeout(&mut r, file.connect_timeout_seconds)?;

    let storage_url = r.flag_or_env("storage", global.storage.clone(), "K12CTL_STORAGE", |v| {
        Some(v.to_owned())
    });
    let storage_url = storage_url.or_else(|| {
        r.first_env("storage", &["BACKUP_S3_BUCKET"])
            .map(|bucket| format!("s3://{bucket}"))
    });
    let storage_url = r.or_file("storage", storage_url, file.storage);

    let storage = match storage_url {
        Some(url) => Some(StorageSettings {
            url,
            s3: resolve_s3(&mut r, file.s3)?,
        }),
        None => None,
    };

    let format = r.flag_or_env("output", global.output, "K12CTL_OUTPUT", |v| {
        clap::ValueEnum::from_str(v, true).ok()
    });
    let format = r.or_file("output", format, file.output);
    let format = r.or_default("output", format, OutputFormat::Human);

    let compression = resolve_compression(&mut r, file.backup.compression)?;
    let level = r.first_env("compression_level", &["K12CTL_COMPRESSION_LEVEL"]);
    let level = level
        .map(|v| {
            v.parse::<u32>()
                .ok()
                .filter(|l| (1..=9).contains(l))
                .ok_or_else(|| {
                    exit::usage(format!("K12CTL_COMPRESSION_LEVEL must be 1-9, not {v:?}"))
                })
        })
        .transpose()?;
    let level = r.or_file("compression_level", level, file.backup.compression_level);
    if let Some(l) = level.filter(|l| !(1..=9).contains(l)) {
        return Err(exit::usage(format!(
            "backup.compression_level must be 1-9, not {l}"
        )));
    }
    let compression_level = r.or_default("compression_level", level, DEFAULT_COMPRESSION_LEVEL);

    let threads = r
        .first_env("compression_threads", &["K12CTL_COMPRESSION_THREADS"])
        .map(|v| {
            v.parse::<usize>()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| {
                    exit::usage(format!(
                        "K12CTL_COMPRESSION_THREADS must be 1-64, not {v:?}"
                    ))
                })
        })
        .transpose()?;
    let threads = r.or_file(
        "compression_threads",
        threads,
        file.backup.compression_threads,
    );
    let zstd_threads = threads.unwrap_or(DEFAULT_ZSTD_THREADS);
    let compression_threads = r.or_default(
        "compression_threads",
        threads,
        default_compression_threads(),
    );
    if compression_threads == 0 {
        return Err(exit::usage("backup.compression_threads must be at least 1"));
    }
    let pg_bindir = r
        .first_env("pg_bindir", &["K12CTL_PG_BINDIR"])
        .map(PathBuf::from);
    let pg_bindir = r.or_file("pg_bindir", pg_bindir, file.backup.pg_bindir);
    let encrypt_to = r.first_env("encrypt_to", &["K12CTL_ENCRYPT_TO"]).map(|v| {
        v.split([',', ' '])
            .filter(|k| !k.is_empty())
            .map(str::to_owned)
            .collect()
    });
    let file_keys = Some(file.backup.encrypt_to).filter(|k| !k.is_empty());
    let encrypt_to = r
        .or_file("encrypt_to", encrypt_to, file_keys)
        .unwrap_or_default();
    let identity_file = r
        .first_env("identity_file", &["K12CTL_IDENTITY_FILE"])
        .map(PathBuf::from);
    let identity_file = r.or_file("identity_file", identity_file, file.backup.identity_file);

    let redis_url = r.first_env("redis_url", &["REDIS_URL"]).map(Secret::new);
    let redis_url = r.or_file("redis_url", redis_url, file.redis_url.map(Secret::new));
    let ai_gateway_url = r.first_env("ai_gateway_url", &["AI_GATEWAY_URL"]);
    let ai_gateway_url = r.or_file("ai_gateway_url", ai_gateway_url, file.ai_gateway_url);
    let health_source = if file.health.timeout_seconds.is_some()
        || !file.health.timeouts.is_empty()
        || !file.health.thresholds.is_empty()
        || file.health.sidekiq_namespace.is_some()
    {
        Source::ConfigFile
    } else {
        Source::Default
    };
    r.sources.insert("health", health_source);
    let health = HealthSettings::from_file(file.health).map_err(exit::usage)?;
    let ai_policies_source = if file.provision.ai_policies.is_some() {
        Source::ConfigFile
    } else {
        Source::Default
    };
    r.sources
        .insert("provision.ai_policies", ai_policies_source);
    let ai_policies = defaults::ai_policies(file.provision).map_err(exit::usage)?;

    Ok(Settings {
        config_file,
        database_url,
        connect_timeout,
        storage,
        redis_url,
        ai_gateway_url,
        health,
        ai_policies,
        output: OutputSettings {
            format,
            progress: is_terminal && !global.no_progress && !global.quiet,
            quiet: global.quiet,
        },
        backup: BackupSettings {
            compression,
            compression_level,
            compression_threads,
            zstd_threads,
            pg_bindir,
            encrypt_to,
            identity_file,
        },
        retention: file.retention,
        notify: resolve_notify(&mut r, global.notify, file.notify)?,
        sources: r.sources,
    })
}

/// `K12CTL_COMPRESSION` > `backup.compression` > gzip. A bad value is a
/// configuration error naming where it came from.
fn resolve_compression(r: &mut Resolver<'_>, file: Option<String>) -> Result<Compression> {
    let key = "compression";
    let parse = |origin: &str, raw: &str| {
        raw.parse::<Compression>()
            .map_err(|e| exit::usage(format!("{origin}: {e}")))
    };
    let env = r
        .first_env(key, &["K12CTL_COMPRESSION"])
        .map(|v| parse("K12CTL_COMPRESSION", &v))
        .transpose()?;
    let file = file.map(|v| parse("backup.compression", &v)).transpose()?;
    let value = r.or_file(key, env, file);
    Ok(r.or_default(key, value, Compression::Gzip))
}

/// `K12CTL_CONNECT_TIMEOUT` > `connect_timeout_seconds` > 30 s. A
/// `connect_timeout` in the database URL still wins, as in libpq.
fn resolve_connect_timeout(r: &mut Resolver<'_>, file: Option<u64>) -> Result<Duration> {
    let key = "connect_timeout";
    let secs = r
        .first_env(key, &["K12CTL_CONNECT_TIMEOUT"])
        .map(|v| {
            v.parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                exit::usage(format!(
                    "K12CTL_CONNECT_TIMEOUT must be a number of seconds above 0, not {v:?}"
                ))
            })
        })
        .transpose()?;
    let secs = r.or_file(key, secs, file);
    if secs == Some(0) {
        return Err(exit::usage(
            "connect_timeout_seconds must be above 0: k12ctl never waits forever for a server",
        ));
    }
    let default = crate::db::DEFAULT_CONNECT_TIMEOUT;
    Ok(r.or_default(key, secs.map(Duration::from_secs), default))
}

/// `K12CTL_S3_TIMEOUT` > `s3.timeout_seconds` > 60 s.
fn resolve_s3_timeout(r: &mut Resolver<'_>, file: Option<u64>) -> Result<Duration> {
    let key = "s3.timeout";
    let secs = r
        .first_env(key, &["K12CTL_S3_TIMEOUT"])
        .map(|v| {
            v.parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                exit::usage(format!(
                    "K12CTL_S3_TIMEOUT must be a number of seconds above 0, not {v:?}"
                ))
            })
        })
        .transpose()?;
    let secs = r.or_file(key, secs, file);
    if secs == Some(0) {
        return Err(exit::usage(
            "s3.timeout_seconds must be above 0: k12ctl never waits forever for S3",
        ));
    }
    Ok(r.or_default(key, secs.map(Duration::from_secs), DEFAULT_S3_TIMEOUT))
}

fn resolve_s3(r: &mut Resolver<'_>, file: S3File) -> Result<S3Settings> {
    let endpoint = r.first_env(
        "s3.endpoint",
        &[
            "K12CTL_S3_ENDPOINT",
            "AWS_ENDPOINT_URL_S3",
            "AWS_ENDPOINT_URL",
        ],
    );
    let endpoint = r.or_file("s3.endpoint", endpoint, file.endpoint);
    let region = r.first_env(
        "s3.region",
        &["BACKUP_S3_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"],
    );
    let region = r.or_file("s3.region", region, file.region);
    let region = r.or_default("s3.region", region, DEFAULT_REGION.to_owned());
    let path_style = r
        .first_env("s3.force_path_style", &["K12CTL_S3_FORCE_PATH_STYLE"])
        .map(|v| parse_bool("K12CTL_S3_FORCE_PATH_STYLE", &v))
        .transpose()?;
    let path_style = r.or_file("s3.force_path_style", path_style, file.force_path_style);
    // Custom endpoints (Garage, MinIO, Ceph) rarely have wildcard DNS for
    // virtual-hosted buckets; AWS itself prefers virtual-hosted style.
    let force_path_style = r.or_default("s3.force_path_style", path_style, endpoint.is_some());
    let sse = r.first_env("s3.server_side_encryption", &["K12CTL_S3_SSE"]);
    let sse = r.or_file(
        "s3.server_side_encryption",
        sse,
        file.server_side_encryption,
    );
    if let Some(v) = sse.as_deref().filter(|v| *v != "AES256") {
        return Err(exit::usage(format!(
            "server-side encryption must be AES256, not {v:?}"
        )));
    }
    let checksum = r
        .first_env("s3.checksum", &["K12CTL_S3_CHECKSUM"])
        .map(|v| parse_checksum(&v))
        .transpose()?;
    let checksum = r.or_file("s3.checksum", checksum, file.checksum);
    let checksum = r.or_default("s3.checksum", checksum, ChecksumMode::WhenRequired);
    let parts = r.or_file("s3.parts_in_flight", None, file.parts_in_flight);
    let parts_in_flight = r.or_default("s3.parts_in_flight", parts, DEFAULT_PARTS_IN_FLIGHT);
    if parts_in_flight == 0 {
        return Err(exit::usage("s3.parts_in_flight must be at least 1"));
    }
    let timeout = resolve_s3_timeout(r, file.timeout_seconds)?;
    Ok(S3Settings {
        endpoint,
        parts_in_flight,
        timeout,
        region,
        force_path_style,
        server_side_encryption: sse,
        checksum,
    })
}

fn resolve_notify(
    r: &mut Resolver<'_>,
    flag: bool,
    file: crate::notify::NotifyFile,
) -> Result<NotifySettings> {
    let enabled = r
        .first_env("notify", &["K12CTL_NOTIFY"])
        .map(|v| parse_bool("K12CTL_NOTIFY", &v))
        .transpose()?;
    let enabled = if flag {
        r.sources.insert("notify", Source::Flag);
        Some(true)
    } else {
        enabled
    };
    let enabled = r.or_file("notify", enabled, file.enabled);
    let enabled = r.or_default("notify", enabled, false);
    let slack = r.first_env("notify.slack_webhook_url", &["SLACK_ALERT_WEBHOOK_URL"]);
    let slack = r.or_file("notify.slack_webhook_url", slack, file.slack_webhook_url);
    let ping = r.first_env("notify.ping_url", &["K12CTL_PING_URL"]);
    let ping = r.or_file("notify.ping_url", ping, file.ping_url);
    let timeout = r.or_file("notify.timeout_seconds", None, file.timeout_seconds);
    Ok(NotifySettings {
        enabled,
        slack_webhook_url: slack.map(Secret::new),
        ping_url: ping.map(Secret::new),
        timeout: timeout
            .map(|s| std::time::Duration::from_secs(s.max(1)))
            .unwrap_or(crate::notify::DEFAULT_TIMEOUT),
    })
}

/// What `config show` prints: every setting, redacted, with its source.
#[derive(Debug, Serialize)]
pub struct ResolvedView {
    pub config_file: Option<String>,
    pub dotenv_file: Option<String>,
    pub settings: Vec<ResolvedSetting>,
}

#[derive(Debug, Serialize)]
pub struct ResolvedSetting {
    pub name: &'static str,
    pub value: Option<String>,
    pub source: Option<Source>,
}

impl Settings {
    pub fn view(&self, dotenv: &DotEnv) -> ResolvedView {
        let s3 = self.storage.as_ref().map(|s| &s.s3);
        let values: Vec<(&'static str, Option<String>)> = vec![
            (
                "database_url",
                self.database_url.as_ref().map(|u| redact_url(u.expose())),
            ),
            (
                "connect_timeout",
                Some(humantime::format_duration(self.connect_timeout).to_string()),
            ),
            ("storage", self.storage.as_ref().map(|s| redact_url(&s.url))),
            (
                "redis_url",
                self.redis_url.as_ref().map(|u| redact_url(u.expose())),
            ),
            (
                "ai_gateway_url",
                self.ai_gateway_url.as_deref().map(redact_http_url),
            ),
            ("s3.endpoint", s3.and_then(|s| s.endpoint.clone())),
            ("s3.region", s3.map(|s| s.region.clone())),
            (
                "s3.force_path_style",
                s3.map(|s| s.force_path_style.to_string()),
            ),
            (
                "s3.server_side_encryption",
                s3.and_then(|s| s.server_side_encryption.clone()),
            ),
            (
                "s3.checksum",
                s3.map(|s| match s.checksum {
                    ChecksumMode::WhenRequired => "when_required".to_owned(),
                    ChecksumMode::WhenSupported => "when_supported".to_owned(),
                }),
            ),
            (
                "output",
                Some(match self.output.format {
                    OutputFormat::Human => "human".to_owned(),
                    OutputFormat::Json => "json".to_owned(),
                }),
            ),
            ("compression", Some(self.backup.compression.to_string())),
            (
                "compression_level",
                Some(self.backup.compression_level.to_string()),
            ),
            (
                "compression_threads",
                Some(self.backup.compression_threads.to_string()),
            ),
            (
                "s3.parts_in_flight",
                s3.map(|s| s.parts_in_flight.to_string()),
            ),
            (
                "s3.timeout",
                s3.map(|s| humantime::format_duration(s.timeout).to_string()),
            ),
            (
                "encrypt_to",
                Some(self.backup.encrypt_to.join(",")).filter(|k| !k.is_empty()),
            ),
            (
                "identity_file",
                self.backup
                    .identity_file
                    .as_ref()
                    .map(|p| p.display().to_string()),
            ),
            ("notify", Some(self.notify.enabled.to_string())),
            (
                "notify.slack_webhook_url",
                self.notify
                    .slack_webhook_url
                    .as_ref()
                    .map(|_| "*** (set)".to_owned()),
            ),
            (
                "notify.ping_url",
                self.notify
                    .ping_url
                    .as_ref()
                    .map(|u| redact_path(u.expose())),
            ),
            (
                "pg_bindir",
                self.backup
                    .pg_bindir
                    .as_ref()
                    .map(|p| p.display().to_string()),
            ),
            ("health", Some(self.health.describe())),
            (
                "provision.ai_policies",
                Some(
                    self.ai_policies
                        .iter()
                        .map(|p| format!("{} ({})", p.task_type, p.allowed_roles.join("/")))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ),
        ];
        ResolvedView {
            config_file: self.config_file.as_ref().map(|p| p.display().to_string()),
            dotenv_file: dotenv.path.as_ref().map(|p| p.display().to_string()),
            settings: values
                .into_iter()
                .map(|(name, value)| ResolvedSetting {
                    name,
                    source: value.as_ref().and(self.sources.get(name).copied()),
                    value,
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_rejects_unknown_keys() {
        let err = yaml_serde::from_str::<FileConfig>("storage: s3://b\nstorgae: x\n").unwrap_err();
        assert!(err.to_string().contains("storgae"), "{err}");
    }

    #[test]
    fn yaml_reads_nested_sections() {
        let cfg: FileConfig = yaml_serde::from_str(
            "storage: s3://k12-backups/prod\ns3:\n  region: eu-west-1\n  checksum: when_supported\nbackup:\n  compression_level: 6\n",
        )
        .unwrap();
        assert_eq!(cfg.storage.as_deref(), Some("s3://k12-backups/prod"));
        assert_eq!(cfg.s3.region.as_deref(), Some("eu-west-1"));
        assert_eq!(cfg.s3.checksum, Some(ChecksumMode::WhenSupported));
        assert_eq!(cfg.backup.compression_level, Some(6));
    }

    #[test]
    fn file_values_rank_below_explicit_values() {
        let dotenv = DotEnv::default();
        let mut r = Resolver {
            dotenv: &dotenv,
            sources: BTreeMap::new(),
        };
        let v = r.or_file(
            "storage",
            Some("s3://flag".to_owned()),
            Some("s3://file".to_owned()),
        );
        assert_eq!(v.as_deref(), Some("s3://flag"));
        let v = r.or_file("output", None, Some(OutputFormat::Json));
        assert_eq!(v, Some(OutputFormat::Json));
        assert_eq!(r.sources.get("output"), Some(&Source::ConfigFile));
        let v = r.or_default("s3.region", None::<String>, "us-east-1".into());
        assert_eq!(v, "us-east-1");
        assert_eq!(r.sources.get("s3.region"), Some(&Source::Default));
    }
}
