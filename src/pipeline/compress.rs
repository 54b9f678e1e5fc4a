//! The sealing stage of a backup, on blocking threads: gzip (blocks
//! compressed in parallel, one gzip member) or zstd (one frame, on this
//! thread or libzstd's workers), optionally age encryption, then SHA-256
//! over the stored bytes and cutting into upload parts.

use std::io::Write;

use anyhow::{Context, Result};
use bytes::Bytes;
use gzp::deflate::Gzip;
use gzp::par::compress::{ParCompress, ParCompressBuilder};
use gzp::ZWriter;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, OwnedSemaphorePermit};

use super::codec::Compression;
use super::encryption;
use crate::storage::{PartBudget, PartSizer};

const BLOCK_SIZE: usize = 1024 * 1024;

/// How to seal the stream.
#[derive(Clone)]
pub struct Sealing {
    pub compression: Compression,
    /// gzip's level (the level of zstd is in `compression`).
    pub gzip_level: u32,
    /// Threads that compress: gzip's block compressors; for zstd, 1 is the
    /// sealing thread itself and more are libzstd's workers.
    pub threads: usize,
    /// Empty: not encrypted.
    pub recipients: Vec<age::x25519::Recipient>,
}

/// Where gzip writes: straight to the parts, or through age first.
enum Sealed {
    Plain(PartSink),
    Encrypted(age::stream::StreamWriter<PartSink>),
}

impl Write for Sealed {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Plain(w) => w.write(data),
            Self::Encrypted(w) => w.write(data),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Self::Plain(w) => w.flush(),
            Self::Encrypted(w) => w.flush(),
        }
    }
}

/// Compress (gzip or zstd) on blocking threads; the output is hashed and
/// cut into parts in order. Each part reserves its size in `budget` before
/// it is filled; the reservation is released when the part's bytes are
/// dropped (its upload ended). Returns the bytes stored and their SHA-256.
pub fn compress(
    rx: mpsc::Receiver<Bytes>,
    parts: mpsc::Sender<Bytes>,
    budget: PartBudget,
    settings: Sealing,
) -> Result<(u64, String)> {
    let sink = PartSink::new(parts, budget, tokio::runtime::Handle::current());
    let sealed = if settings.recipients.is_empty() {
        Sealed::Plain(sink)
    } else {
        Sealed::Encrypted(encryption::encrypt(&settings.recipients, sink)?)
    };
    let sealed = match settings.compression {
        Compression::Gzip => gzip(rx, sealed, &settings)?,
        Compression::Zstd { level } => zstd(rx, sealed, level, settings.threads)?,
    };
    let mut sink = match sealed {
        Sealed::Plain(sink) => sink,
        Sealed::Encrypted(w) => w.finish().context("encryption stopped")?,
    };
    sink.send_part().context("compression stopped")?;
    Ok((sink.total, hex::encode(sink.hasher.finalize())))
}

/// One gzip member, blocks compressed in parallel.
fn gzip(mut rx: mpsc::Receiver<Bytes>, sealed: Sealed, settings: &Sealing) -> Result<Sealed> {
    let mut gz: ParCompress<Gzip, Sealed> = ParCompressBuilder::new()
        .num_threads(settings.threads.max(1))
        .map_err(|e| anyhow::anyhow!("cannot start the compression threads: {e}"))?
        // Each block is compressed without the previous one's history: 1 MiB
        // blocks lose little ratio to a single-threaded stream.
        .buffer_size(BLOCK_SIZE)
        .map_err(|e| anyhow::anyhow!("cannot set the compression block size: {e}"))?
        .compression_level(gzp::Compression::new(settings.gzip_level))
        .from_writer(sealed);
    while let Some(chunk) = rx.blocking_recv() {
        gz.write_all(&chunk).context("compression stopped")?;
    }
    gz.finish()
        .map_err(|e| anyhow::anyhow!("compression stopped: {e}"))
}

/// One zstd frame with a content checksum (as the `zstd` program writes
/// it), so that `zstd -dc` and our reader both detect damage inside the
/// frame, not only truncation.
fn zstd(
    mut rx: mpsc::Receiver<Bytes>,
    sealed: Sealed,
    level: u32,
    threads: usize,
) -> Result<Sealed> {
    let level = i32::try_from(level).context("zstd level out of range")?;
    let mut z = zstd::stream::write::Encoder::new(sealed, level).context("cannot start zstd")?;
    z.include_checksum(true)
        .context("cannot set zstd's content checksum")?;
    if threads > 1 {
        let workers = u32::try_from(threads).context("too many zstd threads")?;
        z.multithread(workers)
            .context("cannot start zstd's worker threads")?;
    }
    while let Some(chunk) = rx.blocking_recv() {
        z.write_all(&chunk).context("compression stopped")?;
    }
    z.finish().context("compression stopped")
}

/// A part's bytes and its share of the memory budget, released together.
struct BudgetedPart {
    data: Vec<u8>,
    _reserved: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for BudgetedPart {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

/// Cuts the stored bytes into parts of exactly the sizer's sizes (the last
/// one shorter), so a part's buffer never grows past its reservation.
struct PartSink {
    /// The part being filled, with its reservation.
    filling: Option<BudgetedPart>,
    hasher: Sha256,
    sizer: PartSizer,
    budget: PartBudget,
    runtime: tokio::runtime::Handle,
    next_part: u32,
    parts: mpsc::Sender<Bytes>,
    total: u64,
}

fn upload_stopped() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the upload stopped")
}

impl PartSink {
    fn new(
        parts: mpsc::Sender<Bytes>,
        budget: PartBudget,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        Self {
            filling: None,
            hasher: Sha256::new(),
            sizer: PartSizer::new(),
            budget,
            runtime,
            next_part: 1,
            parts,
            total: 0,
        }
    }

    /// The part being filled, reserving the next one (and waiting for the
    /// budget) when none is.
    fn filling(&mut self) -> std::io::Result<&mut BudgetedPart> {
        if self.filling.is_none() {
            let size = self.sizer.size_of(self.next_part);
            let reserved = self
                .runtime
                .block_on(self.budget.reserve(size))
                .ok_or_else(upload_stopped)?;
            self.filling = Some(BudgetedPart {
                data: Vec::with_capacity(size as usize),
                _reserved: reserved,
            });
        }
        self.filling.as_mut().ok_or_else(upload_stopped)
    }

    fn send_part(&mut self) -> std::io::Result<()> {
        let Some(part) = self.filling.take() else {
            return Ok(());
        };
        if part.data.is_empty() {
            return Ok(());
        }
        self.hasher.update(&part.data);
        self.total += part.data.len() as u64;
        self.next_part += 1;
        self.parts
            .blocking_send(Bytes::from_owner(part))
            .map_err(|_| upload_stopped())
    }
}

impl Write for PartSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        let size = self.sizer.size_of(self.next_part) as usize;
        let part = self.filling()?;
        let take = data.len().min(size - part.data.len());
        part.data.extend_from_slice(&data[..take]);
        if part.data.len() >= size {
            self.send_part()?;
        }
        Ok(take)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// Run the sealing stage over `data`; returns the stored bytes and what
    /// `compress` reported.
    fn seal(data: &[u8], settings: Sealing) -> (Vec<u8>, u64, String) {
        let (raw_tx, raw_rx) = mpsc::channel(1000);
        let (part_tx, mut part_rx) = mpsc::channel(1000);
        for chunk in data.chunks(100_000) {
            raw_tx.try_send(Bytes::copy_from_slice(chunk)).unwrap();
        }
        drop(raw_tx);
        // As in a backup: on a blocking thread of a runtime, under the budget.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (size, sha) = runtime
            .block_on(async move {
                tokio::task::spawn_blocking(move || {
                    compress(raw_rx, part_tx, PartBudget::new(), settings)
                })
                .await
            })
            .unwrap()
            .unwrap();
        let mut stored = Vec::new();
        while let Ok(part) = part_rx.try_recv() {
            stored.extend_from_slice(&part);
        }
        (stored, size, sha)
    }

    fn zstd_settings(threads: usize, recipients: Vec<age::x25519::Recipient>) -> Sealing {
        Sealing {
            compression: Compression::Zstd { level: 3 },
            gzip_level: 2,
            threads,
            recipients,
        }
    }

    #[test]
    fn zstd_makes_one_checksummed_frame_that_decodes_to_the_dump() {
        let data = b"PGDMP rosters, grades and lesson plans ".repeat(60_000);
        for threads in [1, 2] {
            let (stored, size, sha) = seal(&data, zstd_settings(threads, Vec::new()));
            assert_eq!(size, stored.len() as u64);
            assert_eq!(sha, hex::encode(Sha256::digest(&stored)));
            assert!(stored.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]));
            // Frame header descriptor: bit 2 is the content checksum flag.
            assert_ne!(stored[4] & 0b100, 0, "content checksum");
            assert!(stored.len() < data.len() / 10);
            assert_eq!(zstd::decode_all(&stored[..]).unwrap(), data);
        }
    }

    #[test]
    fn encrypted_zstd_is_age_around_zstd() {
        let id = age::x25519::Identity::generate();
        let data = b"PGDMP secret rows ".repeat(10_000);
        let (stored, _, _) = seal(&data, zstd_settings(1, vec![id.to_public()]));
        assert!(stored.starts_with(b"age-encryption.org/v1"));
        let mut plain = Vec::new();
        encryption::decrypt(&[id], &stored[..])
            .unwrap()
            .read_to_end(&mut plain)
            .unwrap();
        assert_eq!(zstd::decode_all(&plain[..]).unwrap(), data);
    }

    #[test]
    fn parts_are_cut_at_exactly_the_part_size_and_hashed_whole() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (tx, mut rx) = mpsc::channel(100);
        let part = PartSizer::new().size_of(1) as usize;
        let mut sink = PartSink::new(tx, PartBudget::new(), runtime.handle().clone());
        let data: Vec<u8> = (0..part * 2 + 10).map(|i| (i % 251) as u8).collect();
        sink.write_all(&data[..part - 1]).unwrap();
        assert!(rx.try_recv().is_err());
        // One write across the boundary: the part ends exactly at its size.
        sink.write_all(&data[part - 1..part + 5]).unwrap();
        let first = rx.try_recv().unwrap();
        assert_eq!(first.len(), part);
        sink.write_all(&data[part + 5..]).unwrap();
        sink.send_part().unwrap();
        assert_eq!(rx.try_recv().unwrap().len(), part);
        assert_eq!(rx.try_recv().unwrap().len(), 10);
        sink.send_part().unwrap();
        assert!(
            rx.try_recv().is_err(),
            "an empty tail must not become a part"
        );
        assert_eq!(sink.total, data.len() as u64);
        assert_eq!(
            hex::encode(sink.hasher.finalize()),
            hex::encode(Sha256::digest(&data))
        );
    }

    #[test]
    fn a_part_waits_for_the_budget_and_stops_when_it_closes() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let budget = PartBudget::new();
        let held = runtime.block_on(budget.reserve(u64::MAX)).unwrap();
        let (tx, _rx) = mpsc::channel(100);
        let mut sink = PartSink::new(tx, budget.clone(), runtime.handle().clone());
        let closer = std::thread::spawn(move || budget.close());
        let err = sink.write(b"x").unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::BrokenPipe);
        closer.join().unwrap();
        drop(held);
    }
}
