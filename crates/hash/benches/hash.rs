//! Hashing throughput on one thread: whole files (decode + PDQ), PDQ alone, and the digests.
//!
//! The photos are Meta's public PDQ test images from `../shared/corpus/pdq/`. The peers (HMA's
//! path: Pillow + pdqhash, and `threatexchange hash photo`) are measured on the same files, in the
//! same run, by `scripts/bench-hash`, which also gives the figures in BENCHMARKS.md. The
//! `corpus stages` group is the one that script reads: where the time goes on the whole corpus,
//! set beside the same stages of HMA's path.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vigie_hash::{
    decode, hash_image, pdq_hash, DecodeOptions, Digests, HashOptions, ImageHasher, PdqVariant,
};

fn corpus_dir() -> PathBuf {
    let shared = std::env::var_os("VIGIE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("corpus/pdq")
}

/// The files under `dir` (recursively) whose names end with one of `extensions`, sorted.
fn files_under(dir: &std::path::Path, extensions: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|entry| entry.unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
        .filter(|entry| entry.file_type().is_file())
        .map(|entry| entry.path().display().to_string())
        .filter(|name| extensions.iter().any(|extension| name.ends_with(extension)))
        .map(|name| {
            let bytes = std::fs::read(&name).unwrap();
            (name, bytes)
        })
        .collect();
    files.sort();
    files
}

fn corpus_photos() -> Vec<(String, Vec<u8>)> {
    files_under(
        &corpus_dir().join("reg-test-input/labelme-subset"),
        &[".jpg"],
    )
}

fn bench(c: &mut Criterion) {
    let photos = corpus_photos();
    let options = HashOptions::default();

    let mut group = c.benchmark_group("hash_image");
    group.throughput(Throughput::Elements(photos.len() as u64));
    group.bench_function("labelme photos, decode + pdq", |b| {
        b.iter(|| {
            for (_, bytes) in &photos {
                hash_image(bytes, &options).unwrap();
            }
        })
    });
    let dihedral = HashOptions {
        dihedral: true,
        ..options
    };
    group.bench_function("labelme photos, decode + 8 dihedral pdq", |b| {
        b.iter(|| {
            for (_, bytes) in &photos {
                hash_image(bytes, &dihedral).unwrap();
            }
        })
    });
    group.finish();

    let decoded: Vec<_> = photos
        .iter()
        .map(|(_, bytes)| decode(bytes, &DecodeOptions::default()).unwrap())
        .collect();
    let mut group = c.benchmark_group("stages");
    group.throughput(Throughput::Elements(photos.len() as u64));
    group.bench_function("decode only", |b| {
        b.iter(|| {
            for (_, bytes) in &photos {
                decode(bytes, &DecodeOptions::default()).unwrap();
            }
        })
    });
    group.bench_function("pdq only", |b| {
        b.iter(|| {
            for pixels in &decoded {
                pdq_hash(pixels, PdqVariant::Hma);
            }
        })
    });
    let total: usize = photos.iter().map(|(_, bytes)| bytes.len()).sum();
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("md5 + sha1 + sha256", |b| {
        b.iter(|| {
            for (_, bytes) in &photos {
                Digests::of(bytes);
            }
        })
    });
    group.finish();
}

/// Every image of the corpus (the files `scripts/bench-hash` gives both programs), stage by
/// stage, decoding as `vigie hash` does: one hasher whose pixel buffer goes from file to file.
fn corpus_stages(c: &mut Criterion) {
    let images = files_under(&corpus_dir(), &[".jpg", ".png", ".webp"]);
    let options = HashOptions::default();
    let decoded: Vec<_> = images
        .iter()
        .map(|(_, bytes)| decode(bytes, &options.decode).unwrap())
        .collect();
    let mut group = c.benchmark_group("corpus stages");
    group.sample_size(10);
    group.throughput(Throughput::Elements(images.len() as u64));
    let mut hasher = ImageHasher::new(options);
    group.bench_function("decode + pdq", |b| {
        b.iter(|| {
            for (_, bytes) in &images {
                hasher.hash(bytes).unwrap();
            }
        })
    });
    group.bench_function("pdq", |b| {
        b.iter(|| {
            for pixels in &decoded {
                pdq_hash(pixels, options.variant);
            }
        })
    });
    group.bench_function("md5 + sha1 + sha256", |b| {
        b.iter(|| {
            for (_, bytes) in &images {
                Digests::of(bytes);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench, corpus_stages);
criterion_main!(benches);
