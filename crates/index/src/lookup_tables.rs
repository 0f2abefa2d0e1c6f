//! Multi-index tables over the stored hashes, for single lookups.
//!
//! A server answers one upload at a time, so it cannot wait for a batch to scan the stored
//! hashes once. Instead the stored hashes are split into `m` chunks, and for each chunk a table
//! groups their positions by the chunk's value. If a stored hash is within radius `r` of a
//! query, some chunk differs in at most `s = r / m` bits (were every chunk `s + 1` apart or
//! more, the distance would be at least `m (s + 1) > r`), so a lookup reads, in each table, the
//! buckets of the values within `s` bits of the query's chunk, and compares only the hashes
//! found there. Nothing within the radius can be missed: the search stays exact.
//!
//! How many chunks: few wide chunks make few, small buckets but many probes (every value
//! within `s` bits of the query's, with `s` growing as `m` shrinks); many narrow ones make
//! large buckets. At 10 million hashes and radius 31, 16 chunks of 16 bits probe 272 buckets
//! of about 150 positions (41,000 hashes compared, each a cache miss), while 11 chunks of 23
//! or 24 bits probe 3,119 buckets of about one (3,200 hashes compared). The chunk count is
//! chosen from the number of hashes by that cost, under a memory bound for the bucket offsets
//! (`2^width` of them a table).
//!
//! Every step of a lookup is a stream of independent reads scattered over memory: the bucket
//! offsets, then the positions in the buckets, then the hashes. Each runs as its own pass with
//! prefetches a few items ahead, so that the memory system fetches many at once instead of
//! waiting for each in turn.

use crate::kernel::distance;
use crate::storage::HugeArray;
use crate::Words;

/// The radius the chunk count is chosen for: PDQ's match threshold.
const DESIGN_RADIUS: u32 = crate::PDQ_MATCH_RADIUS;

/// The chunk counts considered: 16 chunks of 16 bits to 11 of 23-24 bits. Wider chunks would
/// need over 64 MB of offsets a table.
const CHUNK_COUNTS: std::ops::RangeInclusive<usize> = 11..=16;

/// How far ahead each pass of a lookup prefetches.
const PREFETCH_AHEAD: usize = 16;

/// Where one chunk sits in a hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunk {
    start: u32,
    width: u32,
}

impl Chunk {
    /// This chunk's bits of a hash.
    #[inline]
    fn of(self, hash: &Words) -> u32 {
        let word = (self.start / 64) as usize;
        let shift = self.start % 64;
        let mut bits = hash[word] >> shift;
        if shift + self.width > 64 {
            bits |= hash[word + 1] << (64 - shift);
        }
        (bits & ((1u64 << self.width) - 1)) as u32
    }

    /// How many buckets a lookup probes in this chunk's table at a sub-radius: the values
    /// within `sub_radius` bits.
    fn probes(self, sub_radius: u32) -> f64 {
        (0..=sub_radius.min(self.width))
            .map(|bits| binomial(self.width, bits))
            .sum()
    }
}

/// `n` choose `k`, as a float (for costs).
pub(crate) fn binomial(n: u32, k: u32) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * f64::from(n - i) / f64::from(i + 1))
}

/// `m` chunks covering the 256 bits, the first `256 % m` one bit wider than the others.
fn layout(m: usize) -> Vec<Chunk> {
    let narrow = 256 / m as u32;
    let wide = 256 % m;
    let mut start = 0;
    (0..m)
        .map(|i| {
            let width = narrow + u32::from(i < wide);
            let chunk = Chunk { start, width };
            start += width;
            chunk
        })
        .collect()
}

/// Expected scattered reads of one lookup at `radius` over `n` hashes with these chunks: one
/// for the offsets of each probed bucket, one for its positions when it is not empty, one
/// for each hash found there.
fn lookup_cost(chunks: &[Chunk], n: usize, radius: u32) -> f64 {
    let sub_radius = radius / chunks.len() as u32;
    chunks
        .iter()
        .map(|chunk| {
            let per_bucket = n as f64 / f64::from(1u32 << chunk.width);
            chunk.probes(sub_radius) * (1.0 + per_bucket.min(1.0) + per_bucket)
        })
        .sum()
}

/// The chunk count for `n` hashes: the cheapest lookup at [`DESIGN_RADIUS`] whose bucket
/// offsets take at most twice the memory of the positions themselves.
fn chunk_count(n: usize) -> usize {
    CHUNK_COUNTS
        .filter(|&m| {
            let offsets: usize = layout(m).iter().map(|c| 4usize << c.width).sum();
            m == 16 || offsets <= 2 * 4 * m * n
        })
        .min_by(|&a, &b| {
            let cost = |m| lookup_cost(&layout(m), n, DESIGN_RADIUS);
            cost(a).total_cmp(&cost(b))
        })
        .expect("16 chunks are always allowed")
}

/// Positions of the stored hashes grouped by the value of each chunk.
#[derive(Debug)]
pub(crate) struct LookupTables {
    chunks: Vec<Chunk>,
    /// For table `i`, bucket `v`: positions `positions[i * len + start..i * len + end]`, with
    /// `start = offsets[i][v]` and `end = offsets[i][v + 1]`.
    offsets: Vec<HugeArray<u32>>,
    positions: HugeArray<u32>,
    len: usize,
}

impl LookupTables {
    /// Builds the tables over `hashes` (fewer than `u32::MAX`), one table a thread, with the
    /// chunk count that suits their number.
    pub(crate) fn build(hashes: &[Words]) -> Self {
        Self::build_with_chunks(hashes, chunk_count(hashes.len()))
    }

    /// [`LookupTables::build`] with `m` chunks.
    fn build_with_chunks(hashes: &[Words], m: usize) -> Self {
        use rayon::prelude::*;
        let n = hashes.len();
        assert!(
            u32::try_from(n).is_ok(),
            "{n} hashes is over what the tables number"
        );
        let chunks = layout(m);
        let mut positions = HugeArray::zeroed(m * n);
        let offsets: Vec<HugeArray<u32>> = chunks
            .par_iter()
            .zip(positions.par_chunks_mut(n.max(1)))
            .map(|(&chunk, positions)| {
                // A counting sort of the positions by chunk value.
                let mut offsets = HugeArray::zeroed((1 << chunk.width) + 1);
                for hash in hashes {
                    offsets[chunk.of(hash) as usize + 1] += 1;
                }
                for v in 1..offsets.len() {
                    offsets[v] += offsets[v - 1];
                }
                let mut next = offsets[..offsets.len() - 1].to_vec();
                for (position, hash) in hashes.iter().enumerate() {
                    let slot = &mut next[chunk.of(hash) as usize];
                    positions[*slot as usize] = position as u32;
                    *slot += 1;
                }
                offsets
            })
            .collect();
        Self {
            chunks,
            offsets,
            positions,
            len: n,
        }
    }

    /// How many hashes the tables were built over.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether a lookup at this radius is cheaper through the tables than a scan of every
    /// hash. A scattered read costs about as much as comparing a few dozen hashes in order.
    pub(crate) fn worthwhile(&self, radius: u32) -> bool {
        radius < 256 && lookup_cost(&self.chunks, self.len, radius) * 32.0 < self.len as f64
    }

    /// Calls `found(position, distance)` for every hash of `hashes` (the ones the tables were
    /// built over) within `radius` of `query`, each once, in no particular order.
    pub(crate) fn lookup(
        &self,
        hashes: &[Words],
        query: &Words,
        radius: u32,
        mut found: impl FnMut(usize, u32),
    ) {
        debug_assert_eq!(hashes.len(), self.len);
        if self.len == 0 {
            return;
        }
        let sub_radius = radius / self.chunks.len() as u32;
        // Pass 1: the bucket of every probed value, table by table, its offsets prefetched.
        let mut probes: Vec<(usize, usize)> = Vec::new();
        for (table, &chunk) in self.chunks.iter().enumerate() {
            let own = chunk.of(query);
            for_each_mask(chunk.width, sub_radius, |mask| {
                probes.push((table, (own ^ mask) as usize));
            });
        }
        for k in 0..probes.len() {
            if let Some(&(ahead_table, ahead_v)) = probes.get(k + PREFETCH_AHEAD) {
                prefetch(&self.offsets[ahead_table][ahead_v]);
            }
            let (table, v) = probes[k];
            let offsets = &self.offsets[table];
            let (start, end) = (offsets[v] as usize, offsets[v + 1] as usize);
            // Reused in place: the bucket's range replaces the probe.
            probes[k] = (table * self.len + start, table * self.len + end);
        }
        // Pass 2: the positions in the non-empty buckets, prefetched a bucket ahead.
        let buckets: Vec<(usize, usize)> = probes.into_iter().filter(|(s, e)| s < e).collect();
        let mut candidates: Vec<u32> = Vec::new();
        for (k, &(start, end)) in buckets.iter().enumerate() {
            if let Some(&(ahead, _)) = buckets.get(k + PREFETCH_AHEAD) {
                prefetch(&self.positions[ahead]);
            }
            candidates.extend_from_slice(&self.positions[start..end]);
        }
        // Pass 3: the hashes themselves. A hash close in several chunks is a candidate several
        // times; the few within the radius are reported once.
        let mut close: Vec<(u32, u32)> = Vec::new();
        for (k, &position) in candidates.iter().enumerate() {
            if let Some(&ahead) = candidates.get(k + PREFETCH_AHEAD) {
                prefetch(&hashes[ahead as usize]);
            }
            let d = distance(&hashes[position as usize], query);
            if d <= radius {
                close.push((position, d));
            }
        }
        close.sort_unstable();
        close.dedup();
        for (position, d) in close {
            found(position as usize, d);
        }
    }

    /// Bytes the tables hold.
    pub(crate) fn memory_bytes(&self) -> usize {
        4 * (self.offsets.iter().map(|o| o.len()).sum::<usize>() + self.positions.len())
    }
}

/// Calls `visit` with every `width`-bit mask of at most `bits` bits set, fewest first.
fn for_each_mask(width: u32, bits: u32, mut visit: impl FnMut(u32)) {
    let limit = 1u64 << width;
    for ones in 0..=bits.min(width) {
        if ones == 0 {
            visit(0);
            continue;
        }
        // Gosper's hack: the masks of exactly `ones` bits in increasing order.
        let mut mask = (1u64 << ones) - 1;
        while mask < limit {
            visit(mask as u32);
            let lowest = mask & mask.wrapping_neg();
            let ripple = mask + lowest;
            mask = (((ripple ^ mask) >> 2) / lowest) | ripple;
        }
    }
}

/// Hints the CPU to bring a value's cache line in; a no-op where there is no such hint.
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch never faults nor changes memory, and SSE (which it belongs to)
        // is part of every x86-64 CPU; the pointer comes from a live reference anyway.
        #[allow(unsafe_code)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>((value as *const T).cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::SmallRng;
    use rand::{Rng, SeedableRng};

    #[test]
    fn layouts_cover_every_bit_once() {
        for m in CHUNK_COUNTS {
            let chunks = layout(m);
            assert_eq!(chunks.len(), m);
            let mut next = 0;
            for chunk in &chunks {
                assert_eq!(chunk.start, next);
                next += chunk.width;
            }
            assert_eq!(next, 256);
        }
    }

    #[test]
    fn chunks_read_their_bits_across_word_boundaries() {
        let hash: Words = [u64::MAX, 0, u64::MAX, 0];
        // Bits 60..84: four ones from word 0, then twenty zeros from word 1.
        assert_eq!(
            Chunk {
                start: 60,
                width: 24
            }
            .of(&hash),
            0b1111
        );
        assert_eq!(
            Chunk {
                start: 0,
                width: 16
            }
            .of(&hash),
            0xffff
        );
        assert_eq!(
            Chunk {
                start: 120,
                width: 16
            }
            .of(&hash),
            0xff00
        );
    }

    #[test]
    fn masks_are_every_value_within_the_bits() {
        let mut masks = Vec::new();
        for_each_mask(10, 2, |mask| masks.push(mask));
        let mut expected: Vec<u32> = (0..1024).filter(|m: &u32| m.count_ones() <= 2).collect();
        masks.sort_unstable();
        expected.sort_unstable();
        assert_eq!(masks, expected);
    }

    #[test]
    fn the_chunk_count_grows_wider_with_the_bank() {
        assert_eq!(chunk_count(1_000), 16);
        assert_eq!(chunk_count(100_000), 16);
        assert_eq!(chunk_count(10_000_000), 11);
    }

    /// Hashes near a few bases, so that lookups find matches at every distance.
    fn clustered(rng: &mut SmallRng, n: usize) -> Vec<Words> {
        let bases: Vec<Words> = (0..16).map(|_| rng.gen()).collect();
        (0..n)
            .map(|_| {
                let mut hash = bases[rng.gen_range(0..bases.len())];
                for _ in 0..rng.gen_range(0..48) {
                    let bit = rng.gen_range(0..256);
                    hash[bit / 64] ^= 1 << (bit % 64);
                }
                hash
            })
            .collect()
    }

    #[test]
    fn every_chunk_count_finds_what_brute_force_finds() {
        let mut rng = SmallRng::seed_from_u64(7);
        let hashes = clustered(&mut rng, 3_000);
        let queries = clustered(&mut rng, 40);
        for m in CHUNK_COUNTS {
            let tables = LookupTables::build_with_chunks(&hashes, m);
            for (q, query) in queries.iter().enumerate() {
                let radius = [0, 1, 15, 31, 32, 47, 64][q % 7];
                let mut found = Vec::new();
                tables.lookup(&hashes, query, radius, |p, d| found.push((p, d)));
                found.sort_unstable();
                let expected: Vec<(usize, u32)> = hashes
                    .iter()
                    .enumerate()
                    .map(|(p, h)| (p, distance(h, query)))
                    .filter(|&(_, d)| d <= radius)
                    .collect();
                assert_eq!(found, expected, "{m} chunks, radius {radius}");
            }
        }
    }
}
