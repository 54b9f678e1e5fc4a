//! Every clap type of the command line, and nothing else.
//!
//! These are the parsed arguments as the operator typed them (or as the
//! environment supplied them). `config.rs` resolves them, together with the
//! `.env` and YAML files, into the `Settings` that commands use.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::pipeline::codec::Compression;
use crate::secret::{parse_secret, Secret};

const AFTER_HELP: &str = "\
Exit codes: 0 success, 1 the operation failed, 2 usage or configuration error,
3 refused (confirmation declined, or destructive action without --yes off a terminal),
4 verification failed or data rejected, 5 another run holds the lock, 130/143 interrupted.
health: 0 healthy, 1 warning, 2 critical, 3 unknown (bad configuration).

Settings are resolved as: flag > environment > .env file > YAML config file > default.";

const AFTER_LONG_HELP: &str = "\
Exit codes:
  0    success
  1    the operation failed
  2    usage or configuration error
  3    refused: confirmation declined, or a destructive action without --yes off a terminal
  4    verification failed or data rejected (the data is wrong, not the tool)
  5    locked: another run holds the lock
  130  interrupted by SIGINT (143: SIGTERM); a second signal exits at once

  `health` follows the monitoring-plugin convention instead:
  0    healthy
  1    warning: a check or metric reached its warning level
  2    critical: a check failed or a metric reached its critical level
  3    unknown: no verdict (bad configuration or usage, or the tool itself failed)

Environment:
  DATABASE_URL                  PostgreSQL URL (sslmode and sslrootcert honoured)
  K12CTL_CONNECT_TIMEOUT        seconds allowed to connect to PostgreSQL, TLS included (default 30)
  K12CTL_STORAGE                s3://bucket/prefix or file:///dir
  BACKUP_S3_BUCKET              used as s3://BUCKET when K12CTL_STORAGE is unset
  BACKUP_S3_REGION              S3 region (also AWS_REGION; default us-east-1)
  K12CTL_S3_ENDPOINT            S3-compatible endpoint (Garage, MinIO, Ceph)
  K12CTL_S3_FORCE_PATH_STYLE    path-style addressing (default: on with an endpoint)
  K12CTL_S3_SSE                 AES256 for server-side encryption
  K12CTL_S3_CHECKSUM            when_required (default) or when_supported
  K12CTL_COMPRESSION_LEVEL      gzip level 1-9 (default 2)
  K12CTL_COMPRESSION_THREADS    threads compressing a backup (default: the cores, at most 4)
  K12CTL_PG_BINDIR              directory of pg_dump, pg_restore and psql
  K12CTL_ENCRYPT_TO             age recipients (age1..., comma-separated) to encrypt backups to
  K12CTL_IDENTITY_FILE          age identity file to decrypt backups (verify, restore)
  K12CTL_SCRATCH_URL            server for verify's scratch databases (default: DATABASE_URL's)
  K12CTL_NOTIFY                 true: post failures to Slack (same as --notify)
  SLACK_ALERT_WEBHOOK_URL       Slack incoming webhook for --notify
  K12CTL_PING_URL               healthchecks-style ping URL: <url>/start, <url>, <url>/fail
  REDIS_URL                     Redis of Sidekiq, for `health` (unset: redis and sidekiq skipped)
  AI_GATEWAY_URL                AI gateway base URL, for `health` (unset: ai_gateway skipped)
  K12CTL_OUTPUT                 human or json
  K12CTL_CONFIG                 YAML config file
  K12CTL_LOG                    log filter (tracing EnvFilter syntax)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE   S3 credentials (SDK default chain)

Settings are resolved as: flag > environment > .env file > YAML config file > default.
A .env file in the working directory is read; `k12ctl config show` prints the result.";

/// Operator CLI of the K-12 learning platform: PostgreSQL backups streamed to
/// object storage and proven to restore, safe restores, school provisioning,
/// roster imports, and platform health.
#[derive(Debug, Parser)]
#[command(
    name = "k12ctl",
    version,
    after_help = AFTER_HELP,
    after_long_help = AFTER_LONG_HELP,
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]
    #[arg(long, global = true, env = "K12CTL_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// PostgreSQL connection URL; prefer the environment variable, which stays out of the process list
    #[arg(
        long,
        global = true,
        env = "DATABASE_URL",
        hide_env_values = true,
        value_parser = parse_secret,
        value_name = "URL"
    )]
    pub database_url: Option<Secret<String>>,

    /// Backup storage: s3://bucket/prefix or file:///directory
    #[arg(long, global = true, env = "K12CTL_STORAGE", value_name = "URL")]
    pub storage: Option<String>,

    /// Output format of results on stdout
    #[arg(long, global = true, value_enum, env = "K12CTL_OUTPUT")]
    pub output: Option<OutputFormat>,

    /// Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)
    #[arg(long, global = true)]
    pub notify: bool,

    /// Never draw progress bars (a log line every 10 s is written instead)
    #[arg(long, global = true)]
    pub no_progress: bool,

    /// Only print errors and results
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// More detail in logs (-vv for debug output of the libraries)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to use colors on stderr
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    #[command(flatten)]
    Operation(Operation),

    /// Print a shell completion script (or write all of them with --dir)
    Completions(CompletionsArgs),

    /// Print the man page k12ctl.1 (or write every page with --dir)
    Man(ManArgs),
}

/// The commands that work with the resolved settings (`completions` and
/// `man` need none, so that a broken configuration cannot stop them).
#[derive(Debug, Subcommand)]
pub enum Operation {
    /// Back up, list and inspect backups
    #[command(subcommand)]
    Backup(BackupCommand),

    /// Restore a backup into a database: confirmed, atomic, never into its source
    Restore(RestoreArgs),

    /// Onboard schools: tenant, school, roles, admin, academic year and AI policies in one
    /// transaction; the onboarding checklist
    #[command(subcommand)]
    Provision(ProvisionCommand),

    /// Import a roster from CSV (users, courses and sections, enrollments): every row checked
    /// first, then all or nothing
    #[command(subcommand)]
    Import(ImportCommand),

    /// Check database, redis, sidekiq, storage, AI gateway and backups: healthy, warning or critical
    Health(HealthArgs),

    /// Inspect the resolved configuration
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Stream pg_dump -> gzip -> object storage; the manifest is written last
    Run(BackupRunArgs),
    /// List backups from the catalog in the bucket, newest first
    List(BackupListArgs),
    /// Show one backup's manifest
    Show(BackupShowArgs),
    /// Prove a backup restores: size and SHA-256, a restore into a scratch database, row counts
    Verify(BackupVerifyArgs),
    /// Apply the retention policy; also abort unfinished uploads of killed runs
    Prune(BackupPruneArgs),
    /// The platform's backup status summary (latest backup, latest verified, total, failed in
    /// 30 days), from the catalog in the bucket
    Status,
}

#[derive(Debug, Args)]
pub struct BackupPruneArgs {
    /// Keep the N newest completed or verified backups
    #[arg(long, value_name = "N")]
    pub keep_last: Option<u32>,

    /// Keep the newest backup of each of the N most recent days (UTC)
    #[arg(long, value_name = "N")]
    pub keep_daily: Option<u32>,

    /// Keep the newest backup of each of the N most recent ISO weeks
    #[arg(long, value_name = "N")]
    pub keep_weekly: Option<u32>,

    /// Keep the newest backup of each of the N most recent months
    #[arg(long, value_name = "N")]
    pub keep_monthly: Option<u32>,

    /// Keep every backup younger than this (e.g. 7d, 36h)
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub keep_within: Option<std::time::Duration>,

    /// Remove failed and verification-failed runs older than this many days [default: 30]
    #[arg(long, value_name = "DAYS")]
    pub keep_failed_days: Option<u32>,

    /// Abort unfinished multipart uploads (debris of killed runs) older than this
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, default_value = "24h")]
    pub abort_uploads_older_than: std::time::Duration,

    /// Show what would be removed; remove nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Write this run's gauges (status, duration, last success, sizes) to this file for
    /// node_exporter's textfile collector, replacing it atomically
    #[arg(long, value_name = "PATH")]
    pub prometheus_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackupType {
    /// A complete logical dump (pg_dump custom format)
    Full,
    /// Not offered: needs WAL archiving (use pgBackRest or WAL-G for point-in-time recovery)
    Incremental,
}

#[derive(Debug, Args)]
pub struct BackupRunArgs {
    /// Backup type; only `full` is offered
    #[arg(long = "type", value_enum, default_value_t = BackupType::Full)]
    pub backup_type: BackupType,

    /// gzip (the default; `gunzip -c x.dump.gz | pg_restore` restores it) or zstd[:LEVEL]
    /// (levels 1-19, default 1; `zstd -dc x.dump.zst | pg_restore`). Replaces
    /// backup.compression / K12CTL_COMPRESSION
    #[arg(long, value_name = "gzip|zstd[:LEVEL]")]
    pub compression: Option<Compression>,

    /// gzip level 1-9 [default: 2, chosen by measurement, see docs/BENCHMARKS.md]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=9))]
    pub compression_level: Option<u32>,

    /// Encrypt the backup with age to this X25519 recipient (age1...); repeatable.
    /// Replaces backup.encrypt_to / K12CTL_ENCRYPT_TO
    #[arg(long, value_name = "RECIPIENT")]
    pub encrypt_to: Vec<String>,

    /// Write this run's gauges (status, duration, last success, sizes) to this file for
    /// node_exporter's textfile collector, replacing it atomically
    #[arg(long, value_name = "PATH")]
    pub prometheus_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusFilter {
    Completed,
    Failed,
    Verified,
    VerificationFailed,
}

#[derive(Debug, Args)]
pub struct BackupListArgs {
    /// Show at most this many backups
    #[arg(long)]
    pub limit: Option<usize>,

    /// Only backups with this status (repeatable)
    #[arg(long, value_enum)]
    pub status: Vec<StatusFilter>,
}

#[derive(Debug, Args)]
pub struct BackupShowArgs {
    /// Backup id (k12_full_YYYYMMDD_HHMMSS) or `latest`
    pub id: String,
}

#[derive(Debug, Args)]
pub struct BackupVerifyArgs {
    /// Backup id (k12_full_YYYYMMDD_HHMMSS)
    #[arg(required_unless_present = "latest", conflicts_with = "latest")]
    pub id: Option<String>,

    /// Verify the newest completed or verified backup
    #[arg(long)]
    pub latest: bool,

    /// Only check the stored object's size and SHA-256 (no restore)
    #[arg(long)]
    pub quick: bool,

    /// age identity file (AGE-SECRET-KEY-1...) to decrypt an encrypted backup
    /// [env: K12CTL_IDENTITY_FILE, config: backup.identity_file]
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,

    /// Write this run's gauges (status, duration, last success, sizes) to this file for
    /// node_exporter's textfile collector, replacing it atomically
    #[arg(long, value_name = "PATH")]
    pub prometheus_file: Option<PathBuf>,

    /// Server to create the scratch database on [default: the server of DATABASE_URL]
    #[arg(
        long,
        env = "K12CTL_SCRATCH_URL",
        hide_env_values = true,
        value_parser = parse_secret,
        value_name = "URL"
    )]
    pub scratch_url: Option<Secret<String>>,
}

const RESTORE_AFTER_HELP: &str = "\
One school: --tenant SUBDOMAIN restores the backup into a scratch database (always dropped) and
takes that tenant's rows: those of tables with tenant_id, and of tables that hang on them through
foreign keys; global tables (districts, schema_migrations, ...) are left alone. --merge puts the
rows missing now back into --target, the backup's own database included, by primary key, parents
first, ids as they were, counter caches recomputed, in one transaction; a row that cannot go back
(a unique key now taken, a parent gone) stops it with the list of conflicts, nothing written (exit
4). --create extracts the tenant into a new database: the whole schema, its rows and the global
rows they reference. Both ask for the subdomain to be typed (--yes off a terminal).";

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["backup", "latest", "key"])))]
#[command(after_help = RESTORE_AFTER_HELP)]
pub struct RestoreArgs {
    /// Database to restore into, on the server of DATABASE_URL
    #[arg(long, value_name = "DB")]
    pub target: String,

    /// Backup id to restore
    #[arg(long, value_name = "ID")]
    pub backup: Option<String>,

    /// Restore the newest completed or verified backup
    #[arg(long)]
    pub latest: bool,

    /// A backup without a manifest, as the platform's old jobs made them (custom format,
    /// gzipped or not, or gzipped plain SQL): a key relative to the storage prefix, or a full
    /// s3://bucket/key (any bucket, same S3 settings) or file:///path URL
    #[arg(long, value_name = "KEY|URL")]
    pub key: Option<String>,

    /// Create the target database when it does not exist (with --tenant: extract the tenant
    /// into a new database holding the whole schema and only its rows)
    #[arg(long)]
    pub create: bool,

    /// Replace the contents of a target that holds tables (in one transaction)
    #[arg(long)]
    pub clean: bool,

    /// Restore with N parallel jobs through a temporary file (needs a new database: --create)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub jobs: Option<u32>,

    /// Directory for the temporary file of --jobs [default: $TMPDIR]
    #[arg(long, value_name = "DIR", requires = "jobs")]
    pub temp_dir: Option<PathBuf>,

    /// Do not ask for confirmation (required off a terminal)
    #[arg(short, long)]
    pub yes: bool,

    /// Also allow backups whose verification failed
    #[arg(long)]
    pub allow_unverified: bool,

    /// Allow restoring into the very database the backup was taken from
    #[arg(long)]
    pub force_source: bool,

    /// age identity file (AGE-SECRET-KEY-1...) to decrypt an encrypted backup
    /// [env: K12CTL_IDENTITY_FILE, config: backup.identity_file]
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,

    /// Restore one school's rows only: the tenant with this subdomain, with --merge (into a
    /// live database) or --create (extract into a new one)
    #[arg(long, value_name = "SUBDOMAIN", conflicts_with_all = ["key", "clean", "jobs"])]
    pub tenant: Option<String>,

    /// With --tenant: re-insert the tenant's rows that are in the backup and missing now, with
    /// their ids, in one transaction; rows that exist are never touched
    #[arg(long, requires = "tenant", conflicts_with = "create")]
    pub merge: bool,

    /// With --merge: also replace the tenant's rows that differ from the backup (listed in the
    /// confirmation first)
    #[arg(long, requires = "merge")]
    pub overwrite_changed: bool,

    /// With --tenant: show the plan per table (rows to re-insert, differing, new since the
    /// backup) and any conflict; write nothing
    #[arg(long, requires = "tenant")]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProvisionCommand {
    /// Create a school's tenant, school, five roles with permissions, admin, current academic
    /// year and AI task policies; one transaction per school, idempotent
    School(ProvisionSchoolArgs),
    /// Show a tenant's onboarding checklist (OnboardingChecklistService's ten items)
    Status(ProvisionStatusArgs),
}

const PROVISION_AFTER_HELP: &str = "\
Every school is validated before anything is written (email, subdomain as a DNS label that is
not reserved, required fields, time zone, a district that exists, an admin email no other tenant
has); with --file, one invalid entry stops the whole file. Creates what the platform's
TenantProvisioningService creates: tenant and settings, school, five roles and their
permissions, admin, academic year, AI provider config and policies, standard frameworks.
Re-running with the same values reports `already provisioned`; different values for an existing
subdomain are refused, naming each difference. Exit codes: 0 provisioned (or already), 4 rejected
(nothing written), 1 failed.

A --file is YAML: `schools:` and a list of entries with the keys name, subdomain, admin_email,
admin_first_name, admin_last_name, district, create_district, timezone, academic_year_start (see
examples/schools.yaml). AI task policies come from `provision.ai_policies` in the config file.";

#[derive(Debug, Args)]
#[command(after_help = PROVISION_AFTER_HELP)]
pub struct ProvisionSchoolArgs {
    /// Provision every school listed in this YAML file (validated whole first)
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["name", "subdomain", "admin_email", "admin_first_name",
            "admin_last_name", "district", "create_district", "timezone", "academic_year_start"]
    )]
    pub file: Option<PathBuf>,

    /// School name (also the tenant's name)
    #[arg(long, required_unless_present = "file")]
    pub name: Option<String>,

    /// The tenant's subdomain (slug): lowercase letters, digits, hyphens; 3-63 characters
    #[arg(long, required_unless_present = "file")]
    pub subdomain: Option<String>,

    /// The school administrator's email (the admin user's login)
    #[arg(long, value_name = "EMAIL", required_unless_present = "file")]
    pub admin_email: Option<String>,

    #[arg(long, value_name = "NAME", required_unless_present = "file")]
    pub admin_first_name: Option<String>,

    #[arg(long, value_name = "NAME", required_unless_present = "file")]
    pub admin_last_name: Option<String>,

    /// The school's district, by its slug (`districts.slug`); it must exist unless
    /// --create-district names it
    #[arg(long, value_name = "SLUG")]
    pub district: Option<String>,

    /// Create the --district with this name when no district has the slug
    #[arg(long, value_name = "NAME", requires = "district")]
    pub create_district: Option<String>,

    /// IANA time zone of the school [default: America/New_York]
    #[arg(long, value_name = "ZONE")]
    pub timezone: Option<String>,

    /// First day of the current academic year, YYYY-MM-DD [default: the last 1 August]
    #[arg(long, value_name = "DATE")]
    pub academic_year_start: Option<chrono::NaiveDate>,

    /// Print the plan and write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ProvisionStatusArgs {
    /// The tenant's subdomain
    pub subdomain: String,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import users, courses and sections, or enrollments from a CSV file into a tenant
    Csv(ImportCsvArgs),
}

const IMPORT_AFTER_HELP: &str = "\
Columns: the platform's (DataImportService), or k12ctl's with codes where the database's sections
have codes; the header tells which. Names match case-insensitively; a UTF-8 BOM and CRLF are
accepted; [optional].
  users        email[,first_name,last_name,role]   role: admin, curriculum_lead, teacher,
                                                   student or guardian (blank: student)
  courses      name[,description,section_name,academic_year]
               or course_code,course_name,section_code,section_name[,academic_year]
                                                   academic_year: a year's name, e.g. 2026-2027
                                                   (default: the latest-starting year)
  enrollments  email,section_name[,role]  or  email,section_code,role
                                                   role: teacher or student

New sections go under the earliest term of their academic year (a \"Default Term\" is created
when it has none). Every row is checked first (required fields, email syntax, roles, duplicates
in the file, users and sections that must exist, section names that are ambiguous). Any problem:
each is reported with its line and column, nothing is written, exit 4. Otherwise one transaction
writes everything, counter caches included. Re-importing a file changes nothing; changed names
update; a user's new role is added. A database that cannot hold a file (a NOT NULL column
without a default, no section codes for a codes file) is refused before any write, naming it.
Exit 5: another import into the same tenant is running.";

#[derive(Debug, Args)]
#[command(after_help = IMPORT_AFTER_HELP)]
pub struct ImportCsvArgs {
    /// The tenant's subdomain
    #[arg(long, value_name = "SUBDOMAIN")]
    pub tenant: String,

    /// What the file holds
    #[arg(long, value_enum)]
    pub kind: ImportKind,

    /// The CSV file; - reads standard input
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Check every row and report what would be inserted, updated or unchanged; write nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportKind {
    /// email,first_name,last_name,role
    Users,
    /// course_code,course_name,section_code,section_name[,academic_year]
    Courses,
    /// email,section_code,role
    Enrollments,
}

const HEALTH_AFTER_HELP: &str = "\
Exit codes (monitoring-plugin convention): 0 healthy, 1 warning, 2 critical,
3 unknown (bad configuration or usage). Thresholds and time limits: the `health:`
section of the YAML config file (see the README).";

#[derive(Debug, Args)]
#[command(after_help = HEALTH_AFTER_HELP)]
pub struct HealthArgs {
    /// Run only this check (repeatable) [default: all]
    #[arg(long = "check", value_enum, value_name = "NAME")]
    pub checks: Vec<HealthCheck>,

    /// Also write the gauges to PATH in the Prometheus text format, replaced atomically
    /// (for node_exporter's textfile collector: name it *.prom)
    #[arg(long, value_name = "PATH")]
    pub prometheus_file: Option<PathBuf>,

    /// Run again every SECONDS until interrupted: redraw on a terminal, one line per run
    /// otherwise (one JSON document per line with --output json)
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub watch: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HealthCheck {
    /// Connect, SELECT 1 latency, connections in use vs max_connections
    Database,
    /// PING latency and memory use (REDIS_URL)
    Redis,
    /// Queue depth, oldest job's latency, retry and dead sets (REDIS_URL)
    Sidekiq,
    /// The backup bucket/prefix is reachable and readable
    Storage,
    /// GET $AI_GATEWAY_URL/v1/health
    #[value(name = "ai_gateway", alias = "ai-gateway")]
    AiGateway,
    /// Age of the newest backup and newest verified backup, failed runs in 30 days
    Backups,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the resolved settings and where each came from; secrets are redacted
    Show,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell to generate completions for
    #[arg(value_enum, required_unless_present = "dir")]
    pub shell: Option<clap_complete::Shell>,

    /// Write bash, zsh and fish completions into this directory
    #[arg(long, value_name = "DIR", conflicts_with = "shell")]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write k12ctl.1 and one page per subcommand into this directory
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
