//! How a stored backup is compressed: gzip (the default and the platform's
//! contract, `gunzip -c x.dump.gz | pg_restore`) or zstd (`zstd -dc
//! x.dump.zst | pg_restore`). The codec names the object's suffix, is
//! recognised by its magic bytes, and is chosen with `--compression
//! gzip|zstd[:LEVEL]` (pure parsing here; `config.rs` and `cli.rs` use it).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The compression format of a stored object. Manifests written before
/// zstd existed have no other value than `gzip`, hence the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    #[default]
    Gzip,
    Zstd,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// RFC 8878: every zstd frame starts with 0xFD2FB528, little-endian.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

impl Codec {
    pub const ALL: [Codec; 2] = [Codec::Gzip, Codec::Zstd];

    pub fn name(self) -> &'static str {
        match self {
            Self::Gzip => "gzip",
            Self::Zstd => "zstd",
        }
    }

    /// The end of the data object's key: what the stock tool expects.
    pub fn data_suffix(self) -> &'static str {
        match self {
            Self::Gzip => ".dump.gz",
            Self::Zstd => ".dump.zst",
        }
    }

    /// The codec a stream starts like, if any.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&GZIP_MAGIC) {
            Some(Self::Gzip)
        } else if head.starts_with(&ZSTD_MAGIC) {
            Some(Self::Zstd)
        } else {
            None
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// zstd levels offered. 0 means "the library's default" to libzstd, which
/// would hide the level actually used; 20-22 ("ultra") need windows of
/// 32-128 MiB per worker, past the memory a backup is allowed.
pub const ZSTD_LEVELS: std::ops::RangeInclusive<u32> = 1..=19;

/// zstd's level when `--compression zstd` names none: 1, by measurement.
/// On a 254 MB `pg_dump -Fc -Z0` of mixed tables (pgbench accounts, text,
/// jsonb, random tokens; libzstd 1.5, one thread): level 1 took 0.73 s of
/// CPU for 65.0 MB, level 3 (zstd's own default) 1.7-2.1 s for 63.1 MB, and
/// gzip -6 8.0 s for 77.1 MB. Level 3 is 2.4x the CPU for an object 2.5%
/// smaller: ~130 MB/s a core, slower than pg_dump produces (~270 MB/s), so
/// on 2 cores it would take the core pg_dump and the server need. Level 1
/// (~300 MB/s a core) keeps up on one core and is still smaller than gzip.
pub const DEFAULT_ZSTD_LEVEL: u32 = 1;

/// zstd's threads unless `backup.compression_threads` says otherwise: one,
/// compressing on the sealing thread itself (no libzstd worker). Measured on
/// 2 cores, `pg_dump -Fc -Z0` of 146 MB piped through `zstd -1`: single-threaded 2.88 s
/// (median of 3), one worker 2.94 s, two workers 3.10 s; one worker spends
/// a third more CPU (0.97 s against 0.73 s) and 11 MB more memory (35 more at
/// level 3), two workers more again. More threads pay only on more cores or
/// at higher levels, where the operator sets `compression_threads`.
pub const DEFAULT_ZSTD_THREADS: usize = 1;

/// What `--compression` (or `backup.compression`, `K12CTL_COMPRESSION`)
/// asks for. gzip's level stays `--compression-level`, so that existing
/// configurations keep their meaning.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Compression {
    #[default]
    Gzip,
    Zstd {
        level: u32,
    },
}

impl Compression {
    pub fn codec(self) -> Codec {
        match self {
            Self::Gzip => Codec::Gzip,
            Self::Zstd { .. } => Codec::Zstd,
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Gzip => f.write_str("gzip"),
            Self::Zstd { level } => write!(f, "zstd:{level}"),
        }
    }
}

/// Why a `--compression` value was refused; the message says what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompressionError {
    #[error("unknown compression {0:?}: use gzip or zstd[:LEVEL] (zstd levels 1-19)")]
    Unknown(String),
    #[error("zstd level must be 1-19, not {0:?}")]
    ZstdLevel(String),
    #[error(
        "gzip takes its level from --compression-level (K12CTL_COMPRESSION_LEVEL, \
         backup.compression_level), not from {0:?}: write gzip"
    )]
    GzipLevel(String),
}

impl FromStr for Compression {
    type Err = CompressionError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let text = raw.trim();
        let (name, level) = match text.split_once(':') {
            Some((name, level)) => (name, Some(level)),
            None => (text, None),
        };
        match (name.to_ascii_lowercase().as_str(), level) {
            ("gzip", None) => Ok(Self::Gzip),
            ("gzip", Some(_)) => Err(CompressionError::GzipLevel(raw.to_owned())),
            ("zstd", None) => Ok(Self::Zstd {
                level: DEFAULT_ZSTD_LEVEL,
            }),
            ("zstd", Some(level)) => level
                .parse::<u32>()
                .ok()
                .filter(|l| ZSTD_LEVELS.contains(l))
                .map(|level| Self::Zstd { level })
                .ok_or_else(|| CompressionError::ZstdLevel(level.to_owned())),
            _ => Err(CompressionError::Unknown(raw.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compression_values_parse() {
        assert_eq!("gzip".parse(), Ok(Compression::Gzip));
        assert_eq!("zstd:19".parse(), Ok(Compression::Zstd { level: 19 }));
        assert_eq!("zstd:1".parse(), Ok(Compression::Zstd { level: 1 }));
        assert_eq!("zstd".parse(), Ok(Compression::Zstd { level: 1 }));
        assert_eq!("ZSTD:5".parse(), Ok(Compression::Zstd { level: 5 }));
    }

    #[test]
    fn bad_compression_values_are_refused_with_what_to_write() {
        for (raw, err) in [
            ("zstd:0", CompressionError::ZstdLevel("0".into())),
            ("zstd:20", CompressionError::ZstdLevel("20".into())),
            ("zstd:-1", CompressionError::ZstdLevel("-1".into())),
            ("zstd:", CompressionError::ZstdLevel(String::new())),
            ("lz4", CompressionError::Unknown("lz4".into())),
            ("", CompressionError::Unknown(String::new())),
            ("gzip:6", CompressionError::GzipLevel("gzip:6".into())),
        ] {
            assert_eq!(raw.parse::<Compression>(), Err(err), "{raw}");
        }
        let message = "lz4".parse::<Compression>().unwrap_err().to_string();
        assert!(message.contains("gzip or zstd[:LEVEL]"), "{message}");
    }

    #[test]
    fn display_round_trips() {
        for c in [Compression::Gzip, Compression::Zstd { level: 7 }] {
            assert_eq!(c.to_string().parse(), Ok(c));
        }
    }

    #[test]
    fn codecs_are_sniffed_by_their_magic_bytes() {
        assert_eq!(Codec::sniff(&[0x1f, 0x8b, 8]), Some(Codec::Gzip));
        assert_eq!(
            Codec::sniff(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Some(Codec::Zstd)
        );
        assert_eq!(Codec::sniff(b"PGDMP"), None);
        assert_eq!(Codec::sniff(&[0x28, 0xb5]), None);
        assert_eq!(
            serde_json::to_value(Codec::Zstd).unwrap(),
            serde_json::json!("zstd")
        );
    }
}
