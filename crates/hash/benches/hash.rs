//! Hashing throughput on one thread: whole files (decode + PDQ), PDQ alone, and the digests.
//!
//! The photos are Meta's public PDQ test images from `../shared/corpus/pdq/`. The peers (HMA's
//! path: Pillow + pdqhash, and `threatexchange hash photo`) are measured on the same files, in the
//! same run, by `scripts/bench-hash`, which also gives the figures in BENCHMARKS.md.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vigie_hash::{decode, hash_image, pdq_hash, DecodeOptions, Digests, HashOptions, PdqVariant};

fn corpus_photos() -> Vec<(String, Vec<u8>)> {
    let shared = std::env::var_os("VIGIE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let dir = shared.join("corpus/pdq/reg-test-input/labelme-subset");
    let mut photos: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect();
    photos.sort();
    photos
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

criterion_group!(benches, bench);
criterion_main!(benches);
