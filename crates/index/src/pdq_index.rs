//! The PDQ index: exact range and nearest-neighbour search over 256-bit hashes, with adds and
//! removes that never rebuild it.
//!
//! Layout: a *base* segment, sorted by id, that may live in a memory-mapped snapshot, and a
//! *fresh* segment of hashes added since, in arrival order. Each segment is two parallel arrays
//! (hashes, ids), 40 bytes an entry, and a bit per entry marking it removed. A query scans both;
//! an add is visible to the next query; a remove sets a bit. [`PdqIndex::compacted`] folds the
//! fresh segment in and drops removed entries, from a shared reference, so a server can compact
//! on a background thread while queries go on against the current index.
//!
//! Scans are flat, with the widest SIMD popcount the CPU has ([`Kernel`]). A batch of many
//! queries is turned around: the queries go into multi-index tables and the stored hashes are
//! scanned once ([`crate::multi_index`]). Both are exact: every entry within the radius is
//! reported, and property tests hold them to a brute-force twin.

use rayon::prelude::*;

use crate::kernel::{distance, Hit, Kernel};
use std::sync::Arc;

use crate::lookup_tables::LookupTables;
use crate::multi_index::{self, QueryTables};
use crate::storage::Storage;
use crate::{Hash256, Words};

/// One stored entry within reach of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Match {
    /// Number of differing bits (0-256). Declared first so that matches sort nearest first.
    pub distance: u32,
    /// The id the entry was added with.
    pub id: u64,
}

/// A match of one of the eight dihedral variants of a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DihedralMatch {
    /// Distance of the closest variant.
    pub distance: u32,
    /// The id the entry was added with.
    pub id: u64,
    /// Which variant matched closest: its position in the query's list (0 is the original).
    pub variant: usize,
}

/// How a batch of queries is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchStrategy {
    /// Multi-index tables over the queries when the batch is large enough to pay for them;
    /// otherwise, when the index has lookup tables, each query through them; otherwise flat.
    Auto,
    /// Every query against every stored hash, block by block.
    Flat,
    /// Multi-index tables over the queries whatever the batch size (at radius over 47, where
    /// the tables do not apply, a flat scan).
    MultiIndex,
}

/// Entries scanned as one unit of work: large enough to amortise scheduling, small enough
/// (512 KB of hashes) to stay in a core's L2 cache while a batch of queries passes over it.
const BLOCK: usize = 16 * 1024;

/// From this many queries on, a batch at a radius the multi-index tables support probes the
/// tables instead of comparing every query. Measured on AVX-512 (`cargo bench -p vigie-index`):
/// a probe costs about as much as three flat comparisons.
const MULTI_INDEX_FACTOR: usize = 3;

/// A growable bit per entry.
#[derive(Debug, Clone, Default)]
struct Bits {
    words: Vec<u64>,
    ones: usize,
}

impl Bits {
    fn get(&self, i: usize) -> bool {
        self.words
            .get(i / 64)
            .is_some_and(|word| word & (1 << (i % 64)) != 0)
    }

    /// Sets bit `i`; returns whether it was clear.
    fn set(&mut self, i: usize) -> bool {
        if self.words.len() <= i / 64 {
            self.words.resize(i / 64 + 1, 0);
        }
        let was_clear = self.words[i / 64] & (1 << (i % 64)) == 0;
        self.words[i / 64] |= 1 << (i % 64);
        self.ones += usize::from(was_clear);
        was_clear
    }
}

/// A run of entries: hashes and ids side by side, and which are removed.
#[derive(Debug, Clone)]
struct Segment<H, I> {
    hashes: H,
    ids: I,
    removed: Bits,
}

type Base = Segment<Storage<Words>, Storage<u64>>;
type Fresh = Segment<Vec<Words>, Vec<u64>>;

/// A borrowed view of one segment, what the scans work on.
#[derive(Debug, Clone, Copy)]
struct Span<'a> {
    hashes: &'a [Words],
    ids: &'a [u64],
    removed: &'a Bits,
}

impl Span<'_> {
    /// The match at `offset` of this span, unless the entry was removed.
    fn live(&self, hit: Hit) -> Option<Match> {
        let i = hit.offset as usize;
        (!self.removed.get(i)).then(|| Match {
            distance: hit.distance,
            id: self.ids[i],
        })
    }
}

/// An index of 256-bit PDQ hashes, each with a caller's id.
///
/// Ids need not be unique: [`PdqIndex::remove`] removes every entry with the id. Cloning is
/// cheap for the base segment (shared) and copies the fresh one.
#[derive(Debug, Clone)]
pub struct PdqIndex {
    base: Base,
    fresh: Fresh,
    kernel: Kernel,
    /// Multi-index tables over the base segment for single lookups, when asked for.
    lookup_tables: Option<Arc<LookupTables>>,
}

impl Default for PdqIndex {
    fn default() -> Self {
        Self::new()
    }
}

impl PdqIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::from_sorted(Storage::owned(Vec::new()), Storage::owned(Vec::new()))
    }

    /// An index of these entries, built in one go: `O(n)` when they come in id order, as
    /// from a store, otherwise a sort by id.
    pub fn from_entries(entries: impl IntoIterator<Item = (u64, Hash256)>) -> Self {
        let mut entries: Vec<(u64, Words)> =
            entries.into_iter().map(|(id, hash)| (id, hash.0)).collect();
        if !entries.is_sorted_by_key(|&(id, _)| id) {
            entries.par_sort_unstable_by_key(|&(id, _)| id);
        }
        let (ids, hashes) = entries.into_iter().unzip();
        Self::from_sorted(Storage::owned(hashes), Storage::owned(ids))
    }

    /// An index over a base segment already sorted by id (a snapshot, or a compaction).
    pub(crate) fn from_sorted(hashes: Storage<Words>, ids: Storage<u64>) -> Self {
        debug_assert_eq!(hashes.len(), ids.len());
        Self {
            base: Segment {
                hashes,
                ids,
                removed: Bits::default(),
            },
            fresh: Segment {
                hashes: Vec::new(),
                ids: Vec::new(),
                removed: Bits::default(),
            },
            kernel: Kernel::detect(),
            lookup_tables: None,
        }
    }

    /// Builds multi-index tables over the stored hashes, so that one query at a time reads a
    /// few thousand entries instead of all of them. They cost 44 to 64 bytes an entry beside
    /// the 40 of the arrays (fewer, wider tables for larger banks, with up to 450 MB of bucket
    /// offsets), so they are for servers answering single lookups; batches do not need them.
    /// Compaction rebuilds them; snapshots do not store them.
    pub fn with_lookup_tables(mut self) -> Self {
        self.lookup_tables = Some(Arc::new(LookupTables::build(&self.base.hashes)));
        self
    }

    /// Whether [`PdqIndex::with_lookup_tables`] built tables.
    pub fn has_lookup_tables(&self) -> bool {
        self.lookup_tables.is_some()
    }

    /// Uses this scan kernel instead of the detected one (benchmarks and tests). The kernel
    /// must be one of [`Kernel::available`].
    pub fn with_kernel(mut self, kernel: Kernel) -> Self {
        assert!(
            Kernel::available().contains(&kernel),
            "kernel {} is not available on this CPU",
            kernel.name()
        );
        self.kernel = kernel;
        self
    }

    /// Number of live entries (added, not removed).
    pub fn len(&self) -> usize {
        self.base.hashes.len() - self.base.removed.ones + self.fresh.hashes.len()
            - self.fresh.removed.ones
    }

    /// Whether there is no live entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries that compaction would fold in or drop: a server compacts when this grows past a
    /// share of [`PdqIndex::len`].
    pub fn pending(&self) -> usize {
        self.fresh.hashes.len() + self.base.removed.ones
    }

    /// Adds an entry; the next query sees it.
    pub fn add(&mut self, id: u64, hash: Hash256) {
        self.fresh.hashes.push(hash.0);
        self.fresh.ids.push(id);
    }

    /// Removes every entry with this id; returns how many there were. The next query no
    /// longer sees them; their memory comes back at the next compaction.
    pub fn remove(&mut self, id: u64) -> usize {
        let ids: &[u64] = &self.base.ids;
        let start = ids.partition_point(|&other| other < id);
        let end = start + ids[start..].partition_point(|&other| other == id);
        let mut removed = 0;
        for i in start..end {
            removed += usize::from(self.base.removed.set(i));
        }
        // The fresh segment is small (compaction folds it in) and removals are rare: a scan.
        for i in 0..self.fresh.ids.len() {
            if self.fresh.ids[i] == id {
                removed += usize::from(self.fresh.removed.set(i));
            }
        }
        removed
    }

    /// The same entries, with the fresh segment folded into the base and removed entries
    /// gone. Takes `&self` so that it can run beside queries; the caller swaps it in.
    pub fn compacted(&self) -> Self {
        let mut fresh: Vec<(u64, Words)> = self
            .fresh
            .ids
            .iter()
            .zip(&self.fresh.hashes)
            .enumerate()
            .filter(|&(i, _)| !self.fresh.removed.get(i))
            .map(|(_, (&id, &hash))| (id, hash))
            .collect();
        fresh.sort_by_key(|&(id, _)| id);
        let live = self.len();
        let mut hashes = Vec::with_capacity(live);
        let mut ids = Vec::with_capacity(live);
        let mut fresh = fresh.into_iter().peekable();
        for (i, (&id, hash)) in self
            .base
            .ids
            .iter()
            .zip(self.base.hashes.iter())
            .enumerate()
        {
            while let Some(&(fresh_id, fresh_hash)) = fresh.peek() {
                if fresh_id >= id {
                    break;
                }
                ids.push(fresh_id);
                hashes.push(fresh_hash);
                fresh.next();
            }
            if !self.base.removed.get(i) {
                ids.push(id);
                hashes.push(*hash);
            }
        }
        for (id, hash) in fresh {
            ids.push(id);
            hashes.push(hash);
        }
        let mut compacted = Self::from_sorted(Storage::owned(hashes), Storage::owned(ids));
        compacted.kernel = self.kernel;
        if self.lookup_tables.is_some() {
            compacted = compacted.with_lookup_tables();
        }
        compacted
    }

    /// Compacts in place (see [`PdqIndex::compacted`]).
    pub fn compact(&mut self) {
        *self = self.compacted();
    }

    /// Live entries: the base segment in id order, then those added since, in arrival order.
    pub fn entries(&self) -> impl Iterator<Item = (u64, Hash256)> + '_ {
        self.spans().into_iter().flat_map(|span| {
            (0..span.hashes.len())
                .filter(move |&i| !span.removed.get(i))
                .map(move |i| (span.ids[i], Hash256(span.hashes[i])))
        })
    }

    /// The hashes stored under an id (live ones only).
    pub fn hashes_of(&self, id: u64) -> Vec<Hash256> {
        let base_ids: &[u64] = &self.base.ids;
        let start = base_ids.partition_point(|&other| other < id);
        let end = start + base_ids[start..].partition_point(|&other| other == id);
        let base = (start..end)
            .filter(|&i| !self.base.removed.get(i))
            .map(|i| Hash256(self.base.hashes[i]));
        let fresh = (0..self.fresh.ids.len())
            .filter(|&i| self.fresh.ids[i] == id && !self.fresh.removed.get(i))
            .map(|i| Hash256(self.fresh.hashes[i]));
        base.chain(fresh).collect()
    }

    /// The base arrays, when the index is compacted (snapshots write them as they are).
    pub(crate) fn base_arrays(&self) -> Option<(&[Words], &[u64])> {
        (self.pending() == 0).then(|| (&self.base.hashes[..], &self.base.ids[..]))
    }

    fn spans(&self) -> [Span<'_>; 2] {
        [
            Span {
                hashes: &self.base.hashes,
                ids: &self.base.ids,
                removed: &self.base.removed,
            },
            Span {
                hashes: &self.fresh.hashes,
                ids: &self.fresh.ids,
                removed: &self.fresh.removed,
            },
        ]
    }

    /// Every live entry within `radius` of `query`, nearest first (ties by id). One thread.
    pub fn range(&self, query: &Hash256, radius: u32) -> Vec<Match> {
        let mut matches = Vec::new();
        let mut hits = Vec::new();
        let [base, fresh] = self.spans();
        match &self.lookup_tables {
            Some(tables) if tables.worthwhile(radius) => {
                debug_assert_eq!(tables.len(), base.hashes.len());
                tables.lookup(base.hashes, &query.0, radius, |position, distance| {
                    hits.push(Hit {
                        offset: position as u32,
                        distance,
                    });
                });
            }
            _ => self.kernel.scan(&query.0, base.hashes, radius, &mut hits),
        }
        matches.extend(hits.iter().filter_map(|&hit| base.live(hit)));
        hits.clear();
        self.kernel.scan(&query.0, fresh.hashes, radius, &mut hits);
        matches.extend(hits.iter().filter_map(|&hit| fresh.live(hit)));
        matches.sort_unstable();
        matches
    }

    /// [`PdqIndex::range`] for many queries, on every thread of the current rayon pool.
    /// Result `i` answers query `i`.
    pub fn range_batch(&self, queries: &[Hash256], radius: u32) -> Vec<Vec<Match>> {
        self.range_batch_with(queries, radius, BatchStrategy::Auto)
    }

    /// [`PdqIndex::range_batch`] with a chosen strategy (benchmarks and tests compare them;
    /// all give the same answers).
    pub fn range_batch_with(
        &self,
        queries: &[Hash256],
        radius: u32,
        strategy: BatchStrategy,
    ) -> Vec<Vec<Match>> {
        let words: Vec<Words> = queries.iter().map(|q| q.0).collect();
        let multi_index = match strategy {
            BatchStrategy::Flat => false,
            BatchStrategy::MultiIndex => QueryTables::supports(radius),
            BatchStrategy::Auto => {
                let large = QueryTables::supports(radius)
                    && words.len() >= MULTI_INDEX_FACTOR * QueryTables::probes_per_entry(radius);
                let tables_worthwhile = self
                    .lookup_tables
                    .as_ref()
                    .is_some_and(|tables| tables.worthwhile(radius));
                if !large && tables_worthwhile {
                    // A small batch against lookup tables: each query on its own. A single
                    // query stays on the calling thread: handing it to the pool and waiting
                    // would cost two thread switches for a lookup of a fraction of a millisecond.
                    if let [query] = queries {
                        return vec![self.range(query, radius)];
                    }
                    return queries.par_iter().map(|q| self.range(q, radius)).collect();
                }
                large
            }
        };
        let found = if multi_index {
            self.range_multi_index(&words, radius)
        } else {
            self.range_flat(&words, radius)
        };
        let mut answers = vec![Vec::new(); queries.len()];
        for (query, found) in found {
            answers[query as usize].push(found);
        }
        answers
            .par_iter_mut()
            .for_each(|matches| matches.sort_unstable());
        answers
    }

    /// Each block of stored hashes, while it is in cache, against every query.
    fn range_flat(&self, queries: &[Words], radius: u32) -> Vec<(u32, Match)> {
        let kernel = self.kernel;
        self.block_offsets()
            .into_par_iter()
            .flat_map_iter(|(span, start, len)| {
                let mut found = Vec::new();
                let mut hits = Vec::new();
                for (number, query) in queries.iter().enumerate() {
                    hits.clear();
                    kernel.scan(query, &span.hashes[start..start + len], radius, &mut hits);
                    found.extend(hits.iter().filter_map(|hit| {
                        span.live(Hit {
                            offset: hit.offset + start as u32,
                            distance: hit.distance,
                        })
                        .map(|m| (number as u32, m))
                    }));
                }
                found
            })
            .collect()
    }

    /// Queries in multi-index tables, stored hashes scanned once.
    fn range_multi_index(&self, queries: &[Words], radius: u32) -> Vec<(u32, Match)> {
        // Larger batches go in turns, each a full pass over the stored hashes.
        let mut found = Vec::new();
        for (turn, queries) in queries.chunks(multi_index::MAX_QUERIES).enumerate() {
            let tables = QueryTables::build(queries, radius);
            let first = (turn * multi_index::MAX_QUERIES) as u32;
            found.par_extend(self.block_offsets().into_par_iter().flat_map_iter(
                |(span, start, len)| {
                    let mut found = Vec::new();
                    tables.probe(
                        &span.hashes[start..start + len],
                        |k| span.removed.get(start + k),
                        |k, number, distance| {
                            found.push((
                                first + number,
                                Match {
                                    distance,
                                    id: span.ids[start + k],
                                },
                            ));
                        },
                    );
                    found
                },
            ));
        }
        found
    }

    /// Work units: a segment and a range of it, at most [`BLOCK`] entries each.
    fn block_offsets(&self) -> Vec<(Span<'_>, usize, usize)> {
        let mut blocks = Vec::new();
        for span in self.spans() {
            let mut start = 0;
            while start < span.hashes.len() {
                let len = BLOCK.min(span.hashes.len() - start);
                blocks.push((span, start, len));
                start += len;
            }
        }
        blocks
    }

    /// The `k` live entries nearest to `query`, nearest first (ties by id). One thread.
    pub fn nearest(&self, query: &Hash256, k: usize) -> Vec<Match> {
        if k == 0 {
            return Vec::new();
        }
        // The best `k` so far, and the radius that could still improve on them.
        let mut best: Vec<Match> = Vec::with_capacity(2 * k + BLOCK.min(1024));
        let mut radius = 256;
        let mut hits = Vec::new();
        for (span, start, len) in self.block_offsets() {
            hits.clear();
            self.kernel.scan(
                &query.0,
                &span.hashes[start..start + len],
                radius,
                &mut hits,
            );
            best.extend(hits.iter().filter_map(|hit| {
                span.live(Hit {
                    offset: hit.offset + start as u32,
                    distance: hit.distance,
                })
            }));
            if best.len() >= k {
                best.sort_unstable();
                best.truncate(k);
                radius = best[k - 1].distance;
            }
        }
        best.sort_unstable();
        best.truncate(k);
        best
    }

    /// [`PdqIndex::nearest`] for many queries, on every thread of the current rayon pool.
    pub fn nearest_batch(&self, queries: &[Hash256], k: usize) -> Vec<Vec<Match>> {
        queries.par_iter().map(|q| self.nearest(q, k)).collect()
    }

    /// Entries within `radius` of any of a query's variants (its eight dihedral hashes, for an
    /// image that may have been rotated or flipped), each once with its closest variant; ties
    /// go to the earlier variant, so an unrotated match reports variant 0.
    pub fn range_dihedral(&self, variants: &[Hash256], radius: u32) -> Vec<DihedralMatch> {
        let mut closest = std::collections::HashMap::<u64, DihedralMatch>::new();
        for (variant, matches) in self.range_batch(variants, radius).into_iter().enumerate() {
            for m in matches {
                let candidate = DihedralMatch {
                    distance: m.distance,
                    id: m.id,
                    variant,
                };
                closest
                    .entry(m.id)
                    .and_modify(|best| {
                        if (candidate.distance, candidate.variant) < (best.distance, best.variant) {
                            *best = candidate;
                        }
                    })
                    .or_insert(candidate);
            }
        }
        let mut matches: Vec<DihedralMatch> = closest.into_values().collect();
        matches.sort_unstable();
        matches
    }

    /// Bytes of memory the index holds (mapped pages counted as if resident).
    pub fn memory_bytes(&self) -> usize {
        let entry = std::mem::size_of::<Words>() + std::mem::size_of::<u64>();
        (self.base.hashes.len() + self.fresh.hashes.capacity()) * entry
            + (self.base.removed.words.len() + self.fresh.removed.words.len()) * 8
            + self.lookup_tables.as_ref().map_or(0, |t| t.memory_bytes())
    }
}

/// Distance of two hashes, for callers who hold both.
pub fn hamming(a: &Hash256, b: &Hash256) -> u32 {
    distance(&a.0, &b.0)
}
