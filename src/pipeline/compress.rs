//! The sealing stage of a backup, on blocking threads: gzip (blocks
//! compressed in parallel, one gzip member), optionally age encryption, then
//! SHA-256 over the stored bytes and cutting into upload parts.

use std::io::Write;

use anyhow::{Context, Result};
use bytes::Bytes;
use gzp::deflate::Gzip;
use gzp::par::compress::{ParCompress, ParCompressBuilder};
use gzp::ZWriter;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::encryption;
use crate::storage::PartSizer;

const BLOCK_SIZE: usize = 1024 * 1024;

/// How to seal the stream.
#[derive(Clone)]
pub struct Sealing {
    pub level: u32,
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

/// gzip on blocking threads (one gzip member, blocks compressed in
/// parallel); the output is hashed and cut into parts in order.
pub fn compress(
    mut rx: mpsc::Receiver<Bytes>,
    parts: mpsc::Sender<Bytes>,
    sizer: PartSizer,
    settings: Sealing,
) -> Result<(u64, String)> {
    let sink = PartSink {
        buf: Vec::with_capacity(sizer.size_of(1) as usize),
        hasher: Sha256::new(),
        sizer,
        next_part: 1,
        parts,
        total: 0,
    };
    let sealed = if settings.recipients.is_empty() {
        Sealed::Plain(sink)
    } else {
        Sealed::Encrypted(encryption::encrypt(&settings.recipients, sink)?)
    };
    let mut gz: ParCompress<Gzip, Sealed> = ParCompressBuilder::new()
        .num_threads(settings.threads.max(1))
        .map_err(|e| anyhow::anyhow!("cannot start the compression threads: {e}"))?
        // Each block is compressed without the previous one's history: 1 MiB
        // blocks lose little ratio to a single-threaded stream.
        .buffer_size(BLOCK_SIZE)
        .map_err(|e| anyhow::anyhow!("cannot set the compression block size: {e}"))?
        .compression_level(gzp::Compression::new(settings.level))
        .from_writer(sealed);
    while let Some(chunk) = rx.blocking_recv() {
        gz.write_all(&chunk).context("compression stopped")?;
    }
    let sealed = gz
        .finish()
        .map_err(|e| anyhow::anyhow!("compression stopped: {e}"))?;
    let mut sink = match sealed {
        Sealed::Plain(sink) => sink,
        Sealed::Encrypted(w) => w.finish().context("encryption stopped")?,
    };
    sink.send_part().context("compression stopped")?;
    Ok((sink.total, hex::encode(sink.hasher.finalize())))
}

struct PartSink {
    buf: Vec<u8>,
    hasher: Sha256,
    sizer: PartSizer,
    next_part: u32,
    parts: mpsc::Sender<Bytes>,
    total: u64,
}

impl PartSink {
    fn send_part(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let next_size = self.sizer.size_of(self.next_part + 1) as usize;
        let part = std::mem::replace(&mut self.buf, Vec::with_capacity(next_size));
        self.hasher.update(&part);
        self.total += part.len() as u64;
        self.next_part += 1;
        self.parts
            .blocking_send(Bytes::from(part))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the upload stopped"))
    }
}

impl Write for PartSink {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() as u64 >= self.sizer.size_of(self.next_part) {
            self.send_part()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_cut_at_the_part_size_and_hashed_whole() {
        let (tx, mut rx) = mpsc::channel(100);
        let sizer = PartSizer::for_estimate(0);
        let part = sizer.size_of(1) as usize;
        let mut sink = PartSink {
            buf: Vec::new(),
            hasher: Sha256::new(),
            sizer,
            next_part: 1,
            parts: tx,
            total: 0,
        };
        let data = vec![7u8; part + 10];
        sink.write_all(&data[..part - 1]).unwrap();
        assert!(rx.try_recv().is_err());
        sink.write_all(&data[part - 1..]).unwrap();
        sink.send_part().unwrap();
        let first = rx.try_recv().unwrap();
        assert_eq!(first.len(), part + 10);
        assert!(
            rx.try_recv().is_err(),
            "an empty tail must not become a part"
        );
        assert_eq!(sink.total, (part + 10) as u64);
        assert_eq!(
            hex::encode(sink.hasher.finalize()),
            hex::encode(Sha256::digest(&data))
        );
    }
}
