//! A shared index keeps every change made while it compacts in the background.

use std::collections::BTreeSet;
use std::sync::Arc;

use vigie_index::{Change, Hash256, PdqIndex, SharedIndex, SignalIndex};

fn hash(i: u64) -> Hash256 {
    Hash256([
        i,
        i.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        !i,
        i.rotate_left(17),
    ])
}

#[test]
fn changes_made_during_a_background_compaction_are_kept() {
    let base = PdqIndex::from_entries((0..300_000u64).map(|i| (i, hash(i))));
    let shared = Arc::new(SharedIndex::new(SignalIndex {
        pdq: base,
        ..SignalIndex::default()
    }));
    let mut expected: BTreeSet<u64> = (0..300_000).collect();
    // Pending work for the compaction to fold: removals and adds.
    for id in (0..300_000).step_by(3) {
        shared.apply(Change::Remove(id));
        expected.remove(&id);
    }
    let compaction = shared.compact_in_background();
    let mut next = 1_000_000u64;
    let mut changes = 0;
    while !compaction.is_finished() || changes < 1000 {
        shared.apply(Change::AddPdq(next, hash(next)));
        expected.insert(next);
        shared.apply(Change::Remove(next - 1_000_000 + 1));
        expected.remove(&(next - 1_000_000 + 1));
        shared.apply(Change::AddMd5(next, [7; 16]));
        // Every change is visible at once, compaction or not.
        assert_eq!(shared.read().pdq.range(&hash(next), 0)[0].id, next);
        next += 1;
        changes += 1;
    }
    compaction.join().unwrap();
    let index = shared.read();
    let ids: BTreeSet<u64> = index.pdq.entries().map(|(id, _)| id).collect();
    assert_eq!(ids, expected);
    assert_eq!(index.md5.get(&[7; 16]).len(), changes);
    assert_eq!(shared.pending().1, expected.len());
}

#[test]
fn a_compaction_returns_the_copy_it_took_with_the_position_of_its_last_change() {
    let shared = Arc::new(SharedIndex::default());
    // Position `p` adds entry `p`; every third position removes the entry before it.
    let change = |position: u64| {
        if position.is_multiple_of(3) {
            Change::Remove(position - 1)
        } else {
            Change::AddPdq(position, hash(position))
        }
    };
    let live_up_to = |position: u64| -> BTreeSet<u64> {
        (1..=position)
            .filter(|p| !p.is_multiple_of(3) && (p + 1 > position || !(p + 1).is_multiple_of(3)))
            .collect()
    };
    for position in 1..=200_000 {
        shared.apply_at(change(position), position);
    }
    let compaction = shared.compact_in_background();
    let mut position = 200_000;
    while !compaction.is_finished() || position < 201_000 {
        position += 1;
        shared.apply_at(change(position), position);
    }
    let compacted = compaction.join().unwrap();
    assert!(compacted.position >= 200_000 && compacted.position <= position);
    assert_eq!(compacted.index.pdq.pending(), 0);
    let saved: BTreeSet<u64> = compacted.index.pdq.entries().map(|(id, _)| id).collect();
    assert_eq!(saved, live_up_to(compacted.position));
    // The live index went on with the changes made during the compaction.
    let live: BTreeSet<u64> = shared.read().pdq.entries().map(|(id, _)| id).collect();
    assert_eq!(live, live_up_to(position));
}
