//! `vigie hash` as its users run it: the real binary, real files, real pipes.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;

use common::{corpus, csv_rows, stdout};

fn vigie(args: &[&str]) -> Output {
    common::vigie_in(&corpus(), args)
}

#[test]
fn one_photo_prints_what_threatexchange_prints() {
    let output = vigie(&["hash", "bridge-mods/aaa-orig.jpg"]);
    assert!(output.status.success());
    assert_eq!(
        stdout(&output),
        "pdq f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22\n"
    );
}

#[test]
fn a_directory_hashes_to_hma_values_in_the_same_order_on_any_thread_count() {
    let one = vigie(&["hash", "--format", "csv", "--threads", "1", "."]);
    let four = vigie(&["hash", "--format", "csv", "--threads", "4", "."]);
    assert_eq!(stdout(&one), stdout(&four));
    let text = stdout(&one);
    assert!(text.starts_with("path,pdq,quality,md5,sha1,sha256,error\n"));
    let rows = csv_rows(&text);
    let by_path: BTreeMap<String, &BTreeMap<String, String>> = rows
        .iter()
        .map(|row| (row["path"].trim_start_matches("./").to_string(), row))
        .collect();

    // Every image of the HMA reference is there with its digests; PDQ agrees except for the
    // documented quirks (tested in the hashing crate).
    let expected = std::fs::read_to_string(corpus().join("expected-hma.csv")).unwrap();
    let quirks = [
        "misc-images/modes/P.png",
        "misc-images/modes/1.png",
        "misc-images/modes/CMYK.jpg",
    ];
    for row in csv_rows(&expected) {
        let ours = by_path[&row["file"]];
        assert_eq!(ours["sha256"], row["sha256"], "{}", row["file"]);
        assert_eq!(ours["error"], "", "{}", row["file"]);
        if !quirks.contains(&row["file"].as_str()) {
            assert_eq!(ours["pdq"], row["pdq"], "{}", row["file"]);
        }
    }
    // Text files in the corpus are reported as such, with their digests.
    let readme = by_path["misc-images/modes/README.md"];
    assert_eq!(readme["pdq"], "");
    assert!(readme["error"].contains("not an image"), "{readme:?}");
    assert_eq!(readme["sha256"].len(), 64);
    // Paths come out sorted, as walked.
    let paths: Vec<&String> = rows.iter().map(|row| &row["path"]).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    // Some files are not images, so the exit code says so.
    assert_eq!(one.status.code(), Some(1));
}

#[test]
fn jsonl_carries_the_dihedral_hashes() {
    let output = vigie(&[
        "hash",
        "--format",
        "jsonl",
        "--dihedral",
        "misc-images/c.png",
    ]);
    assert!(output.status.success());
    let record: serde_json::Value = serde_json::from_str(stdout(&output).trim()).unwrap();
    assert_eq!(record["path"], "misc-images/c.png");
    assert_eq!(record["quality"], 100);
    assert_eq!(record["error"], serde_json::Value::Null);
    assert_eq!(
        record["dihedral"]["rot90"],
        "c3c27add1d1bc31078245e6b03c4b83f471853e4207bf90fc7e07efe2054f719"
    );
    assert_eq!(record["dihedral"]["orig"], record["pdq"]);
}

#[test]
fn standard_input_is_hashed_like_a_file() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["hash", "--format", "csv", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let bytes = std::fs::read(corpus().join("misc-images/wee.jpg")).unwrap();
    child.stdin.take().unwrap().write_all(&bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    let rows = csv_rows(&stdout(&output));
    assert_eq!(rows[0]["path"], "-");
    assert_eq!(
        rows[0]["pdq"],
        "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d"
    );
}

/// A PNG whose header claims `width` x `height` pixels, with a valid header checksum.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = std::fs::read(corpus().join("misc-images/c.png")).unwrap();
    // Signature (8), IHDR length (4), "IHDR" (4), then width and height.
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// A photo with its main frame header changed by `edit`, which gets the header's offset.
fn jpeg_with_frame(edit: impl FnOnce(&mut [u8], usize)) -> Vec<u8> {
    let mut jpeg = std::fs::read(corpus().join("misc-images/wee.jpg")).unwrap();
    // The last frame header is the main image's: an EXIF thumbnail's comes before it, and
    // entropy-coded data cannot contain one.
    let sof = jpeg
        .windows(2)
        .rposition(|pair| pair == [0xff, 0xc0] || pair == [0xff, 0xc2])
        .expect("a frame header");
    edit(&mut jpeg, sof);
    jpeg
}

/// A JPEG whose frame header claims `width` x `height` pixels.
fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    jpeg_with_frame(|jpeg, sof| {
        jpeg[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
        jpeg[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    })
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

#[test]
fn hostile_files_get_a_reason_and_their_digests_and_the_others_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let good = corpus().join("misc-images/wee.jpg").display().to_string();
    let photo = std::fs::read(&good).unwrap();
    let files = [
        write(dir.path(), "bomb.png", &png_claiming(50_000, 50_000)),
        write(dir.path(), "bomb.jpg", &jpeg_claiming(60_000, 60_000)),
        write(dir.path(), "truncated.jpg", &photo[..photo.len() / 2]),
        write(
            dir.path(),
            "seven-bit.jpg",
            &jpeg_with_frame(|jpeg, sof| jpeg[sof + 4] = 7),
        ),
        write(dir.path(), "notes.txt", b"not a picture"),
        write(dir.path(), "empty.png", b""),
        dir.path().join("missing.jpg").display().to_string(),
        good.clone(),
    ];
    let mut args = vec!["hash", "--format", "csv"];
    args.extend(files.iter().map(String::as_str));
    let output = vigie(&args);
    assert_eq!(output.status.code(), Some(1), "some files failed");
    let rows = csv_rows(&stdout(&output));
    assert_eq!(rows.len(), files.len());
    let reason = |i: usize| rows[i]["error"].clone();
    assert!(
        reason(0).contains("50000x50000 pixels is over the limit"),
        "{}",
        reason(0)
    );
    assert!(
        reason(1).contains("60000x60000 pixels is over the limit"),
        "{}",
        reason(1)
    );
    assert!(reason(2).contains("truncated"), "{}", reason(2));
    assert!(
        reason(3).contains("corrupt image: Unsupported JPEG data precision 7"),
        "{}",
        reason(3)
    );
    assert!(reason(4).contains("not an image"), "{}", reason(4));
    assert!(reason(5).contains("not an image"), "{}", reason(5));
    assert!(reason(6).contains("cannot read"), "{}", reason(6));
    for (i, row) in rows.iter().enumerate().take(6) {
        assert_eq!(row["path"], files[i]);
        assert_eq!(
            row["sha1"].len(),
            40,
            "{}: digests are still reported",
            files[i]
        );
        assert_eq!(row["pdq"], "");
    }
    assert_eq!(rows[6]["sha1"], "");
    assert_eq!(rows[7]["error"], "");
    assert_eq!(rows[7]["quality"], "100");
}

#[test]
fn the_pixel_limit_is_configurable() {
    let output = vigie(&[
        "hash",
        "--format",
        "csv",
        "--max-pixels",
        "1000",
        "misc-images/wee.jpg",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let rows = csv_rows(&stdout(&output));
    assert!(
        rows[0]["error"].contains("over the limit of 1000 pixels"),
        "{:?}",
        rows[0]
    );
}

#[test]
fn a_symbolic_link_loop_is_reported_and_the_walk_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("album")).unwrap();
    std::fs::copy(
        corpus().join("misc-images/wee.jpg"),
        dir.path().join("album/wee.jpg"),
    )
    .unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("album/again")).unwrap();
    let root = dir.path().display().to_string();
    let output = vigie(&["hash", "--format", "jsonl", &root]);
    assert_eq!(output.status.code(), Some(1));
    let records: Vec<serde_json::Value> = stdout(&output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert!(records[0]["error"]
        .as_str()
        .unwrap()
        .contains("symbolic link loop"));
    assert_eq!(records[1]["quality"], 100);
}

/// PDQ hashes of a file, keyed by CSV column (`pdq`, `pdq_rot90`, ...).
fn hashes_of(args: &[&str]) -> BTreeMap<String, vigie_hash::PdqHash> {
    let output = vigie(args);
    assert!(output.status.success());
    csv_rows(&stdout(&output))[0]
        .iter()
        .filter(|(column, _)| column.starts_with("pdq"))
        .map(|(column, hex)| (column.clone(), hex.parse().unwrap()))
        .collect()
}

#[test]
fn the_exif_orientation_is_applied_only_when_asked() {
    // Each photo is stored as the camera saw it, with the EXIF orientation that turns it
    // upright: 3 is upside down, 6 needs a quarter turn clockwise, 8 one anticlockwise. PDQ's
    // dihedral hashes of the stored pixels predict the hash of the turned image ("rot90" is the
    // reference's anticlockwise quarter turn).
    for (file, turn) in [
        ("exif-rotn-3.jpg", "pdq_rot180"),
        ("exif-rotn-6.jpg", "pdq_rot270"),
        ("exif-rotn-8.jpg", "pdq_rot90"),
    ] {
        let path = format!("reg-test-input/exif-rotn/{file}");
        let stored = hashes_of(&["hash", "--format", "csv", "--dihedral", &path]);
        let plain = hashes_of(&["hash", "--format", "csv", &path]);
        let turned = hashes_of(&["hash", "--format", "csv", "--exif-orientation", &path]);
        assert_eq!(
            plain["pdq"], stored["pdq"],
            "{file}: no rotation by default"
        );
        assert!(
            turned["pdq"].distance(&stored["pdq"]) > 64,
            "{file}: turned"
        );
        let predicted = turned["pdq"].distance(&stored[turn]);
        assert!(
            predicted <= 8,
            "{file}: {predicted} bits from the {turn} prediction"
        );
    }
}
