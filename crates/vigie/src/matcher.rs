//! Looking hashes up in banks, a batch at a time: what `vigie match` and `vigie scan` share.
//!
//! A batch's PDQ hashes go to each bank's index in one `range_batch` call (all cores, and the
//! multi-index path when the batch is large), digests are looked up exactly. Each bank entry is
//! reported once per lookup, through its closest hash (with `--dihedral`, its closest variant).

use std::collections::HashSet;

use vigie_bank::SignalType;
use vigie_hash::hex;
use vigie_index::{hamming, Hash256};

use crate::bank_file::{decode_hex, Bank};

/// What to look up for one query or file.
#[derive(Debug, Default)]
pub struct Lookup {
    /// PDQ hashes: none, one, or the eight dihedral variants (original first).
    pub pdq: Vec<Hash256>,
    /// Cryptographic digests as lowercase hex, by type.
    pub digests: Vec<(SignalType, String)>,
}

/// One bank entry a lookup matched.
#[derive(Debug)]
pub struct Found<'b> {
    pub bank: &'b Bank,
    /// The entry's id in its bank.
    pub id: u64,
    pub signal_type: SignalType,
    /// PDQ distance (0 for a digest).
    pub distance: u32,
    /// Which PDQ variant matched (0: the hash as it is).
    pub variant: usize,
    /// The hash looked up and the stored one it matched, as hex.
    pub query: String,
    pub matched: String,
}

/// Looks up every lookup in every bank; result `i` lists what lookup `i` matched, bank by bank,
/// PDQ matches nearest first, then digests.
pub fn match_batch<'b>(
    banks: &'b [Bank],
    lookups: &[&Lookup],
    radius: Option<u32>,
) -> anyhow::Result<Vec<Vec<Found<'b>>>> {
    // Every PDQ hash of the batch, and which lookup (and variant) it belongs to.
    let owners: Vec<(usize, usize)> = lookups
        .iter()
        .enumerate()
        .flat_map(|(l, lookup)| (0..lookup.pdq.len()).map(move |v| (l, v)))
        .collect();
    let hashes: Vec<Hash256> = owners.iter().map(|&(l, v)| lookups[l].pdq[v]).collect();
    let per_bank: Vec<Vec<Vec<vigie_index::Match>>> = banks
        .iter()
        .map(|bank| bank.index.pdq.range_batch(&hashes, bank.radius(radius)))
        .collect();

    let mut results = Vec::with_capacity(lookups.len());
    for (l, lookup) in lookups.iter().enumerate() {
        let first = owners.partition_point(|&(owner, _)| owner < l);
        let mut found = Vec::new();
        for (bank, answers) in banks.iter().zip(&per_bank) {
            let mut near: Vec<(u32, usize, u64)> = (0..lookup.pdq.len())
                .flat_map(|v| {
                    answers[first + v]
                        .iter()
                        .map(move |m| (m.distance, v, m.id))
                })
                .collect();
            near.sort_unstable();
            let mut seen = HashSet::new();
            for (distance, variant, id) in near {
                if !seen.insert(id) {
                    continue;
                }
                let query = lookup.pdq[variant];
                let stored = bank
                    .index
                    .pdq
                    .hashes_of(id)
                    .into_iter()
                    .min_by_key(|h| hamming(h, &query))
                    .unwrap_or(query);
                found.push(Found {
                    bank,
                    id,
                    signal_type: SignalType::Pdq,
                    distance,
                    variant,
                    query: hex(&query.to_bytes()),
                    matched: hex(&stored.to_bytes()),
                });
            }
            for (signal_type, value) in &lookup.digests {
                let ids = match signal_type {
                    SignalType::Md5 => bank.index.md5.get(&decode_hex(value)?),
                    SignalType::Sha1 => bank.index.sha1.get(&decode_hex(value)?),
                    SignalType::Sha256 => bank.index.sha256.get(&decode_hex(value)?),
                    SignalType::Pdq | SignalType::PhotoDna => Vec::new(),
                };
                found.extend(ids.into_iter().map(|id| Found {
                    bank,
                    id,
                    signal_type: *signal_type,
                    distance: 0,
                    variant: 0,
                    query: value.clone(),
                    matched: value.clone(),
                }));
            }
        }
        results.push(found);
    }
    Ok(results)
}
