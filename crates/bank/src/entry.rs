//! Entries (one known content item with its hashes) and banks (the named list they belong to),
//! and the merging of entries that turn out to be the same content.
//!
//! Lists from different sources describe the same file again and again: NCMEC and a hotline
//! both list it, a VICS case lists it under two paths. An entry is the unit a match reports,
//! so two entries that share a hash are one content item and are merged before banking.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::signal::{Signal, SignalType};

/// One known content item as a list describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The source's own id: VICS `MediaID`, NCMEC image id, ThreatExchange indicator id, the
    /// CSV `id` column.
    pub id: Option<String>,
    /// Every hash of the item; one item may carry several (VICS: MD5, SHA-1 and PhotoDNA).
    pub signals: Vec<Signal>,
    /// The category as the source names it: VICS `Category` "1", NCMEC "A1", ...
    pub category: Option<String>,
    pub tags: Vec<String>,
    /// Where the content was seen: file paths on a seized disk (VICS `MediaFiles`), the `path`
    /// column of `vigie hash` CSV. Lists written before this field existed have none.
    #[serde(default)]
    pub files: Vec<String>,
    /// The source withdraws the item (NCMEC `<deletedImage>`, ThreatExchange `should_delete`).
    pub deleted: bool,
}

/// A named hash list: what it is, where it came from and how it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankInfo {
    pub name: String,
    pub source: Option<String>,
    /// The category of entries that carry none of their own; exports write it for them.
    pub default_category: Option<String>,
    /// The largest PDQ Hamming distance that counts as a match.
    #[serde(default = "default_pdq_threshold")]
    pub pdq_threshold: u32,
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

/// Meta's recommended PDQ match distance.
pub const DEFAULT_PDQ_THRESHOLD: u32 = 31;

fn default_pdq_threshold() -> u32 {
    DEFAULT_PDQ_THRESHOLD
}

fn default_enabled() -> bool {
    true
}

impl BankInfo {
    /// A bank with this name and the defaults: no source, no category, threshold 31, enabled.
    pub fn new(name: impl Into<String>) -> BankInfo {
        BankInfo {
            name: name.into(),
            source: None,
            default_category: None,
            pdq_threshold: DEFAULT_PDQ_THRESHOLD,
            enabled: true,
        }
    }
}

/// Merges entries that share any signal (same type and value) into the first one seen, and
/// returns the merged list with the number of entries merged away.
///
/// Merging is transitive: an entry holding hashes of two earlier entries joins all three. The
/// kept entry has the union of signals, tags and files (first appearance order), the first id
/// and the first category that are present, and is deleted only if every merged entry was,
/// because a withdrawal by one source does not withdraw what another still lists. Entries
/// without signals never merge. The order of first appearance is kept.
pub fn merge_duplicates(entries: Vec<Entry>) -> (Vec<Entry>, u64) {
    let mut kept: Vec<Option<Entry>> = Vec::with_capacity(entries.len());
    let mut owner: HashMap<(SignalType, String), usize> = HashMap::new();
    let mut merged = 0u64;
    for entry in entries {
        let mut targets: Vec<usize> = entry
            .signals
            .iter()
            .filter_map(|s| owner.get(&(s.signal_type, s.value.clone())).copied())
            .collect();
        targets.sort_unstable();
        targets.dedup();
        let Some((&first, others)) = targets.split_first() else {
            let index = kept.len();
            for signal in &entry.signals {
                owner.insert((signal.signal_type, signal.value.clone()), index);
            }
            kept.push(Some(entry));
            continue;
        };
        // Later entries bridged by this one are absorbed too, so the merge does not depend on
        // the order in which their shared hashes happened to appear.
        let mut absorbed = vec![entry];
        for &other in others {
            absorbed.extend(kept[other].take());
        }
        let target = kept[first].as_mut().expect("owners point at kept entries");
        for entry in absorbed {
            absorb(target, entry);
            merged += 1;
        }
        for signal in &target.signals {
            owner.insert((signal.signal_type, signal.value.clone()), first);
        }
    }
    (kept.into_iter().flatten().collect(), merged)
}

/// Folds `other` into `target` by the rules of [`merge_duplicates`].
fn absorb(target: &mut Entry, other: Entry) {
    union_into(&mut target.signals, other.signals);
    union_into(&mut target.tags, other.tags);
    union_into(&mut target.files, other.files);
    if target.id.is_none() {
        target.id = other.id;
    }
    if target.category.is_none() {
        target.category = other.category;
    }
    target.deleted &= other.deleted;
}

/// Appends the items of `other` that `target` does not hold yet, keeping first appearance order.
pub(crate) fn union_into<T: PartialEq>(target: &mut Vec<T>, other: impl IntoIterator<Item = T>) {
    for item in other {
        if !target.contains(&item) {
            target.push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, signals: &[(SignalType, &str)], tags: &[&str]) -> Entry {
        Entry {
            id: (!id.is_empty()).then(|| id.to_string()),
            signals: signals
                .iter()
                .map(|&(signal_type, value)| Signal {
                    signal_type,
                    value: value.to_string(),
                })
                .collect(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            ..Entry::default()
        }
    }

    const MD5_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const MD5_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const SHA1_C: &str = "cccccccccccccccccccccccccccccccccccccccc";

    #[test]
    fn entries_sharing_a_signal_merge_into_the_first() {
        let mut first = entry("", &[(SignalType::Md5, MD5_A)], &["red"]);
        first.files = vec!["C:/case/a/lake.jpg".to_string()];
        let lonely = entry("lonely", &[(SignalType::Md5, MD5_B)], &[]);
        let mut second = entry(
            "second",
            &[(SignalType::Sha1, SHA1_C), (SignalType::Md5, MD5_A)],
            &["blue", "red"],
        );
        second.category = Some("1".to_string());
        second.files = vec![
            "D:/case/b/lake.jpg".to_string(),
            "C:/case/a/lake.jpg".to_string(),
        ];
        let (merged, count) = merge_duplicates(vec![first, lonely, second]);
        assert_eq!(count, 1);
        assert_eq!(merged.len(), 2);
        assert_eq!(
            merged[0].id.as_deref(),
            Some("second"),
            "first id present is kept"
        );
        assert_eq!(merged[0].category.as_deref(), Some("1"));
        assert_eq!(merged[0].tags, ["red", "blue"]);
        assert_eq!(
            merged[0].files,
            ["C:/case/a/lake.jpg", "D:/case/b/lake.jpg"]
        );
        assert_eq!(
            merged[0]
                .signals
                .iter()
                .map(|s| s.signal_type)
                .collect::<Vec<_>>(),
            [SignalType::Md5, SignalType::Sha1]
        );
        assert_eq!(
            merged[1].id.as_deref(),
            Some("lonely"),
            "order of first appearance"
        );
    }

    #[test]
    fn a_bridging_entry_joins_two_earlier_ones() {
        let a = entry("a", &[(SignalType::Md5, MD5_A)], &[]);
        let b = entry("b", &[(SignalType::Md5, MD5_B)], &[]);
        let bridge = entry(
            "c",
            &[(SignalType::Md5, MD5_B), (SignalType::Md5, MD5_A)],
            &[],
        );
        let after = entry("d", &[(SignalType::Md5, MD5_B)], &[]);
        let (merged, count) = merge_duplicates(vec![a, b, bridge, after]);
        assert_eq!(count, 3);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].id.as_deref(), Some("a"));
        assert_eq!(merged[0].signals.len(), 2);
    }

    #[test]
    fn entries_without_signals_and_withdrawals() {
        let mut withdrawn = entry("x", &[(SignalType::Md5, MD5_A)], &[]);
        withdrawn.deleted = true;
        let live = entry("y", &[(SignalType::Md5, MD5_A)], &[]);
        let bare = entry("z", &[], &[]);
        let (merged, count) = merge_duplicates(vec![withdrawn, bare.clone(), live, bare]);
        assert_eq!(count, 1);
        assert_eq!(merged.len(), 3);
        assert!(!merged[0].deleted, "still listed by another source");
    }

    #[test]
    fn bank_info_defaults_when_deserialised() {
        let bank: BankInfo =
            serde_json::from_str(r#"{"name":"n","source":null,"default_category":null}"#).unwrap();
        assert_eq!(bank, BankInfo::new("n"));
    }
}
