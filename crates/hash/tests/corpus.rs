//! Bit-for-bit equality with outside implementations, on Meta's public PDQ test images.
//!
//! The expected values in `../shared/corpus/pdq/` were computed by python-threatexchange (HMA's
//! hashing path) and by Meta's reference C++, not by this project.

use std::collections::BTreeMap;
use std::path::PathBuf;

use vigie_hash::{hash_image, hex, Digests, Dihedral, HashOptions, PdqHash, PdqVariant};

fn corpus() -> PathBuf {
    let shared = std::env::var_os("VIGIE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("corpus/pdq")
}

/// Rows of an expected-values CSV, as maps from column name to value.
fn expected(file: &str) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(corpus().join(file))
        .unwrap_or_else(|e| panic!("reading {file}: {e} (is ../shared beside the checkout?)"));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    lines
        .map(|line| {
            header
                .iter()
                .zip(line.split(','))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(corpus().join(file)).unwrap_or_else(|e| panic!("reading {file}: {e}"))
}

/// Images HMA hashes in a way we deliberately do not copy, each with the reason. For these we
/// check instead that our hash is what a user expects: close to the photo they were made from.
const HMA_QUIRKS: [(&str, &str); 3] = [
    (
        "misc-images/modes/P.png",
        "HMA hashes a palette image on its palette indices; we hash its colours",
    ),
    (
        "misc-images/modes/1.png",
        "HMA hashes a bilevel image on values 0 and 1 (quality 0); we use black and white",
    ),
    (
        "misc-images/modes/CMYK.jpg",
        "HMA hashes the C, M and Y ink channels as if they were R, G and B (an inverted hash); \
         we convert CMYK to RGB as Pillow does",
    ),
];

#[test]
fn pdq_and_digests_equal_hma_on_every_ordinary_image() {
    let options = HashOptions::default();
    let mut checked = 0;
    for row in expected("expected-hma.csv") {
        let file = &row["file"];
        let bytes = read(file);
        let digests = Digests::of(&bytes);
        assert_eq!(hex(&digests.md5), row["md5"], "{file}: md5");
        assert_eq!(hex(&digests.sha1), row["sha1"], "{file}: sha1");
        assert_eq!(hex(&digests.sha256), row["sha256"], "{file}: sha256");
        let hashes = hash_image(&bytes, &options).unwrap_or_else(|e| panic!("{file}: {e}"));
        if HMA_QUIRKS.iter().any(|(quirk, _)| quirk == file) {
            continue;
        }
        assert_eq!(hashes.pdq.hash.to_string(), row["pdq"], "{file}: pdq");
        assert_eq!(
            hashes.pdq.quality.to_string(),
            row["quality"],
            "{file}: quality"
        );
        checked += 1;
    }
    assert_eq!(checked, 49 - HMA_QUIRKS.len());
}

#[test]
fn quirky_modes_hash_close_to_their_original_photo() {
    let original = hash_image(
        &read("misc-images/modes/original.jpg"),
        &HashOptions::default(),
    )
    .unwrap()
    .pdq;
    for (file, reason) in HMA_QUIRKS {
        let ours = hash_image(&read(file), &HashOptions::default())
            .unwrap()
            .pdq;
        let distance = ours.hash.distance(&original.hash);
        assert!(
            distance <= 16,
            "{file}: distance {distance} to the original ({reason})"
        );
        assert!(
            ours.quality >= 50,
            "{file}: quality {} ({reason})",
            ours.quality
        );
        let hma = expected("expected-hma.csv")
            .into_iter()
            .find(|row| row["file"] == file)
            .unwrap();
        let hma_hash: PdqHash = hma["pdq"].parse().unwrap();
        assert_ne!(
            (ours.hash, ours.quality.to_string()),
            (hma_hash, hma["quality"].clone()),
            "{file}: we now agree with HMA, recheck the quirk"
        );
    }
}

#[test]
fn dihedral_hashes_equal_the_reference() {
    let options = HashOptions {
        dihedral: true,
        ..HashOptions::default()
    };
    let rows = expected("expected-dihedral.csv");
    for row in &rows {
        let file = &row["file"];
        let hashes = hash_image(&read(file), &options).unwrap();
        let dihedral = hashes.dihedral.expect("asked for");
        let transform = Dihedral::ALL
            .into_iter()
            .find(|t| t.name() == row["variant"])
            .unwrap_or_else(|| panic!("unknown variant {}", row["variant"]));
        assert_eq!(
            dihedral.get(transform).to_string(),
            row["pdq"],
            "{file} {}",
            row["variant"]
        );
        assert_eq!(dihedral.quality.to_string(), row["quality"], "{file}");
    }
    assert_eq!(rows.len(), 48);
}

#[test]
fn cli512_variant_equals_the_reference_tool() {
    let options = HashOptions {
        variant: PdqVariant::Cli512,
        ..HashOptions::default()
    };
    let rows = expected("expected-cli512.csv");
    for row in &rows {
        let file = &row["file"];
        let pdq = hash_image(&read(file), &options).unwrap().pdq;
        assert_eq!(pdq.hash.to_string(), row["pdq"], "{file}");
        assert_eq!(pdq.quality.to_string(), row["quality"], "{file}");
    }
    assert_eq!(rows.len(), 33);
}
