//! Reading a stored backup: every byte is counted and hashed as it streams
//! from storage, and (when it is gzip or zstd) decompressed on a blocking
//! thread into chunks for pg_restore or psql. No temporary file.
//!
//! The reader always reads the object to its end, even when the compressed
//! stream breaks, so that a damaged object is reported as a checksum failure
//! rather than as a mysterious restore error. A stream that ends inside a
//! gzip member or a zstd frame is an error, so truncation is caught even
//! without a manifest.

use std::io::{BufRead, BufReader, Read};
use std::sync::Arc;

use anyhow::{Context, Result};
use bytes::Bytes;
use flate2::bufread::MultiGzDecoder;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::io::SyncIoBridge;

use super::codec::Codec;
use super::encryption;
use super::ProgressSink;
use crate::exit;
use crate::storage::ObjectReader;
use age::x25519::Identity;

const CHUNK: usize = 256 * 1024;

/// What reading the object found.
#[derive(Debug, Clone)]
pub struct ReadOutcome {
    /// Bytes read from storage.
    pub size: u64,
    /// SHA-256 of those bytes, hex.
    pub sha256: String,
    /// Why the compressed stream could not be decoded, if it could not.
    pub decode_error: Option<String>,
}

/// How to treat the object's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decode {
    /// Hash only; nothing is sent (`verify --quick`).
    None,
    /// Must be this codec (the manifest says so); anything else is a
    /// decode error.
    Expect(Codec),
    /// gzip or zstd when it starts like one, else pass through (objects
    /// without a manifest: `restore --key`, old backups).
    Sniff,
}

/// Start reading on a blocking thread. Decoded chunks arrive on the
/// receiver; the handle yields the outcome once the object is fully read.
/// Dropping the receiver stops the read (cancellation).
/// `identities` decrypt an age-encrypted object (None: not encrypted).
pub fn spawn_reader(
    reader: ObjectReader,
    decode: Decode,
    identities: Option<Arc<Vec<Identity>>>,
    progress: Arc<dyn ProgressSink>,
) -> (mpsc::Receiver<Bytes>, JoinHandle<Result<ReadOutcome>>) {
    let (tx, rx) = mpsc::channel(8);
    let bridge = SyncIoBridge::new(reader);
    let handle = tokio::task::spawn_blocking(move || {
        read_blocking(
            bridge,
            decode,
            identities.as_deref().map(Vec::as_slice),
            tx,
            progress,
        )
    });
    (rx, handle)
}

/// Counts and hashes everything read through it, and remembers whether the
/// storage itself failed (as opposed to the data being bad).
struct HashingRead<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
    failed: bool,
    progress: Arc<dyn ProgressSink>,
}

impl<R: Read> Read for HashingRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.count += n as u64;
                self.progress.read(n as u64);
                Ok(n)
            }
            Err(e) => {
                self.failed = true;
                Err(e)
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the reader was cancelled")]
pub struct Cancelled;

fn read_blocking<R: Read>(
    inner: R,
    decode: Decode,
    identities: Option<&[Identity]>,
    tx: mpsc::Sender<Bytes>,
    progress: Arc<dyn ProgressSink>,
) -> Result<ReadOutcome> {
    let mut hashing = HashingRead {
        inner,
        hasher: Sha256::new(),
        count: 0,
        failed: false,
        progress,
    };
    let mut decode_error = None;
    if decode != Decode::None {
        let buffered = BufReader::with_capacity(CHUNK, &mut hashing);
        let result = match identities {
            None => decode_into(buffered, decode, &tx),
            Some(ids) => match encryption::decrypt(ids, buffered) {
                Ok(plain) => decode_into(BufReader::with_capacity(CHUNK, plain), decode, &tx),
                // No matching key: the operator's problem, not the data's.
                Err(e) if exit::code_for(&e) == exit::ExitCode::Usage => return Err(e),
                Err(e) => Err(e),
            },
        };
        match result {
            Ok(_) => {}
            Err(e) if e.is::<Cancelled>() => return Err(e),
            Err(e) if hashing.failed => return Err(e.context("reading the stored object failed")),
            Err(e) => decode_error = Some(format!("{e:#}")),
        }
    }
    // Read to the end for the size and checksum, whatever happened above.
    std::io::copy(&mut hashing, &mut std::io::sink())
        .context("reading the stored object failed")?;
    Ok(ReadOutcome {
        size: hashing.count,
        sha256: hex::encode(hashing.hasher.finalize()),
        decode_error,
    })
}

/// Decompress (or pass through) into chunks; returns the codec it was.
fn decode_into<R: BufRead>(
    mut reader: R,
    decode: Decode,
    tx: &mpsc::Sender<Bytes>,
) -> Result<Option<Codec>> {
    let head = reader.fill_buf().context("the backup is not readable")?;
    let codec = match decode {
        // Decoding anything else as the expected codec fails, as it should.
        Decode::Expect(codec) if !head.is_empty() => Some(codec),
        _ => Codec::sniff(head),
    };
    match codec {
        Some(Codec::Gzip) => forward(MultiGzDecoder::new(reader), tx, "gzip")?,
        Some(Codec::Zstd) => {
            // Concatenated frames are read like `zstd -dc` reads them; a
            // stream that ends inside a frame is an "incomplete frame".
            let decoder =
                zstd::stream::read::Decoder::with_buffer(reader).context("cannot start zstd")?;
            forward(decoder, tx, "zstd")?
        }
        None => forward(reader, tx, "a backup")?,
    }
    Ok(codec)
}

/// Send `reader`'s bytes as chunks until it ends.
fn forward<R: Read>(mut reader: R, tx: &mpsc::Sender<Bytes>, what: &str) -> Result<()> {
    loop {
        let mut buf = vec![0u8; CHUNK];
        let mut filled = 0;
        while filled < buf.len() {
            let n = reader
                .read(&mut buf[filled..])
                .with_context(|| format!("the backup is not valid {what}"))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if filled == 0 {
            return Ok(());
        }
        buf.truncate(filled);
        if tx.blocking_send(Bytes::from(buf)).is_err() {
            return Err(Cancelled.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::NoProgress;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), flate2::Compression::new(2));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_all(bytes: Vec<u8>, decode: Decode) -> (Vec<u8>, ReadOutcome) {
        let (tx, mut rx) = mpsc::channel(1000);
        let outcome = read_blocking(&bytes[..], decode, None, tx, Arc::new(NoProgress)).unwrap();
        let mut out = Vec::new();
        while let Ok(chunk) = rx.try_recv() {
            out.extend_from_slice(&chunk);
        }
        (out, outcome)
    }

    #[test]
    fn gzip_is_decoded_and_the_stored_bytes_hashed() {
        let data = b"PGDMP and then some archive bytes".repeat(10_000);
        let stored = gzip(&data);
        let (out, outcome) = read_all(stored.clone(), Decode::Expect(Codec::Gzip));
        assert_eq!(out, data);
        assert_eq!(outcome.size, stored.len() as u64);
        assert_eq!(outcome.sha256, hex::encode(Sha256::digest(&stored)));
        assert!(outcome.decode_error.is_none());
    }

    #[test]
    fn concatenated_members_decode_like_gunzip() {
        let mut stored = gzip(b"first ");
        stored.extend(gzip(b"second"));
        assert_eq!(
            read_all(stored, Decode::Expect(Codec::Gzip)).0,
            b"first second"
        );
    }

    #[test]
    fn damage_is_a_decode_error_and_the_object_is_still_read_whole() {
        let data = b"lesson plans and rosters ".repeat(50_000);
        let mut stored = gzip(&data);
        let mid = stored.len() / 2;
        stored[mid] ^= 0x40;
        let (_, outcome) = read_all(stored.clone(), Decode::Expect(Codec::Gzip));
        assert!(outcome.decode_error.is_some());
        assert_eq!(outcome.size, stored.len() as u64);

        let truncated = stored[..mid].to_vec();
        let (_, outcome) = read_all(truncated, Decode::Expect(Codec::Gzip));
        assert!(outcome.decode_error.is_some());
        assert_eq!(outcome.size, mid as u64);
    }

    #[test]
    fn sniff_passes_plain_bytes_through() {
        let (out, outcome) = read_all(b"PGDMP raw".to_vec(), Decode::Sniff);
        assert_eq!(out, b"PGDMP raw");
        assert!(outcome.decode_error.is_none());
        let (out, _) = read_all(b"not gzip".to_vec(), Decode::Expect(Codec::Gzip));
        assert!(out.is_empty());
    }

    #[test]
    fn encrypted_objects_decrypt_and_a_wrong_key_is_an_error() {
        let id = Identity::generate();
        let mut w = encryption::encrypt(&[id.to_public()], Vec::new()).unwrap();
        w.write_all(&gzip(b"PGDMP secret rows")).unwrap();
        let stored = w.finish().unwrap();
        let (tx, mut rx) = mpsc::channel(100);
        let ids = [id];
        let outcome = read_blocking(
            &stored[..],
            Decode::Expect(Codec::Gzip),
            Some(&ids),
            tx,
            Arc::new(NoProgress),
        )
        .unwrap();
        assert!(outcome.decode_error.is_none());
        assert_eq!(&rx.try_recv().unwrap()[..], b"PGDMP secret rows");
        let (tx, _rx) = mpsc::channel(100);
        let other = [Identity::generate()];
        let err = read_blocking(
            &stored[..],
            Decode::Expect(Codec::Gzip),
            Some(&other),
            tx,
            Arc::new(NoProgress),
        )
        .err()
        .unwrap();
        assert_eq!(exit::code_for(&err), exit::ExitCode::Usage);
    }

    fn zstd(data: &[u8]) -> Vec<u8> {
        let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        e.include_checksum(true).unwrap();
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn zstd_is_decoded_expected_or_sniffed() {
        let data = b"PGDMP and then some archive bytes".repeat(10_000);
        let stored = zstd(&data);
        for decode in [Decode::Expect(Codec::Zstd), Decode::Sniff] {
            let (out, outcome) = read_all(stored.clone(), decode);
            assert_eq!(out, data);
            assert!(outcome.decode_error.is_none());
            assert_eq!(outcome.sha256, hex::encode(Sha256::digest(&stored)));
        }
        let mut two = zstd(b"first ");
        two.extend(zstd(b"second"));
        assert_eq!(
            read_all(two, Decode::Expect(Codec::Zstd)).0,
            b"first second"
        );
    }

    #[test]
    fn a_truncated_or_damaged_zstd_object_is_a_decode_error_read_whole() {
        // Incompressible enough to span several zstd blocks.
        let data: Vec<u8> = (0..400_000u32)
            .flat_map(|i| (i.wrapping_mul(2_654_435_761) >> 7).to_le_bytes())
            .collect();
        let stored = zstd(&data);
        for cut in [stored.len() - 1, stored.len() - 4, stored.len() / 2, 5] {
            let (_, outcome) = read_all(stored[..cut].to_vec(), Decode::Expect(Codec::Zstd));
            assert!(outcome.decode_error.is_some(), "cut at {cut}");
            assert_eq!(outcome.size, cut as u64);
            // Without a manifest too: the frame is incomplete.
            let (_, outcome) = read_all(stored[..cut].to_vec(), Decode::Sniff);
            assert!(outcome.decode_error.is_some(), "sniffed, cut at {cut}");
        }
        let mut flipped = stored.clone();
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0x40;
        let (_, outcome) = read_all(flipped, Decode::Expect(Codec::Zstd));
        assert!(outcome.decode_error.is_some());
        assert_eq!(outcome.size, stored.len() as u64);
    }

    #[test]
    fn the_manifests_codec_wins_over_the_bytes() {
        let (out, outcome) = read_all(gzip(b"PGDMP"), Decode::Expect(Codec::Zstd));
        assert!(out.is_empty());
        assert!(outcome.decode_error.is_some());
        let (_, outcome) = read_all(zstd(b"PGDMP"), Decode::Expect(Codec::Gzip));
        assert!(outcome.decode_error.is_some());
    }

    #[test]
    fn encrypted_zstd_decrypts_then_decompresses() {
        let id = Identity::generate();
        let mut w = encryption::encrypt(&[id.to_public()], Vec::new()).unwrap();
        w.write_all(&zstd(b"PGDMP secret rows")).unwrap();
        let stored = w.finish().unwrap();
        let (tx, mut rx) = mpsc::channel(100);
        let ids = [id];
        let outcome = read_blocking(
            &stored[..],
            Decode::Expect(Codec::Zstd),
            Some(&ids),
            tx,
            Arc::new(NoProgress),
        )
        .unwrap();
        assert!(outcome.decode_error.is_none());
        assert_eq!(&rx.try_recv().unwrap()[..], b"PGDMP secret rows");
    }

    #[test]
    fn hash_only_sends_nothing() {
        let (out, outcome) = read_all(gzip(b"x"), Decode::None);
        assert!(out.is_empty());
        assert_eq!(outcome.size, gzip(b"x").len() as u64);
    }
}
