//! Exact search over banks of hashes: PDQ hashes within a Hamming radius, and cryptographic
//! digests by equality, at hundreds of millions of entries.
//!
//! A platform matches every upload against the banks it holds (NCMEC's, a hotline's, its own);
//! an investigator matches every file of a seized disk. A match missed is known abuse material
//! that goes on circulating, so every search here is *exact*: all entries within the radius are
//! reported, none is dropped for speed, and property tests hold each fast path to a brute-force
//! twin.
//!
//! - [`PdqIndex`]: 256-bit hashes with ids. Range search (every entry within radius `r`; PDQ
//!   matches at 31) and k-nearest, one query or a batch on every core, a query with its eight
//!   dihedral variants. Adds and removes take effect at once, without a rebuild; compaction
//!   runs from a shared reference, beside queries. 40 bytes an entry with its id.
//! - [`DigestSet`]: MD5, SHA-1, SHA-256 as exact-match sets.
//! - [`SignalIndex`]: the four together, saved to and mapped from a checksummed snapshot file.
//! - [`SharedIndex`]: a `SignalIndex` queried by many threads while others change it, compacted
//!   in the background without losing a change.
//!
//! Architecture invariant: no I/O except the explicit snapshot API ([`SignalIndex::save`],
//! [`SignalIndex::load`]); nothing here knows of banks' formats, databases or HTTP. This is the
//! one crate allowed `unsafe` (SIMD kernels, the file map), each block with its SAFETY note.

mod digest_set;
mod kernel;
mod lookup_tables;
mod multi_index;
mod pdq_index;
mod shared;
mod snapshot;
mod storage;

pub use digest_set::DigestSet;
pub use kernel::Kernel;
pub use pdq_index::{hamming, BatchStrategy, DihedralMatch, Match, PdqIndex};
pub use shared::{Change, Compacted, SharedIndex};
pub use snapshot::{Payload, SignalIndex, Snapshot, SnapshotError};

/// The radius at which two PDQ hashes are the same picture, by Meta's guidance.
pub const PDQ_MATCH_RADIUS: u32 = 31;

/// A 256-bit hash as four 64-bit words: the layout the kernels work on.
pub(crate) type Words = [u64; 4];

/// A 256-bit hash as the index stores it.
///
/// The Hamming distance does not depend on how bits are grouped, so the 32 bytes of a hash go
/// into four little-endian words in their order; [`Hash256::to_bytes`] gives them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash256(pub [u64; 4]);

impl Hash256 {
    /// From 32 bytes (a PDQ hash in the order of its hex form).
    pub fn from_bytes(bytes: &[u8; 32]) -> Self {
        let word = |i: usize| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().unwrap());
        Self([word(0), word(1), word(2), word(3)])
    }

    /// The 32 bytes it was made from.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut bytes = [0u8; 32];
        for (i, word) in self.0.iter().enumerate() {
            bytes[8 * i..8 * i + 8].copy_from_slice(&word.to_le_bytes());
        }
        bytes
    }
}
