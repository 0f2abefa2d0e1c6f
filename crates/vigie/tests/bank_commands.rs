//! `vigie index build`, `vigie match` and `vigie scan` as a platform engineer and an
//! investigator run them: the real binary, lists in the formats they hold, pictures from the
//! benign corpus and copies of them made here.

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{corpus, csv_rows, stderr, stdout, vigie_in};
use image::ImageEncoder as _;

fn shared() -> PathBuf {
    corpus().join("../..")
}

fn write(path: &Path, contents: impl AsRef<[u8]>) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// `vigie hash --format csv` of these corpus files, saved in `dir` as a list.
fn hash_list(dir: &Path, name: &str, files: &[&str]) -> PathBuf {
    let mut args = vec!["hash", "--format", "csv"];
    args.extend(files);
    let output = vigie_in(&corpus(), &args);
    assert!(output.status.success(), "{}", stderr(&output));
    let path = dir.join(name);
    write(&path, output.stdout);
    path
}

#[test]
fn a_bank_built_from_every_list_format_reports_what_it_read_and_where_it_stumbled() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("platform.txt");
    write(
        &text,
        "# the platform's own reviewers\n\
         f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22\n\
         not-a-hash\n\
         md5:d35c785545392755e7e4164457657269  # the same photo's MD5, given twice\n\
         D35C785545392755E7E4164457657269\n",
    );
    let csv = hash_list(dir.path(), "hashed.csv", &["bridge-mods/aaa-orig.jpg"]);
    let vics = shared().join("schemas/projectvic-vics/NSRL-CAID-MOV.json");
    let ncmec = shared().join("schemas/ncmec-hashsharing-v2/ENTRIES_XML.xml");
    let bank = dir.path().join("known.vidx");
    let output = vigie_in(
        dir.path(),
        &[
            "index",
            "build",
            text.to_str().unwrap(),
            csv.to_str().unwrap(),
            vics.to_str().unwrap(),
            ncmec.to_str().unwrap(),
            "-o",
            bank.to_str().unwrap(),
            "--source",
            "test lists",
        ],
    );
    let report = stderr(&output);
    assert!(output.status.success(), "{report}");
    assert!(
        report.contains(&format!("{}:3: ", text.display())),
        "the bad line is named by file and line: {report}"
    );
    assert!(report.contains("1 lines not read"), "{report}");
    // The text list's PDQ and two MD5 lines and the CSV row are one photo: one entry. The
    // NCMEC sample withdraws two of its images; the VICS sample lists 9 files.
    assert!(report.contains("3 duplicates merged"), "{report}");
    assert!(report.contains("2 withdrawn"), "{report}");
    assert!(report.contains("12 entries (1 PDQ, 12 MD5"), "{report}");
    assert!(bank.exists());

    // --strict refuses the same lists at the first bad line, and writes nothing.
    let strict_bank = dir.path().join("strict.vidx");
    let output = vigie_in(
        dir.path(),
        &[
            "index",
            "build",
            "--strict",
            text.to_str().unwrap(),
            "-o",
            strict_bank.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains(":3:"), "{}", stderr(&output));
    assert!(!strict_bank.exists());
}

#[test]
fn a_platform_matches_modified_copies_in_a_shell_pipe() {
    let dir = tempfile::tempdir().unwrap();
    let originals = hash_list(dir.path(), "originals.csv", &["bridge-mods/aaa-orig.jpg"]);
    let bank = dir.path().join("bridge.vidx");
    let output = vigie_in(
        dir.path(),
        &[
            "index",
            "build",
            originals.to_str().unwrap(),
            "-o",
            bank.to_str().unwrap(),
            "--category",
            "test-category",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));

    // `vigie hash ... | vigie match --bank bridge.vidx`
    let hashed = vigie_in(
        &corpus(),
        &[
            "hash",
            "--format",
            "csv",
            "bridge-mods",
            "misc-images/c.png",
        ],
    );
    let mut matcher = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["match", "--bank", bank.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut matcher.stdin.take().unwrap(), &hashed.stdout).unwrap();
    let output = matcher.wait_with_output().unwrap();
    assert!(output.status.success());
    let rows = csv_rows(&stdout(&output));
    let pdq_rows: Vec<_> = rows.iter().filter(|r| r["signal_type"] == "pdq").collect();
    let matched: Vec<&str> = pdq_rows.iter().map(|r| r["query_id"].as_str()).collect();
    // Every edit of the bridge photo that PDQ is meant to survive is found, and the
    // unrelated picture is not.
    for copy in [
        "blur-a-little",
        "high-contrast",
        "sharpen-a-lot",
        "shrink-a-lot",
    ] {
        assert!(
            matched.iter().any(|m| m.contains(copy)),
            "{copy} not matched: {matched:?}"
        );
    }
    assert!(!matched.iter().any(|m| m.contains("c.png")));
    for row in &pdq_rows {
        let distance: u32 = row["distance"].parse().unwrap();
        assert!(distance <= 31);
        assert_eq!(row["bank"], "bridge");
        assert_eq!(row["category"], "test-category");
        assert!(row["label"].ends_with("aaa-orig.jpg"));
    }
    // The original itself also matches exactly by its digests.
    assert!(rows
        .iter()
        .any(|r| r["signal_type"] == "sha256" && r["query_id"].ends_with("aaa-orig.jpg")));

    // A hash that matches nothing: exit 1, as grep does, and only the header.
    let mut matcher = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args([
            "match",
            "--bank",
            bank.to_str().unwrap(),
            "--format",
            "jsonl",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(
        &mut matcher.stdin.take().unwrap(),
        b"0000000000000000000000000000000000000000000000000000000000000000\n",
    )
    .unwrap();
    let output = matcher.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
}

#[test]
fn rotated_and_flipped_copies_match_with_the_variant_named() {
    let dir = tempfile::tempdir().unwrap();
    let original = hash_list(
        dir.path(),
        "original.csv",
        &["reg-test-input/dih/bridge-1-original.jpg"],
    );
    let queries = dir.path().join("queries.csv");
    let output = vigie_in(
        &corpus(),
        &[
            "hash",
            "--format",
            "csv",
            "--dihedral",
            "reg-test-input/dih",
        ],
    );
    write(&queries, output.stdout);
    // The list itself as the bank, without building a file first.
    let output = vigie_in(
        dir.path(),
        &[
            "match",
            "--dihedral",
            "--bank",
            original.to_str().unwrap(),
            queries.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let rows = csv_rows(&stdout(&output));
    let variant_of = |name: &str| {
        rows.iter()
            .find(|r| r["query_id"].contains(name) && r["signal_type"] == "pdq")
            .map(|r| r["variant"].clone())
            .unwrap_or_else(|| panic!("{name} did not match: {rows:?}"))
    };
    assert_eq!(variant_of("bridge-1-original"), "orig");
    // Each rotated file matches the original through the variant that undoes its rotation.
    for name in [
        "bridge-2-rotate-90",
        "bridge-3-rotate-180",
        "bridge-4-rotate-270",
        "bridge-5-flipx",
        "bridge-6-flipy",
        "bridge-7-flip-plus-1",
        "bridge-8-flip-minus-1",
    ] {
        assert_ne!(variant_of(name), "orig", "{name}");
    }
}

/// Re-encodes an image as JPEG at this quality, optionally at half size.
fn reencode(source: &Path, quality: u8, half: bool) -> Vec<u8> {
    let image = image::open(source).unwrap().to_rgb8();
    let image = if half {
        image::imageops::resize(
            &image,
            image.width() / 2,
            image.height() / 2,
            image::imageops::FilterType::Triangle,
        )
    } else {
        image
    };
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(Cursor::new(&mut bytes), quality)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    bytes
}

/// A seized-disk-like tree: originals, re-encoded and resized copies, pictures the bank does
/// not hold, junk, an unreadable file and a symbolic link loop.
fn evidence_tree(root: &Path) {
    let labelme = corpus().join("reg-test-input/labelme-subset");
    std::fs::create_dir_all(root.join("DCIM/copies")).unwrap();
    std::fs::create_dir_all(root.join("Downloads")).unwrap();
    std::fs::copy(labelme.join("q0003.jpg"), root.join("DCIM/q0003.jpg")).unwrap();
    write(
        &root.join("DCIM/copies/pen-q60.jpg"),
        reencode(
            &corpus().join("reg-test-input/pen-and-coaster.png"),
            60,
            false,
        ),
    );
    write(
        &root.join("DCIM/copies/bridge-half.jpg"),
        reencode(&corpus().join("bridge-mods/aaa-orig.jpg"), 90, true),
    );
    std::fs::copy(
        labelme.join("q2821.jpg"),
        root.join("Downloads/new-q2821.jpg"),
    )
    .unwrap();
    std::fs::copy(
        corpus().join("misc-images/c.png"),
        root.join("Downloads/new-c.png"),
    )
    .unwrap();
    write(
        &root.join("Downloads/notes.txt"),
        "shopping list: bread, milk\n",
    );
    write(
        &root.join("Downloads/truncated.jpg"),
        &std::fs::read(labelme.join("q0746.jpg")).unwrap()[..2000],
    );
    std::os::unix::fs::symlink(root, root.join("DCIM/loop")).unwrap();
}

#[test]
fn a_scan_sorts_every_file_of_a_tree_into_known_and_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    evidence_tree(&evidence);
    // The bank holds the originals of three of the photos.
    let originals = hash_list(
        dir.path(),
        "originals.csv",
        &[
            "reg-test-input/labelme-subset/q0003.jpg",
            "reg-test-input/pen-and-coaster.png",
            "bridge-mods/aaa-orig.jpg",
        ],
    );
    let bank = dir.path().join("case.vidx");
    let output = vigie_in(
        dir.path(),
        &[
            "index",
            "build",
            "originals.csv",
            "-o",
            "case.vidx",
            "--category",
            "1",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    drop(originals);

    let mut reports = Vec::new();
    for name in ["scan.csv", "scan.json", "scan.vics.json", "scan.html"] {
        let output = vigie_in(
            dir.path(),
            &[
                "scan",
                "evidence",
                "--bank",
                bank.to_str().unwrap(),
                "-o",
                name,
            ],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(!dir.path().join(format!("{name}.checkpoint")).exists());
        reports.push(std::fs::read_to_string(dir.path().join(name)).unwrap());
    }

    let rows = csv_rows(&reports[0]);
    let status_of = |suffix: &str| {
        rows.iter()
            .find(|r| r["path"].ends_with(suffix))
            .map(|r| r["status"].clone())
            .unwrap_or_else(|| panic!("{suffix} missing from {rows:#?}"))
    };
    assert_eq!(status_of("DCIM/q0003.jpg"), "known");
    assert_eq!(status_of("pen-q60.jpg"), "known");
    assert_eq!(status_of("bridge-half.jpg"), "known");
    assert_eq!(status_of("new-q2821.jpg"), "unknown");
    assert_eq!(status_of("new-c.png"), "unknown");
    assert_eq!(status_of("notes.txt"), "unknown");
    assert_eq!(status_of("truncated.jpg"), "unknown");
    assert_eq!(status_of("DCIM/loop"), "unreadable");
    let row = |suffix: &str| rows.iter().find(|r| r["path"].ends_with(suffix)).unwrap();
    assert_eq!(
        row("DCIM/q0003.jpg")["signal_type"],
        "md5",
        "exact copy: by digest"
    );
    assert_eq!(row("pen-q60.jpg")["signal_type"], "pdq");
    assert_eq!(row("pen-q60.jpg")["category"], "1");
    assert!(
        row("truncated.jpg")["error"].contains("truncated"),
        "{:?}",
        row("truncated.jpg")
    );
    assert!(row("DCIM/loop")["error"].contains("loop"));
    // Unknown first, then known, then unreadable.
    let order: Vec<&str> = rows.iter().map(|r| r["status"].as_str()).collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|s| {
        ["unknown", "known", "unreadable"]
            .iter()
            .position(|x| x == s)
    });
    assert_eq!(order, sorted);

    let json: serde_json::Value = serde_json::from_str(&reports[1]).unwrap();
    assert_eq!(json["summary"]["known"], 3);
    assert_eq!(json["summary"]["unreadable"], 1);

    // The VICS report reads back as a list: every readable file, the known ones categorised.
    let mut media = Vec::new();
    vigie_bank::read_list(
        "scan.vics.json",
        reports[2].as_bytes(),
        vigie_bank::ListFormat::Vics,
        &vigie_bank::ImportOptions::default(),
        |entry| media.push(entry),
    )
    .unwrap();
    assert_eq!(media.len(), rows.len() - 1);
    assert_eq!(
        media
            .iter()
            .filter(|m| m.category.as_deref() == Some("1"))
            .count(),
        3
    );
    assert!(media
        .iter()
        .any(|m| m.files.iter().any(|f| f.ends_with("pen-q60.jpg"))));

    let html = &reports[3];
    assert!(html.contains("Unknown files (review first): 4"), "{html}");
    assert!(!html.contains("<img"), "the summary shows no pictures");
}

#[test]
fn an_interrupted_scan_resumes_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let evidence = dir.path().join("evidence");
    evidence_tree(&evidence);
    hash_list(
        dir.path(),
        "originals.csv",
        &["reg-test-input/labelme-subset/q0003.jpg"],
    );
    // A checkpoint as an interrupted run leaves it: its header, one file done (marked so that
    // we can tell it was not scanned again) and a line cut short by the crash.
    let header =
        r#"{"vigie_scan_checkpoint":1,"banks":["originals.csv"],"radius":null,"dihedral":false}"#;
    let done = r#"{"path":"evidence/Downloads/notes.txt","status":"known","pdq":null,"quality":null,"md5":"x","sha1":null,"sha256":null,"error":null,"matches":[{"bank":"from-the-checkpoint","label":"","category":null,"signal_type":"md5","distance":0}]}"#;
    write(
        &dir.path().join("scan.csv.checkpoint"),
        format!("{header}\n{done}\n{{\"path\":\"evidence/DCIM/q00"),
    );
    let output = vigie_in(
        dir.path(),
        &[
            "scan",
            "evidence",
            "--bank",
            "originals.csv",
            "-o",
            "scan.csv",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("resuming"), "{}", stderr(&output));
    let rows = csv_rows(&std::fs::read_to_string(dir.path().join("scan.csv")).unwrap());
    let notes: Vec<_> = rows
        .iter()
        .filter(|r| r["path"].ends_with("notes.txt"))
        .collect();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["bank"], "from-the-checkpoint");
    assert!(rows
        .iter()
        .any(|r| r["path"].ends_with("DCIM/q0003.jpg") && r["status"] == "known"));
    assert_eq!(rows.len(), 8);

    // A checkpoint of another scan is not mixed in.
    write(
        &dir.path().join("other.csv.checkpoint"),
        format!("{}\n", header.replace("originals.csv", "other.vidx")),
    );
    let output = vigie_in(
        dir.path(),
        &[
            "scan",
            "evidence",
            "--bank",
            "originals.csv",
            "-o",
            "other.csv",
        ],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("different scan"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_bank_exports_to_every_format_and_reads_back_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let hashed = hash_list(
        dir.path(),
        "hashed.csv",
        &[
            "bridge-mods/aaa-orig.jpg",
            "misc-images/c.png",
            "reg-test-input/pen-and-coaster.png",
        ],
    );
    let output = vigie_in(
        dir.path(),
        &[
            "index",
            "build",
            hashed.to_str().unwrap(),
            "-o",
            "bank.vidx",
            "--category",
            "2",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let export = |format: &str, bank: &str| {
        let output = vigie_in(dir.path(), &["index", "export", bank, "--format", format]);
        assert!(output.status.success(), "{format}: {}", stderr(&output));
        stdout(&output)
    };
    let original = export("csv", "bank.vidx");
    assert_eq!(csv_rows(&original).len(), 3);
    for (format, file) in [
        ("text", "round.txt"),
        ("vics", "round.json"),
        ("ncmec", "round.xml"),
    ] {
        write(&dir.path().join(file), export(format, "bank.vidx"));
        let output = vigie_in(
            dir.path(),
            &[
                "index",
                "build",
                file,
                "-o",
                "round.vidx",
                "--category",
                "2",
            ],
        );
        assert!(output.status.success(), "{format}: {}", stderr(&output));
        let rows = |text: &str| {
            let mut rows: Vec<_> = csv_rows(text)
                .into_iter()
                .map(|r| {
                    (
                        r["pdq"].clone(),
                        r["md5"].clone(),
                        r["sha1"].clone(),
                        r["sha256"].clone(),
                    )
                })
                .collect();
            rows.sort();
            rows
        };
        let round = export("csv", "round.vidx");
        if format == "text" {
            // A text list has one hash a line: the hashes come back, their grouping does not.
            let hashes = |text: &str| {
                let mut hashes: Vec<String> = rows(text)
                    .into_iter()
                    .flat_map(|(a, b, c, d)| [a, b, c, d])
                    .filter(|h| !h.is_empty())
                    .collect();
                hashes.sort();
                hashes
            };
            assert_eq!(hashes(&round), hashes(&original));
        } else {
            assert_eq!(rows(&round), rows(&original), "{format}");
        }
    }

    // A ThreatExchange `.te` file holds one signal type: a PDQ-only bank exports to it.
    write(
        &dir.path().join("pdq.txt"),
        "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22\n",
    );
    let output = vigie_in(dir.path(), &["index", "build", "pdq.txt", "-o", "pdq.vidx"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let te = export("threatexchange", "pdq.vidx");
    assert!(
        te.contains("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"),
        "{te}"
    );
}
