//! Exact-match sets of cryptographic digests (MD5, SHA-1, SHA-256), each with its entry's id.
//!
//! A digest either matches or does not, so the set is a sorted array searched by bisection:
//! `N + 8` bytes an entry, mappable from a snapshot like the PDQ arrays. Adds since the last
//! compaction sit in a hash map; removes set a bit, as in the PDQ index.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::storage::Storage;

/// A set of `N`-byte digests, each with the ids of the entries that carry it.
#[derive(Debug, Clone)]
pub struct DigestSet<const N: usize> {
    /// Sorted by digest, then id.
    keys: Storage<[u8; N]>,
    ids: Storage<u64>,
    removed: Vec<bool>,
    fresh: HashMap<[u8; N], Vec<u64>>,
    fresh_count: usize,
}

impl<const N: usize> Default for DigestSet<N> {
    fn default() -> Self {
        Self::from_sorted(Storage::owned(Vec::new()), Storage::owned(Vec::new()))
    }
}

impl<const N: usize> DigestSet<N> {
    /// A set of these entries, built in one go.
    pub fn from_entries(entries: impl IntoIterator<Item = (u64, [u8; N])>) -> Self {
        let mut entries: Vec<([u8; N], u64)> =
            entries.into_iter().map(|(id, key)| (key, id)).collect();
        entries.sort_unstable();
        entries.dedup();
        let (keys, ids) = entries.into_iter().unzip();
        Self::from_sorted(Storage::owned(keys), Storage::owned(ids))
    }

    pub(crate) fn from_sorted(keys: Storage<[u8; N]>, ids: Storage<u64>) -> Self {
        let removed = vec![false; keys.len()];
        Self {
            keys,
            ids,
            removed,
            fresh: HashMap::new(),
            fresh_count: 0,
        }
    }

    /// Number of (digest, id) pairs.
    pub fn len(&self) -> usize {
        self.removed.iter().filter(|r| !**r).count() + self.fresh_count
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Adds a digest for an entry.
    pub fn add(&mut self, id: u64, key: [u8; N]) {
        let ids = self.fresh.entry(key).or_default();
        if !ids.contains(&id) {
            ids.push(id);
            self.fresh_count += 1;
        }
    }

    /// Removes every digest of this id; returns how many. `O(n)`: removals are rare, and the
    /// set is ordered by digest, not id.
    pub fn remove(&mut self, id: u64) -> usize {
        let mut removed = 0;
        for (i, other) in self.ids.iter().enumerate() {
            if *other == id && !self.removed[i] {
                self.removed[i] = true;
                removed += 1;
            }
        }
        let mut removed_fresh = 0;
        self.fresh.retain(|_, ids| {
            let before = ids.len();
            ids.retain(|other| *other != id);
            removed_fresh += before - ids.len();
            !ids.is_empty()
        });
        self.fresh_count -= removed_fresh;
        removed + removed_fresh
    }

    /// The ids of the entries that carry this digest, in increasing order.
    pub fn get(&self, key: &[u8; N]) -> Vec<u64> {
        let keys: &[[u8; N]] = &self.keys;
        let start = keys.partition_point(|other| other < key);
        let end = start + keys[start..].partition_point(|other| other == key);
        let mut ids: Vec<u64> = (start..end)
            .filter(|&i| !self.removed[i])
            .map(|i| self.ids[i])
            .collect();
        if let Some(fresh) = self.fresh.get(key) {
            ids.extend(fresh);
        }
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Every live (id, digest) pair, sorted by digest then id.
    pub fn entries(&self) -> Vec<(u64, [u8; N])> {
        let mut entries: Vec<([u8; N], u64)> = (0..self.keys.len())
            .filter(|&i| !self.removed[i])
            .map(|i| (self.keys[i], self.ids[i]))
            .chain(
                self.fresh
                    .iter()
                    .flat_map(|(key, ids)| ids.iter().map(move |id| (*key, *id))),
            )
            .collect();
        entries.sort_unstable();
        entries.dedup();
        entries.into_iter().map(|(key, id)| (id, key)).collect()
    }

    /// The same pairs with adds folded in and removes dropped.
    pub fn compacted(&self) -> Self {
        Self::from_entries(self.entries())
    }

    /// The pairs as two arrays sorted by digest then id, what a snapshot writes. A compacted
    /// set lends its own arrays, so that saving a large index does not copy it.
    pub(crate) fn sorted_arrays(&self) -> (Cow<'_, [[u8; N]]>, Cow<'_, [u64]>) {
        if self.fresh.is_empty() && !self.removed.contains(&true) {
            return (Cow::Borrowed(&self.keys), Cow::Borrowed(&self.ids));
        }
        let (keys, ids) = self
            .entries()
            .into_iter()
            .map(|(id, key)| (key, id))
            .unzip();
        (Cow::Owned(keys), Cow::Owned(ids))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_adds_and_forgets_removes() {
        let mut set = DigestSet::<2>::from_entries([(5, [1, 2]), (3, [1, 2]), (9, [7, 7])]);
        assert_eq!(set.get(&[1, 2]), [3, 5]);
        set.add(11, [1, 2]);
        set.add(12, [0, 0]);
        assert_eq!(set.get(&[1, 2]), [3, 5, 11]);
        assert_eq!(set.remove(5), 1);
        assert_eq!(set.get(&[1, 2]), [3, 11]);
        assert_eq!(set.get(&[4, 4]), Vec::<u64>::new());
        assert_eq!(set.len(), 4);
        let compacted = set.compacted();
        assert_eq!(compacted.get(&[1, 2]), [3, 11]);
        assert_eq!(compacted.get(&[0, 0]), [12]);
        assert_eq!(compacted.len(), 4);
    }
}
