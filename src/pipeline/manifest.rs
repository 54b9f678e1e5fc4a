//! The backup manifest: a versioned JSON document stored next to the data
//! object. A backup exists only when its manifest exists. Statuses and fields
//! mirror the platform's `BackupRecord`.
//!
//! Layout (UTC): `backups/YYYY/MM/k12_<type>_<YYYYMMDD_HHMMSS>_<tag>.dump.gz`
//! (or `.dump.zst` for zstd) and `.manifest.json` beside it. Since 0.2 an id
//! ends with a random tag (`k12_full_20261122_020000_3f9a2c1b`) so that runs
//! started in the same second (two databases, one bucket) never share one;
//! older ids, with no tag or a `_2`, `_3`... counter, are still read.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

use super::codec::Codec;
use crate::db::snapshot::{is_quoted_key, table_key_from_legacy};

/// Bumped when a field changes meaning; readers accept older versions.
/// New manifests start at this version; see `format_needed`.
pub const MANIFEST_FORMAT_VERSION: u32 = 1;
/// Format 2: a row-count key quotes a schema or table name that holds a dot
/// or a double quote (`"a.b".c`, `db::snapshot::table_key`). Format 1 wrote
/// `schema.table` whatever the names, so two tables could share a key. A
/// manifest whose names need no quoting reads the same in both and is still
/// written as 1, so that older k12ctl keep reading it.
pub const QUOTED_KEYS_FORMAT_VERSION: u32 = 2;
/// Format 3: the object may be zstd (`compression: zstd`). A k12ctl that
/// reads up to format 2 would take a zstd object for damaged gzip; at format
/// 3 it says "upgrade k12ctl" instead. gzip backups are still written as 1
/// or 2.
pub const ZSTD_FORMAT_VERSION: u32 = 3;
/// The newest format this k12ctl reads.
pub const NEWEST_FORMAT_VERSION: u32 = ZSTD_FORMAT_VERSION;
pub const BACKUPS_DIR: &str = "backups/";
pub const MANIFEST_SUFFIX: &str = ".manifest.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BackupStatus {
    Completed,
    Failed,
    Verified,
    VerificationFailed,
}

impl BackupStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Verified => "verified",
            Self::VerificationFailed => "verification_failed",
        }
    }

    /// A backup that can be restored without `--allow-unverified`.
    pub fn is_good(self) -> bool {
        matches!(self, Self::Completed | Self::Verified)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupManifest {
    pub format_version: u32,
    pub id: String,
    #[serde(rename = "type")]
    pub backup_type: String,
    pub status: BackupStatus,
    pub database: String,
    pub server_version: Option<String>,
    /// PostgreSQL system identifier of the source cluster (restore refuses
    /// to overwrite the source database on the same cluster).
    pub system_identifier: Option<String>,
    pub pg_dump_version: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub duration_seconds: f64,
    /// Key of the data object, relative to the storage prefix.
    pub object_key: String,
    /// Bytes stored (the object's size).
    pub compressed_size: Option<u64>,
    /// Bytes pg_dump wrote.
    pub uncompressed_size: Option<u64>,
    /// SHA-256 of the stored bytes, hex.
    pub sha256: Option<String>,
    /// `gzip` or `zstd` over `pg_dump -Fc -Z0` output (absent: gzip).
    #[serde(default)]
    pub compression: Codec,
    /// The gzip or zstd level.
    pub compression_level: Option<u32>,
    /// Rows per table in the dumped snapshot, keyed `schema.table` with
    /// names quoted where needed (`db::snapshot::table_key`).
    pub table_row_counts: BTreeMap<String, i64>,
    pub database_size: Option<i64>,
    pub tool_version: String,
    /// Why the run failed (`failed` manifests).
    pub error: Option<String>,
    /// The last verification (`verified` / `verification_failed`).
    #[serde(default)]
    pub verification: Option<Verification>,
    /// Client-side encryption of the stored object, when used.
    #[serde(default)]
    pub encryption: Option<Encryption>,
}

/// How the stored object is encrypted: the gzip stream is encrypted with age
/// to these X25519 recipients (public keys only). The SHA-256 and size in the
/// manifest describe the stored, encrypted bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Encryption {
    pub scheme: String,
    pub recipients: Vec<String>,
}

/// The result of `backup verify`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verification {
    pub verified_at: DateTime<Utc>,
    pub passed: bool,
    pub duration_seconds: f64,
    /// `checksum`, `gzip` or `zstd` (the object does not decompress),
    /// `restore` or `row_counts`: the first check that failed.
    pub failed_check: Option<String>,
    pub error: Option<String>,
    /// Per table: expected (manifest) and actual (restored) counts.
    pub tables: BTreeMap<String, TableCheck>,
    /// Extensions of the backup the scratch role could not create, left out
    /// of the restore (every table is still restored and counted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_extensions: Vec<SkippedExtension>,
}

/// An extension left out of a restore, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedExtension {
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCheck {
    pub expected: Option<i64>,
    pub actual: Option<i64>,
}

impl BackupManifest {
    pub fn manifest_key(&self) -> String {
        manifest_key_for(&self.object_key)
    }

    /// The format to write this manifest in: the oldest that can say what
    /// it says.
    pub fn format_needed(&self) -> u32 {
        let verified = self.verification.iter().flat_map(|v| v.tables.keys());
        if self.compression == Codec::Zstd {
            ZSTD_FORMAT_VERSION
        } else if self
            .table_row_counts
            .keys()
            .chain(verified)
            .any(|k| is_quoted_key(k))
        {
            QUOTED_KEYS_FORMAT_VERSION
        } else {
            MANIFEST_FORMAT_VERSION
        }
    }

    /// Read the row-count keys of a manifest older than format 2 as today's
    /// keys (`db::snapshot::table_key_from_legacy`), counts and verification
    /// alike, so that it compares with the counts of a restore.
    pub fn upgrade_row_count_keys(&mut self) {
        if self.format_version >= QUOTED_KEYS_FORMAT_VERSION {
            return;
        }
        let counts = std::mem::take(&mut self.table_row_counts);
        self.table_row_counts = counts
            .into_iter()
            .map(|(k, n)| (table_key_from_legacy(&k), n))
            .collect();
        if let Some(v) = &mut self.verification {
            let tables = std::mem::take(&mut v.tables);
            v.tables = tables
                .into_iter()
                .map(|(k, c)| (table_key_from_legacy(&k), c))
                .collect();
        }
        // Upgraded: a second call changes nothing.
        self.format_version = self.format_needed();
    }

    /// A minimal manifest for unit tests of catalog logic.
    #[cfg(test)]
    pub fn for_test(started: DateTime<Utc>, status: BackupStatus) -> Self {
        let id = backup_id("full", started, 1);
        Self {
            format_version: MANIFEST_FORMAT_VERSION,
            object_key: format!("backups/{id}.dump.gz"),
            id,
            backup_type: "full".into(),
            status,
            database: "k12".into(),
            server_version: None,
            system_identifier: None,
            pg_dump_version: None,
            started_at: started,
            finished_at: started,
            duration_seconds: 1.0,
            compressed_size: Some(1),
            uncompressed_size: Some(1),
            sha256: None,
            compression: Codec::Gzip,
            compression_level: Some(2),
            table_row_counts: BTreeMap::new(),
            database_size: None,
            tool_version: "test".into(),
            error: None,
            verification: None,
            encryption: None,
        }
    }
}

/// The manifest key that belongs to a data key (of either codec).
pub fn manifest_key_for(data_key: &str) -> String {
    let stem = Codec::ALL
        .iter()
        .find_map(|c| data_key.strip_suffix(c.data_suffix()))
        .unwrap_or(data_key);
    format!("{stem}{MANIFEST_SUFFIX}")
}

/// Hex digits of the random tag that ends a new id: two runs of one type
/// started in the same second share an id with probability 2^-32, and the
/// claim (`Catalog::claim`) then moves the second one to another tag.
pub const RUN_TAG_LEN: usize = 8;
/// The longest tag `parse_id_time` accepts.
const MAX_TAG_LEN: usize = 16;

/// `k12_full_20261122_020000_3f9a2c1b`: the id of a new run, unique by
/// its random `tag` (see [`new_run_tag`]), sortable by its start (to the
/// second; the tag orders runs of one second arbitrarily).
pub fn run_id(backup_type: &str, started: DateTime<Utc>, tag: &str) -> String {
    format!(
        "k12_{backup_type}_{}_{tag}",
        started.format("%Y%m%d_%H%M%S")
    )
}

/// A fresh random tag for [`run_id`]: [`RUN_TAG_LEN`] lowercase hex digits.
pub fn new_run_tag() -> String {
    let n: u32 = rand::random();
    format!("{n:0width$x}", width = RUN_TAG_LEN)
}

/// The ids of k12ctl before 0.2: `k12_full_20261122_020000`, with `_N`
/// when `attempt` > 1 (the tests make old catalogs with them).
#[cfg(test)]
pub fn backup_id(backup_type: &str, started: DateTime<Utc>, attempt: u32) -> String {
    let base = format!("k12_{backup_type}_{}", started.format("%Y%m%d_%H%M%S"));
    if attempt > 1 {
        format!("{base}_{attempt}")
    } else {
        base
    }
}

/// Where the objects of a backup id live (the data object as `codec`
/// names it, and the manifest), or None if the id is not ours.
pub fn keys_for_id(id: &str, codec: Codec) -> Option<(String, String)> {
    let started = parse_id_time(id)?;
    let dir = format!("{BACKUPS_DIR}{:04}/{:02}/", started.year(), started.month());
    Some((
        format!("{dir}{id}{}", codec.data_suffix()),
        format!("{dir}{id}{MANIFEST_SUFFIX}"),
    ))
}

/// The start time encoded in an id: `k12_<type>_<YYYYMMDD>_<HHMMSS>[_T]`,
/// where `T` is a run tag (lowercase hex) or, in older ids, a counter.
pub fn parse_id_time(id: &str) -> Option<DateTime<Utc>> {
    let rest = id.strip_prefix("k12_")?;
    let mut parts = rest.split('_');
    let kind = parts.next()?;
    if kind.is_empty() || !kind.chars().all(|c| c.is_ascii_lowercase()) {
        return None;
    }
    let date = parts.next()?;
    let time = parts.next()?;
    if let Some(tag) = parts.next() {
        let hex = |c: char| c.is_ascii_digit() || ('a'..='f').contains(&c);
        if tag.is_empty()
            || tag.len() > MAX_TAG_LEN
            || !tag.chars().all(hex)
            || parts.next().is_some()
        {
            return None;
        }
    }
    if date.len() != 8 || time.len() != 6 {
        return None;
    }
    NaiveDateTime::parse_from_str(&format!("{date}{time}"), "%Y%m%d%H%M%S")
        .ok()
        .map(|t| t.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ids_and_keys_follow_the_layout() {
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
        let id = backup_id("full", t, 1);
        assert_eq!(id, "k12_full_20261122_020000");
        let (data, manifest) = keys_for_id(&id, Codec::Gzip).unwrap();
        assert_eq!(data, "backups/2026/11/k12_full_20261122_020000.dump.gz");
        assert_eq!(
            manifest,
            "backups/2026/11/k12_full_20261122_020000.manifest.json"
        );
        assert_eq!(manifest_key_for(&data), manifest);
        let (zst, same_manifest) = keys_for_id(&id, Codec::Zstd).unwrap();
        assert_eq!(zst, "backups/2026/11/k12_full_20261122_020000.dump.zst");
        assert_eq!(same_manifest, manifest);
        assert_eq!(manifest_key_for(&zst), manifest);
        assert_eq!(backup_id("full", t, 3), "k12_full_20261122_020000_3");
        assert_eq!(parse_id_time("k12_full_20261122_020000_3"), Some(t));
    }

    #[test]
    fn old_manifests_keep_their_keys_and_dotted_names_move_to_format_2() {
        let mut m = BackupManifest::for_test(Utc::now(), BackupStatus::Verified);
        m.table_row_counts = BTreeMap::from([("public.users".into(), 3), ("a.b.c".into(), 2)]);
        m.verification = Some(Verification {
            verified_at: Utc::now(),
            passed: true,
            duration_seconds: 1.0,
            failed_check: None,
            error: None,
            tables: BTreeMap::from([(
                "a.b.c".into(),
                TableCheck {
                    expected: Some(2),
                    actual: Some(2),
                },
            )]),
            skipped_extensions: Vec::new(),
        });
        m.upgrade_row_count_keys();
        let keys: Vec<&str> = m.table_row_counts.keys().map(String::as_str).collect();
        assert_eq!(keys, [r#"a."b.c""#, "public.users"]);
        assert!(m
            .verification
            .as_ref()
            .unwrap()
            .tables
            .contains_key(r#"a."b.c""#));
        assert_eq!(m.format_needed(), QUOTED_KEYS_FORMAT_VERSION);

        let mut plain = BackupManifest::for_test(Utc::now(), BackupStatus::Completed);
        plain.table_row_counts = BTreeMap::from([("public.users".into(), 3)]);
        let before = plain.clone();
        plain.upgrade_row_count_keys();
        assert_eq!(plain, before);
        assert_eq!(plain.format_needed(), 1, "older k12ctl still read it");
    }

    #[test]
    fn zstd_manifests_need_format_3_and_old_manifests_mean_gzip() {
        let mut m = BackupManifest::for_test(Utc::now(), BackupStatus::Completed);
        assert_eq!(m.format_needed(), MANIFEST_FORMAT_VERSION);
        m.compression = Codec::Zstd;
        assert_eq!(m.format_needed(), ZSTD_FORMAT_VERSION);
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["compression"], "zstd");

        let mut old = serde_json::to_value(BackupManifest::for_test(
            Utc::now(),
            BackupStatus::Completed,
        ))
        .unwrap();
        old.as_object_mut().unwrap().remove("compression");
        let read: BackupManifest = serde_json::from_value(old).unwrap();
        assert_eq!(read.compression, Codec::Gzip);
    }

    #[test]
    fn new_ids_carry_a_tag_and_still_parse_and_sort_by_time() {
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
        let (a, b) = (
            run_id("full", t, &new_run_tag()),
            run_id("full", t, &new_run_tag()),
        );
        assert!(a.starts_with("k12_full_20261122_020000_"), "{a}");
        assert_eq!(a.len(), "k12_full_20261122_020000_".len() + RUN_TAG_LEN);
        assert_ne!(a, b, "two runs in one second get two ids");
        for id in [&a, &b] {
            assert_eq!(parse_id_time(id), Some(t));
            let (data, manifest) = keys_for_id(id, Codec::Gzip).unwrap();
            assert_eq!(data, format!("backups/2026/11/{id}.dump.gz"));
            assert_eq!(manifest_key_for(&data), manifest);
        }
        // Old ids still parse: no suffix, and the counter of 0.1.
        assert_eq!(parse_id_time("k12_full_20261122_020000"), Some(t));
        assert_eq!(parse_id_time("k12_full_20261122_020000_12"), Some(t));
        // Sortable by time: a later second sorts after, whatever the tags.
        let later = run_id("full", t + chrono::Duration::seconds(1), "00000000");
        assert!(later > run_id("full", t, "ffffffff"));
    }

    #[test]
    fn foreign_ids_are_rejected() {
        for bad in [
            "latest",
            "k12_full_2026112_020000",
            "k12_full_20261122_020000_x",
            "k12_full_20261122_020000_3F9A2C1B",
            "k12_full_20261122_020000_0123456789abcdef0",
            "k12_full_20261122_020000_3f9a2c1b_2",
            "../../etc/passwd",
            "k12_FULL_20261122_020000",
            "k12_full_20261322_020000",
        ] {
            assert!(keys_for_id(bad, Codec::Zstd).is_none(), "{bad}");
        }
    }

    #[test]
    fn manifest_json_is_stable() {
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 2, 0, 0).unwrap();
        let m = BackupManifest {
            format_version: MANIFEST_FORMAT_VERSION,
            id: backup_id("full", t, 1),
            backup_type: "full".into(),
            status: BackupStatus::Completed,
            database: "k12".into(),
            server_version: Some("15.18".into()),
            system_identifier: None,
            pg_dump_version: Some("15.18".into()),
            started_at: t,
            finished_at: t,
            duration_seconds: 1.5,
            object_key: "backups/2026/11/k12_full_20261122_020000.dump.gz".into(),
            compressed_size: Some(10),
            uncompressed_size: Some(20),
            sha256: Some("ab".into()),
            compression: Codec::Gzip,
            compression_level: Some(3),
            table_row_counts: BTreeMap::from([("public.users".into(), 3)]),
            database_size: Some(100),
            tool_version: "0.1.0".into(),
            error: None,
            verification: None,
            encryption: None,
        };
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["type"], "full");
        assert_eq!(json["status"], "completed");
        let back: BackupManifest = serde_json::from_value(json).unwrap();
        assert_eq!(back, m);
    }
}
