//! The pipelines below the commands: backup (dump -> gzip or zstd -> hash -> upload),
//! the catalog of manifests, and the PostgreSQL client tools they drive.
//! Progress is reported through `ProgressSink`, so nothing here draws.

pub mod backup;
pub mod catalog;
pub mod codec;
pub mod compress;
pub mod encryption;
pub mod manifest;
pub mod mirror;
pub mod pg_errors;
pub mod pg_tools;
pub mod prune;
pub mod restore;
pub mod retention;
pub mod running;
pub mod stored;
pub mod tenant;
pub mod toc;
pub mod verify;

/// Receives byte counts as a pipeline moves data. Implemented by the output
/// layer (bars on a terminal, periodic log lines otherwise).
pub trait ProgressSink: Send + Sync {
    /// Bytes read from the source (pg_dump's output, a stored object).
    fn read(&self, bytes: u64);
    /// Bytes written to the destination (uploaded, restored).
    fn written(&self, bytes: u64);
    /// A new phase, e.g. "dumping", "restoring", "counting rows".
    fn phase(&self, name: &str);
    fn finish(&self);
}

/// A sink that ignores everything.
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn read(&self, _: u64) {}
    fn written(&self, _: u64) {}
    fn phase(&self, _: &str) {}
    fn finish(&self) {}
}
