//! Multi-index hashing over a batch of queries, for scanning the stored hashes once.
//!
//! When thousands of queries arrive together (a platform's backlog, a seized disk, a benchmark
//! of 10,000 lookups), comparing each stored hash with each query costs `queries x entries`
//! distance computations. Multi-index hashing (Norouzi, Punjani and Fleet, 2012) cuts that: split
//! a 256-bit hash into 16 chunks of 16 bits; if two hashes are within radius `r`, at least one
//! chunk differs in at most `s = r / 16` bits (were all 16 chunks `s + 1` apart or more, the
//! distance would be `16 (s + 1) > r`). So the queries go into 16 tables keyed by chunk value,
//! and each stored hash only looks up, in each table, the chunk values within `s` bits of its
//! own: 16 probes at radius 0 to 15, 272 at radius 16 to 31. Only the queries found there are
//! compared in full. Nothing within the radius can be missed, so the search stays exact.
//!
//! The tables are built over the queries, not over the stored hashes: the stored side stays a
//! plain array (40 bytes an entry with its id), and the tables, a few megabytes, stay in cache.
//! A pair can be found through several chunks; it is reported only through the first chunk
//! within `s` bits, so each pair comes out once.

use crate::kernel::distance;
use crate::Words;

/// Chunks a hash is split into.
const CHUNKS: usize = 16;

/// Possible values of one 16-bit chunk.
const BUCKETS: usize = 1 << 16;

/// Largest sub-radius the tables are built for: `radius / 16 <= 2`, so radius up to 47. Past
/// that, each stored hash would probe 2,000 buckets or more and a flat scan is as fast.
pub(crate) const MAX_SUB_RADIUS: u32 = 2;

/// The 16-bit chunk `i` of a hash.
#[inline]
fn chunk(hash: &Words, i: usize) -> u16 {
    (hash[i / 4] >> (16 * (i % 4))) as u16
}

/// Queries grouped by the value of each of their 16 chunks.
#[derive(Debug)]
pub(crate) struct QueryTables<'q> {
    queries: &'q [Words],
    radius: u32,
    sub_radius: u32,
    /// Every 16-bit mask of at most `sub_radius` bits: the chunk values probed are `v ^ mask`.
    masks: Vec<u16>,
    /// For table `i`, bucket `v`: query numbers `members[start..end]` with
    /// `start = offsets[i * (BUCKETS + 1) + v]`, `end` the next offset.
    offsets: Vec<u32>,
    members: Vec<u32>,
    /// Bit `v` of table `i` is set when bucket `v` is not empty: a probe of an empty bucket,
    /// the common case, reads 8 KB per table of bits instead of 256 KB of offsets.
    occupied: Vec<u64>,
}

impl<'q> QueryTables<'q> {
    /// Whether the tables support this radius.
    pub(crate) fn supports(radius: u32) -> bool {
        radius / 16 <= MAX_SUB_RADIUS
    }

    /// How many buckets each stored hash probes at this radius: the cost per stored hash, to
    /// weigh against one full comparison per query for a flat scan.
    pub(crate) fn probes_per_entry(radius: u32) -> usize {
        CHUNKS * flip_masks(radius / 16).len()
    }

    /// Builds the tables. `queries` holds fewer than `u32::MAX` hashes.
    pub(crate) fn build(queries: &'q [Words], radius: u32) -> Self {
        assert!(
            Self::supports(radius),
            "radius {radius} is over what the tables support"
        );
        let sub_radius = radius / 16;
        let mut offsets = vec![0u32; CHUNKS * (BUCKETS + 1)];
        let mut occupied = vec![0u64; CHUNKS * BUCKETS / 64];
        for query in queries {
            for i in 0..CHUNKS {
                let v = usize::from(chunk(query, i));
                offsets[i * (BUCKETS + 1) + v + 1] += 1;
                occupied[i * (BUCKETS / 64) + v / 64] |= 1 << (v % 64);
            }
        }
        // Counts to starting offsets, table after table in one array.
        let mut total = 0u32;
        for slot in offsets.iter_mut() {
            total += *slot;
            *slot = total;
        }
        for i in 0..CHUNKS {
            // Each table's first offset continues from the previous table's end.
            debug_assert_eq!(offsets[i * (BUCKETS + 1)], (i * queries.len()) as u32);
        }
        let mut members = vec![0u32; CHUNKS * queries.len()];
        let mut next = offsets.clone();
        for (number, query) in queries.iter().enumerate() {
            for i in 0..CHUNKS {
                let slot = &mut next[i * (BUCKETS + 1) + usize::from(chunk(query, i))];
                members[*slot as usize] = number as u32;
                *slot += 1;
            }
        }
        Self {
            queries,
            radius,
            sub_radius,
            masks: flip_masks(sub_radius),
            offsets,
            members,
            occupied,
        }
    }

    /// Calls `found(query number, distance)` for every query within the radius of `hash`,
    /// each exactly once.
    #[inline]
    pub(crate) fn probe(&self, hash: &Words, mut found: impl FnMut(u32, u32)) {
        for i in 0..CHUNKS {
            let own = chunk(hash, i);
            let occupied = &self.occupied[i * (BUCKETS / 64)..(i + 1) * (BUCKETS / 64)];
            let offsets = &self.offsets[i * (BUCKETS + 1)..(i + 1) * (BUCKETS + 1)];
            for &mask in &self.masks {
                let v = usize::from(own ^ mask);
                if occupied[v / 64] & (1 << (v % 64)) == 0 {
                    continue;
                }
                let members = &self.members[offsets[v] as usize..offsets[v + 1] as usize];
                for &number in members {
                    let query = &self.queries[number as usize];
                    let d = distance(hash, query);
                    if d <= self.radius && self.first_close_chunk(hash, query) == i {
                        found(number, d);
                    }
                }
            }
        }
    }

    /// The first chunk in which two hashes differ by at most the sub-radius: the one chunk
    /// through which their pair is reported.
    fn first_close_chunk(&self, a: &Words, b: &Words) -> usize {
        (0..CHUNKS)
            .find(|&i| (chunk(a, i) ^ chunk(b, i)).count_ones() <= self.sub_radius)
            .expect("a pair within the radius has a chunk within the sub-radius")
    }
}

/// Every 16-bit mask with at most `bits` bits set, fewest bits first.
fn flip_masks(bits: u32) -> Vec<u16> {
    let mut masks: Vec<u16> = (0..=u16::MAX).filter(|m| m.count_ones() <= bits).collect();
    masks.sort_by_key(|m| m.count_ones());
    masks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_counts_follow_the_sub_radius() {
        assert_eq!(QueryTables::probes_per_entry(15), 16);
        assert_eq!(QueryTables::probes_per_entry(31), 16 * 17);
        assert_eq!(QueryTables::probes_per_entry(47), 16 * (1 + 16 + 120));
        assert!(!QueryTables::supports(48));
    }

    #[test]
    fn a_pair_is_found_once_even_when_many_chunks_agree() {
        let query = [7u64, 8, 9, 10];
        let queries = [query];
        let tables = QueryTables::build(&queries, 31);
        let mut found = Vec::new();
        // Identical: all 16 chunks agree, yet one report.
        tables.probe(&query, |number, distance| found.push((number, distance)));
        assert_eq!(found, [(0, 0)]);
    }
}
