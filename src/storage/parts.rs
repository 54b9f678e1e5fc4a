//! Multipart upload parts: how big each one is, and how many bytes of them
//! may be in memory at once.
//!
//! A backup is a stream of unknown length, and S3 allows 10,000 parts of at
//! most 5 GiB. Parts are held in memory until S3 has them (a failed part is
//! sent again), so memory is the part size times the parts resident. The
//! part size therefore grows with the part count rather than with an
//! estimate of the database: small while the stream is small, never beyond
//! what 10,000 parts need to hold a 5 TiB object. [`PartBudget`] caps the
//! bytes of parts resident (being filled, queued and in flight).

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// S3 allows at most 10,000 parts per upload.
#[cfg(test)]
pub const MAX_PARTS: u32 = 10_000;
const MIB: u64 = 1024 * 1024;
/// S3's minimum part size (every part but the last).
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// S3's maximum part size.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;

/// Parts 1 to this number use [`MIN_PART_SIZE`]: 4.9 GiB, so a small
/// database's parts are uploaded several at a time.
const SMALL_PARTS: u32 = 1_000;
/// The part size from then on until [`PLATEAU_END`]; two of them fit in the
/// [`PART_MEMORY`] budget, so one is filled while the other is sent.
pub const PLATEAU_PART_SIZE: u64 = 32 * MIB;
/// The last part of the plateau: 176 GiB are stored by then.
const PLATEAU_END: u32 = 6_500;
/// After the plateau the part size doubles every this many parts, up to
/// [`MAX_PART_SIZE`], so that the 10,000 parts hold more than 5 TiB.
const DOUBLING_EVERY: u32 = 400;

/// Bytes of parts that may be in memory at once (filled, queued and in
/// flight). A part larger than this is alone in memory.
pub const PART_MEMORY: u64 = 64 * MIB;

/// The size of each part of an upload, by its number. Deterministic, and
/// independent of any estimate of the stream's length: a wrong estimate can
/// neither cap the backup nor inflate memory.
#[derive(Debug, Clone, Copy, Default)]
pub struct PartSizer;

impl PartSizer {
    pub fn new() -> Self {
        Self
    }

    /// Size of part `number` (1-based, as S3 counts).
    pub fn size_of(&self, number: u32) -> u64 {
        if number <= SMALL_PARTS {
            return MIN_PART_SIZE;
        }
        if number <= PLATEAU_END {
            return PLATEAU_PART_SIZE;
        }
        let doublings = (number - PLATEAU_END - 1) / DOUBLING_EVERY + 1;
        PLATEAU_PART_SIZE
            .checked_shl(doublings)
            .unwrap_or(MAX_PART_SIZE)
            .min(MAX_PART_SIZE)
    }

    /// Bytes the full 10,000 parts can hold.
    #[cfg(test)]
    pub fn capacity(&self) -> u64 {
        (1..=MAX_PARTS).map(|n| self.size_of(n)).sum()
    }

    /// How many parts a stream of `bytes` takes, and the largest of them.
    #[cfg(test)]
    pub fn parts_for(&self, bytes: u64) -> (u32, u64) {
        let (mut stored, mut number) = (0u64, 0u32);
        let mut largest = 0;
        while stored < bytes.max(1) {
            number += 1;
            let size = self.size_of(number);
            largest = largest.max(size.min(bytes - stored));
            stored += size;
        }
        (number, largest)
    }
}

/// Caps the bytes of upload parts in memory. A part reserves its size
/// before it is filled and gives it back when its upload ends (the
/// reservation travels with the part's bytes).
#[derive(Debug, Clone)]
pub struct PartBudget {
    permits: Arc<Semaphore>,
}

/// One KiB of budget per permit: part sizes are whole MiB, and 5 GiB fits.
const UNIT: u64 = 1024;

impl PartBudget {
    pub fn new() -> Self {
        Self {
            permits: Arc::new(Semaphore::new((PART_MEMORY / UNIT) as usize)),
        }
    }

    /// Wait until `bytes` may be held (all of the budget for a part larger
    /// than it). `None` once the budget is closed: the upload has stopped.
    pub async fn reserve(&self, bytes: u64) -> Option<OwnedSemaphorePermit> {
        let units = bytes.div_ceil(UNIT).clamp(1, PART_MEMORY / UNIT) as u32;
        self.permits.clone().acquire_many_owned(units).await.ok()
    }

    /// Wake every waiter with `None`: nobody will free memory any more.
    pub fn close(&self) {
        self.permits.close();
    }
}

impl Default for PartBudget {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GB: u64 = 1_000_000_000;
    const TB: u64 = 1_000 * GB;
    const GIB: u64 = 1024 * MIB;
    const TIB: u64 = 1024 * GIB;
    /// Everything else a backup holds besides parts, as measured by
    /// `tests/it/s3_faults.rs` (compression blocks, channels, the runtime):
    /// a generous upper bound.
    const OTHER_BUFFERS: u64 = 36 * MIB;

    /// The most bytes of parts a stream whose largest part is `part` keeps
    /// in memory: the budget, or that one part when it is larger.
    fn resident_bytes(part: u64) -> u64 {
        PART_MEMORY.max(part)
    }

    #[test]
    fn a_five_tib_object_fits_in_ten_thousand_parts() {
        let sizer = PartSizer::new();
        assert!(sizer.capacity() >= 5 * TIB, "{}", sizer.capacity());
        for bytes in [GB, TB, 5 * TB, 5 * TIB] {
            let (count, largest) = sizer.parts_for(bytes);
            assert!(count <= MAX_PARTS, "{bytes}: {count} parts");
            assert!(largest <= MAX_PART_SIZE, "{bytes}: {largest}");
        }
    }

    #[test]
    fn every_part_is_within_the_s3_limits_and_sizes_never_shrink() {
        let sizer = PartSizer::new();
        let mut previous = MIN_PART_SIZE;
        for n in 1..=MAX_PARTS {
            let size = sizer.size_of(n);
            assert!((MIN_PART_SIZE..=MAX_PART_SIZE).contains(&size), "part {n}");
            assert!(size >= previous, "part {n} shrinks");
            previous = size;
        }
    }

    #[test]
    fn small_streams_use_the_smallest_parts() {
        let (count, largest) = PartSizer::new().parts_for(GB);
        assert_eq!((count, largest), (191, MIN_PART_SIZE));
        assert_eq!(PartSizer::new().parts_for(1), (1, 1));
    }

    /// Memory within 100 MiB for every stream whose parts stay on the
    /// plateau: up to 176 GiB stored, the gzip of a 1 TB database at the
    /// usual ratios (a dump leaves out indexes, gzip divides text by 3-5).
    #[test]
    fn memory_stays_within_100_mib_up_to_176_gib_stored() {
        let sizer = PartSizer::new();
        let (count, largest) = sizer.parts_for(176 * GIB);
        assert_eq!(largest, PLATEAU_PART_SIZE, "{count} parts");
        assert!(resident_bytes(largest) + OTHER_BUFFERS <= 100 * MIB);
        // Beyond it memory follows the part size, which stays far below the
        // old estimate-based sizing for a terabyte (7 x 128 MiB).
        assert_eq!(sizer.parts_for(TB).1, GIB);
        assert_eq!(sizer.parts_for(5 * TB).1, MAX_PART_SIZE);
    }

    #[test]
    fn the_budget_holds_two_plateau_parts_and_one_larger_part() {
        assert_eq!(resident_bytes(MIN_PART_SIZE), PART_MEMORY);
        const { assert!(2 * PLATEAU_PART_SIZE <= PART_MEMORY) };
        assert_eq!(resident_bytes(GIB), GIB);
    }

    #[tokio::test]
    async fn the_budget_blocks_until_a_part_is_freed_and_wakes_on_close() {
        let budget = PartBudget::new();
        let first = budget.reserve(PLATEAU_PART_SIZE).await.unwrap();
        let _second = budget.reserve(PLATEAU_PART_SIZE).await.unwrap();
        let waiting = tokio::spawn({
            let budget = budget.clone();
            async move { budget.reserve(MIN_PART_SIZE).await.is_some() }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "the budget is full");
        drop(first);
        assert!(waiting.await.unwrap());

        let closed = tokio::spawn({
            let budget = budget.clone();
            async move { budget.reserve(GIB).await.is_none() }
        });
        tokio::task::yield_now().await;
        budget.close();
        assert!(closed.await.unwrap());
    }
}
