//! Every search of the index against its brute-force twin: a list of (id, hash) pairs compared
//! one by one. Random and clustered data (many near copies of a few pictures, as banks hold),
//! every radius, adds and removes interleaved with queries.

use proptest::prelude::*;
use vigie_index::{hamming, BatchStrategy, Hash256, Kernel, Match, PdqIndex};

/// What the index must hold after a sequence of operations, kept the obvious way.
#[derive(Debug, Default)]
struct Twin {
    entries: Vec<(u64, Hash256)>,
}

impl Twin {
    fn range(&self, query: &Hash256, radius: u32) -> Vec<Match> {
        let mut matches: Vec<Match> = self
            .entries
            .iter()
            .map(|(id, hash)| Match {
                distance: hamming(query, hash),
                id: *id,
            })
            .filter(|m| m.distance <= radius)
            .collect();
        matches.sort();
        matches
    }

    fn nearest(&self, query: &Hash256, k: usize) -> Vec<Match> {
        let mut matches = self.range(query, 256);
        matches.truncate(k);
        matches
    }
}

#[derive(Debug, Clone)]
enum Operation {
    Add(u64, Hash256),
    Remove(u64),
    Compact,
}

/// A hash `flips` bits away from `base`, the bits chosen by `seed`.
fn near(base: Hash256, flips: u32, seed: u64) -> Hash256 {
    let mut hash = base;
    let mut state = seed | 1;
    for _ in 0..flips {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let bit = (state % 256) as usize;
        hash.0[bit / 64] ^= 1 << (bit % 64);
    }
    hash
}

/// Hashes either uniformly random or clustered around a few centres at distance 0 to 40.
fn hashes() -> impl Strategy<Value = Vec<Hash256>> {
    prop_oneof![
        prop::collection::vec(any::<[u64; 4]>().prop_map(Hash256), 0..300),
        (
            prop::collection::vec(any::<[u64; 4]>().prop_map(Hash256), 1..6),
            prop::collection::vec((any::<usize>(), 0u32..=40, any::<u64>()), 0..300),
        )
            .prop_map(|(centres, copies)| copies
                .into_iter()
                .map(|(c, flips, seed)| near(centres[c % centres.len()], flips, seed))
                .collect()),
    ]
}

/// Queries near the stored hashes (so that matches happen) and random ones.
fn queries_for(stored: &[Hash256]) -> impl Strategy<Value = Vec<Hash256>> {
    let stored = stored.to_vec();
    prop::collection::vec(
        (any::<usize>(), 0u32..=60, any::<u64>(), any::<[u64; 4]>()),
        1..12,
    )
    .prop_map(move |picks| {
        picks
            .into_iter()
            .map(|(i, flips, seed, random)| {
                if stored.is_empty() || flips > 50 {
                    Hash256(random)
                } else {
                    near(stored[i % stored.len()], flips, seed)
                }
            })
            .collect()
    })
}

fn radius() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..=47, 0u32..=256, Just(31u32)]
}

fn operations(stored: Vec<Hash256>) -> impl Strategy<Value = Vec<Operation>> {
    let n = stored.len() as u64;
    prop::collection::vec(
        (0u8..10, any::<u64>(), any::<[u64; 4]>()).prop_map(
            move |(kind, pick, random)| match kind {
                0..=4 => Operation::Add(
                    pick % (n + 20),
                    if n > 0 && kind < 3 {
                        near(stored[(pick % n) as usize], (pick % 30) as u32, pick)
                    } else {
                        Hash256(random)
                    },
                ),
                5..=8 => Operation::Remove(pick % (n + 20)),
                _ => Operation::Compact,
            },
        ),
        0..40,
    )
}

fn scenario() -> impl Strategy<Value = (Vec<Hash256>, Vec<Operation>, Vec<Hash256>, u32)> {
    hashes().prop_flat_map(|stored| {
        let queries = queries_for(&stored);
        (Just(stored.clone()), operations(stored), queries, radius())
    })
}

/// The index after the operations, with lookup tables built at the start when asked (so that
/// compactions among the operations rebuild them).
fn build(stored: &[Hash256], operations: &[Operation], tables: bool) -> (PdqIndex, Twin) {
    // Ids repeat on purpose (the id space is smaller than the entries): removal takes all.
    let entries: Vec<(u64, Hash256)> = stored
        .iter()
        .enumerate()
        .map(|(i, hash)| ((i as u64 * 7) % (stored.len() as u64 + 3), *hash))
        .collect();
    let mut index = PdqIndex::from_entries(entries.clone());
    if tables {
        index = index.with_lookup_tables();
    }
    let mut twin = Twin { entries };
    for operation in operations {
        match operation {
            Operation::Add(id, hash) => {
                index.add(*id, *hash);
                twin.entries.push((*id, *hash));
            }
            Operation::Remove(id) => {
                let before = twin.entries.len();
                twin.entries.retain(|(other, _)| other != id);
                assert_eq!(index.remove(*id), before - twin.entries.len());
            }
            Operation::Compact => index.compact(),
        }
    }
    assert_eq!(index.len(), twin.entries.len());
    (index, twin)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn range_search_equals_brute_force(
        (stored, operations, queries, radius) in scenario(),
        tables in any::<bool>(),
    ) {
        let (index, twin) = build(&stored, &operations, tables);
        prop_assert_eq!(index.has_lookup_tables(), tables);
        let expected: Vec<Vec<Match>> = queries.iter().map(|q| twin.range(q, radius)).collect();
        for kernel in Kernel::available() {
            let index = index.clone().with_kernel(kernel);
            for (query, expected) in queries.iter().zip(&expected) {
                prop_assert_eq!(&index.range(query, radius), expected, "kernel {}", kernel.name());
            }
        }
        for strategy in [BatchStrategy::Auto, BatchStrategy::Flat, BatchStrategy::MultiIndex] {
            prop_assert_eq!(
                &index.range_batch_with(&queries, radius, strategy),
                &expected,
                "{:?}",
                strategy
            );
        }
    }

    #[test]
    fn nearest_equals_brute_force(
        (stored, operations, queries, _radius) in scenario(),
        k in 0usize..20,
    ) {
        let (index, twin) = build(&stored, &operations, false);
        let expected: Vec<Vec<Match>> = queries.iter().map(|q| twin.nearest(q, k)).collect();
        prop_assert_eq!(index.nearest_batch(&queries, k), expected);
    }

    #[test]
    fn compaction_keeps_every_entry(
        (stored, operations, queries, radius) in scenario(),
        tables in any::<bool>(),
    ) {
        let (index, twin) = build(&stored, &operations, tables);
        let compacted = index.compacted();
        prop_assert_eq!(compacted.pending(), 0);
        prop_assert_eq!(compacted.has_lookup_tables(), tables);
        let mut entries: Vec<(u64, Hash256)> = compacted.entries().collect();
        let mut expected = twin.entries.clone();
        entries.sort();
        expected.sort();
        prop_assert_eq!(entries, expected);
        for query in &queries {
            prop_assert_eq!(compacted.range(query, radius), twin.range(query, radius));
        }
    }
}

/// A batch large enough for the automatic choice to take the multi-index tables, at the
/// radius PDQ matches at, against a flat scan of the same batch.
#[test]
fn a_large_batch_takes_the_multi_index_path_and_agrees_with_a_flat_scan() {
    let centres: Vec<Hash256> = (0..50u64)
        .map(|i| {
            Hash256([
                i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                !i,
                i << 32,
                i ^ 0xabcdef,
            ])
        })
        .collect();
    let stored: Vec<(u64, Hash256)> = (0..5000u64)
        .map(|i| (i, near(centres[(i % 50) as usize], (i % 41) as u32, i)))
        .collect();
    let index = PdqIndex::from_entries(stored.clone());
    let queries: Vec<Hash256> = (0..1000u64)
        .map(|i| near(centres[(i % 50) as usize], (i % 37) as u32, i + 99))
        .collect();
    let auto = index.range_batch(&queries, 31);
    let flat = index.range_batch_with(&queries, 31, BatchStrategy::Flat);
    assert_eq!(auto, flat);
    let found: usize = auto.iter().map(Vec::len).sum();
    assert!(
        found > 1000,
        "clustered queries find their clusters ({found} matches)"
    );
}

#[test]
fn dihedral_query_reports_the_variant_that_matched() {
    let stored = Hash256([1, 2, 3, 4]);
    let rotated = Hash256([!1, !2, !3, !4]);
    let rotated_copy = near(rotated, 5, 1);
    let index = PdqIndex::from_entries([(10, stored), (11, rotated_copy)]);
    let variants = [
        Hash256([9; 4]),
        near(stored, 3, 7),
        rotated,
        near(stored, 1, 3),
    ];
    let matches = index.range_dihedral(&variants, 31);
    assert_eq!(matches.len(), 2);
    let by_id = |id| matches.iter().find(|m| m.id == id).unwrap();
    assert_eq!(
        (by_id(10).variant, by_id(10).distance),
        (3, hamming(&variants[3], &stored))
    );
    assert_eq!(
        (by_id(11).variant, by_id(11).distance),
        (2, hamming(&rotated, &rotated_copy))
    );
}

/// More queries than one set of multi-index tables holds: the batch goes in turns, and query
/// numbers past the first turn still come back to the right query.
#[test]
fn a_batch_larger_than_one_set_of_tables_goes_in_turns() {
    let stored: Vec<(u64, Hash256)> = (0..200u64)
        .map(|i| {
            (
                i,
                Hash256([i.wrapping_mul(0x9e37_79b9_7f4a_7c15), i, !i, i << 3]),
            )
        })
        .collect();
    let index = PdqIndex::from_entries(stored.clone());
    let queries: Vec<Hash256> = (0..70_000u64)
        .map(|i| {
            if i % 997 == 0 {
                near(stored[(i % 200) as usize].1, (i % 30) as u32, i)
            } else {
                Hash256([i, i.wrapping_mul(31), i ^ 0x5555, !i])
            }
        })
        .collect();
    let multi = index.range_batch_with(&queries, 31, BatchStrategy::MultiIndex);
    let flat = index.range_batch_with(&queries, 31, BatchStrategy::Flat);
    assert_eq!(multi, flat);
    assert!(multi[69_790].iter().any(|m| m.id == 69_790 % 200));
}
