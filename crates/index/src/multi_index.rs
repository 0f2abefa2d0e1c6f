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
pub(crate) fn chunk(hash: &Words, i: usize) -> u16 {
    (hash[i / 4] >> (16 * (i % 4))) as u16
}

/// Queries in one set of tables at most: query numbers and bucket offsets fit in 16 bits, which
/// halves the tables so that one table and a block of stored hashes share a core's L2 cache.
pub(crate) const MAX_QUERIES: usize = u16::MAX as usize;

/// Stored hashes probed together, table by table: 128 KB, so that they, one table's offsets
/// and the queries stay in L2 while the table is probed for each of them.
const PROBE_BLOCK: usize = 4096;

/// Queries grouped by the value of each of their 16 chunks.
#[derive(Debug)]
pub(crate) struct QueryTables<'q> {
    queries: &'q [Words],
    radius: u32,
    sub_radius: u32,
    /// The chunk values probed for a stored chunk `v` are `v ^ mask` for every 16-bit mask of
    /// at most `sub_radius` bits. They are probed a 64-bit word of `occupied` at a time: each
    /// item is the high 10 bits of some masks (which word, relative to `v`'s) and how many bits
    /// their low 6 bits may still have (which bits of that word, from `low_bits`).
    words: Vec<(usize, usize)>,
    /// For table `i`, bucket `v`: query numbers `members[i * n + start..i * n + end]`, `n` the
    /// number of queries, with `start = offsets[i * (BUCKETS + 1) + v]` and `end` the next.
    offsets: Vec<u16>,
    members: Vec<u16>,
    /// Bit `v` of table `i` is set when bucket `v` is not empty: a probe of an empty bucket,
    /// the common case, reads 8 KB of bits per table instead of 128 KB of offsets.
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
        let masks: f64 = (0..=(radius / 16).min(16))
            .map(|bits| crate::lookup_tables::binomial(16, bits))
            .sum();
        CHUNKS * masks as usize
    }

    /// Builds the tables over at most [`MAX_QUERIES`] queries.
    pub(crate) fn build(queries: &'q [Words], radius: u32) -> Self {
        assert!(
            Self::supports(radius),
            "radius {radius} is over what the tables support"
        );
        assert!(
            queries.len() <= MAX_QUERIES,
            "{} queries in one set of tables",
            queries.len()
        );
        let sub_radius = radius / 16;
        let n = queries.len();
        let mut offsets = vec![0u16; CHUNKS * (BUCKETS + 1)];
        let mut occupied = vec![0u64; CHUNKS * BUCKETS / 64];
        for query in queries {
            for i in 0..CHUNKS {
                let v = usize::from(chunk(query, i));
                offsets[i * (BUCKETS + 1) + v + 1] += 1;
                occupied[i * (BUCKETS / 64) + v / 64] |= 1 << (v % 64);
            }
        }
        // Counts to starting offsets, table by table.
        for table in offsets.chunks_exact_mut(BUCKETS + 1) {
            let mut total = 0u16;
            for slot in table.iter_mut() {
                total += *slot;
                *slot = total;
            }
        }
        let mut members = vec![0u16; CHUNKS * n];
        let mut next = offsets.clone();
        for (number, query) in queries.iter().enumerate() {
            for i in 0..CHUNKS {
                let slot = &mut next[i * (BUCKETS + 1) + usize::from(chunk(query, i))];
                members[i * n + usize::from(*slot)] = number as u16;
                *slot += 1;
            }
        }
        Self {
            queries,
            radius,
            sub_radius,
            words: word_probes(sub_radius),
            offsets,
            members,
            occupied,
        }
    }

    /// Calls `found(position, query number, distance)` for every pair of a stored hash and a
    /// query within the radius, each pair exactly once; `position` is the hash's place in
    /// `hashes`. Hashes for which `skip` holds (removed entries) are left out.
    pub(crate) fn probe(
        &self,
        hashes: &[Words],
        skip: impl Fn(usize) -> bool,
        mut found: impl FnMut(usize, u32, u32),
    ) {
        let n = self.queries.len();
        for (block_number, block) in hashes.chunks(PROBE_BLOCK).enumerate() {
            let first = block_number * PROBE_BLOCK;
            // Table by table, so that one table's bits and offsets stay in cache for the block.
            for i in 0..CHUNKS {
                let occupied = &self.occupied[i * (BUCKETS / 64)..(i + 1) * (BUCKETS / 64)];
                let offsets = &self.offsets[i * (BUCKETS + 1)..(i + 1) * (BUCKETS + 1)];
                let members = &self.members[i * n..(i + 1) * n];
                for (k, hash) in block.iter().enumerate() {
                    let own = usize::from(chunk(hash, i));
                    let low = own % 64;
                    for &(high, budget) in &self.words {
                        let word = (own / 64) ^ high;
                        // The occupied buckets of this word that are within reach of `own`.
                        let mut reachable = occupied[word] & low_bits(budget, low);
                        while reachable != 0 {
                            let v = word * 64 + reachable.trailing_zeros() as usize;
                            reachable &= reachable - 1;
                            let start = usize::from(offsets[v]);
                            let end = usize::from(offsets[v + 1]);
                            for &number in &members[start..end] {
                                let query = &self.queries[usize::from(number)];
                                let d = distance(hash, query);
                                if d <= self.radius
                                    && first_close_chunk(hash, query, self.sub_radius) == i
                                    && !skip(first + k)
                                {
                                    found(first + k, u32::from(number), d);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The first chunk in which two hashes differ by at most the sub-radius: the one chunk through
/// which a pair within the radius is reported, so that it is reported once.
fn first_close_chunk(a: &Words, b: &Words, sub_radius: u32) -> usize {
    (0..CHUNKS)
        .find(|&i| (chunk(a, i) ^ chunk(b, i)).count_ones() <= sub_radius)
        .expect("a pair within the radius has a chunk within the sub-radius")
}

/// The words probed at this sub-radius: every 10-bit mask `high` of at most `sub_radius` bits,
/// with the bits the low 6 bits may still flip.
fn word_probes(sub_radius: u32) -> Vec<(usize, usize)> {
    (0..1usize << 10)
        .filter(|high| high.count_ones() <= sub_radius)
        .map(|high| (high, (sub_radius - high.count_ones()) as usize))
        .collect()
}

/// The bits of a 64-bit word at positions `low ^ m`, for every 6-bit `m` of at most `budget`
/// bits: the buckets of one word within reach.
#[inline]
fn low_bits(budget: usize, low: usize) -> u64 {
    LOW_BITS[budget.min(MAX_SUB_RADIUS as usize)][low]
}

/// [`low_bits`] for every budget up to the largest sub-radius and every position.
static LOW_BITS: std::sync::LazyLock<[[u64; 64]; MAX_SUB_RADIUS as usize + 1]> =
    std::sync::LazyLock::new(|| {
        let mut table = [[0u64; 64]; MAX_SUB_RADIUS as usize + 1];
        for (budget, row) in table.iter_mut().enumerate() {
            for (low, bits) in row.iter_mut().enumerate() {
                for m in (0..64usize).filter(|m| m.count_ones() as usize <= budget) {
                    *bits |= 1 << (low ^ m);
                }
            }
        }
        table
    });

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
        tables.probe(
            &[query],
            |_| false,
            |position, number, distance| found.push((position, number, distance)),
        );
        assert_eq!(found, [(0, 0, 0)]);
    }
}
