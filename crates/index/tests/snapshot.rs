//! Snapshots: what is saved loads back the same, and a damaged or foreign file is refused with
//! the reason.

use std::path::Path;

use vigie_index::{DigestSet, Hash256, PdqIndex, SignalIndex, SnapshotError};

fn sample() -> SignalIndex {
    let mut pdq = PdqIndex::from_entries((0..1000u64).map(|i| {
        (
            i * 3,
            Hash256([i, i.wrapping_mul(0x9e37_79b9_7f4a_7c15), !i, i << 7]),
        )
    }));
    // Pending changes are folded in by the writer.
    pdq.add(5, Hash256([5; 4]));
    pdq.remove(9);
    SignalIndex {
        pdq,
        md5: DigestSet::from_entries([(3, [0xaa; 16]), (6, [0x01; 16])]),
        sha1: DigestSet::from_entries([(3, [0xbb; 20])]),
        sha256: DigestSet::from_entries([(6, [0xcc; 32])]),
    }
}

fn saved(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("bank.vidx");
    sample().save(&path, b"{\"name\":\"test\"}").unwrap();
    path
}

#[test]
fn a_saved_index_loads_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let path = saved(dir.path());
    let snapshot = SignalIndex::load(&path).unwrap();
    assert_eq!(snapshot.payload(), b"{\"name\":\"test\"}");
    let original = sample();
    let loaded = &snapshot.index;
    let mut expected: Vec<_> = original.pdq.entries().collect();
    expected.sort();
    assert_eq!(loaded.pdq.entries().collect::<Vec<_>>(), expected);
    assert_eq!(loaded.pdq.len(), 1000);
    let query = Hash256([5; 4]);
    assert_eq!(loaded.pdq.range(&query, 0), original.pdq.range(&query, 0));
    assert_eq!(loaded.md5.get(&[0xaa; 16]), [3]);
    assert_eq!(loaded.sha1.get(&[0xbb; 20]), [3]);
    assert_eq!(loaded.sha256.get(&[0xcc; 32]), [6]);
    assert!(loaded.sha256.get(&[0xcd; 32]).is_empty());

    // A loaded (mapped) index still takes adds and removes.
    let mut index = snapshot.index.clone();
    index.pdq.add(77, Hash256([7; 4]));
    assert_eq!(index.pdq.remove(3), 1);
    assert_eq!(index.pdq.range(&Hash256([7; 4]), 0)[0].id, 77);
    assert_eq!(index.pdq.len(), 1000);
}

fn load_error(bytes: &[u8]) -> SnapshotError {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.vidx");
    std::fs::write(&path, bytes).unwrap();
    SignalIndex::load(&path).unwrap_err()
}

#[test]
fn every_flipped_byte_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(saved(dir.path())).unwrap();
    // Every byte of the header and table, and a spread of bytes in the sections.
    let positions = (0..400).chain((400..bytes.len()).step_by(97));
    for position in positions {
        let mut damaged = bytes.clone();
        damaged[position] ^= 0x10;
        let error = load_error(&damaged);
        assert!(
            matches!(
                error,
                SnapshotError::Corrupt { .. }
                    | SnapshotError::NotASnapshot { .. }
                    | SnapshotError::UnsupportedVersion { .. }
            ),
            "byte {position}: {error}"
        );
    }
}

#[test]
fn truncated_foreign_and_future_files_are_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(saved(dir.path())).unwrap();

    let error = load_error(&bytes[..bytes.len() - 64]);
    assert!(error.to_string().contains("truncated"), "{error}");

    let error = load_error(b"pdq,md5\nabc,def\n");
    assert!(
        matches!(error, SnapshotError::NotASnapshot { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("not a Vigie index snapshot"));

    let mut future = bytes.clone();
    future[8] = 2;
    let error = load_error(&future);
    assert!(error.to_string().contains("version 2"), "{error}");

    let missing = SignalIndex::load(&dir.path().join("absent.vidx")).unwrap_err();
    assert!(matches!(missing, SnapshotError::Io { .. }), "{missing}");
}

/// The version-1 fixture written when the format was introduced must keep loading: a change
/// of layout that breaks it needs a new version number, not a silent reinterpretation.
#[test]
fn the_version_1_fixture_still_loads() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/v1.vidx");
    let snapshot = SignalIndex::load(&fixture).unwrap();
    assert_eq!(snapshot.payload(), b"{\"name\":\"test\"}");
    assert_eq!(snapshot.index.pdq.len(), 1000);
    assert_eq!(snapshot.index.md5.get(&[0x01; 16]), [6]);
}
