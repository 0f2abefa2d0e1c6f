//! Criterion benchmarks of the index on seeded data, one thread: the scan kernels, one query
//! at a time, and a batch by each strategy (the crossover sets `MULTI_INDEX_FACTOR`).
//! `scripts/bench-index` compares with faiss in the same run at 1M and 10M entries.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use vigie_index::{BatchStrategy, Hash256, Kernel, PdqIndex};

fn random_hashes(rng: &mut SmallRng, n: usize) -> Vec<Hash256> {
    (0..n).map(|_| Hash256(rng.gen())).collect()
}

/// Half the queries near a stored hash (0-40 bits flipped), half random.
fn queries(rng: &mut SmallRng, stored: &[Hash256], n: usize) -> Vec<Hash256> {
    (0..n)
        .map(|i| {
            if i % 2 == 1 {
                return Hash256(rng.gen());
            }
            let mut hash = stored[rng.gen_range(0..stored.len())];
            for _ in 0..rng.gen_range(0..=40) {
                let bit = rng.gen_range(0..256);
                hash.0[bit / 64] ^= 1 << (bit % 64);
            }
            hash
        })
        .collect()
}

fn kernels(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(1);
    let stored = random_hashes(&mut rng, 100_000);
    let query = Hash256(rng.gen());
    let mut group = c.benchmark_group("kernel: one query against 100k hashes in cache");
    group.throughput(Throughput::Elements(stored.len() as u64));
    for kernel in Kernel::available() {
        let index = PdqIndex::from_entries(stored.iter().enumerate().map(|(i, h)| (i as u64, *h)))
            .with_kernel(kernel);
        group.bench_function(kernel.name(), |b| b.iter(|| index.range(&query, 31)));
    }
    group.finish();
}

fn batches(c: &mut Criterion) {
    let mut rng = SmallRng::seed_from_u64(2);
    let stored = random_hashes(&mut rng, 1_000_000);
    let index = PdqIndex::from_entries(stored.iter().enumerate().map(|(i, h)| (i as u64, *h)));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let mut group = c.benchmark_group("batch at radius 31, 1M hashes, one thread");
    group.sample_size(10);
    for size in [256usize, 1024, 4096] {
        let batch = queries(&mut rng, &stored, size);
        group.throughput(Throughput::Elements(size as u64));
        for strategy in [BatchStrategy::Flat, BatchStrategy::MultiIndex] {
            group.bench_with_input(
                BenchmarkId::new(format!("{strategy:?}"), size),
                &batch,
                |b, batch| b.iter(|| pool.install(|| index.range_batch_with(batch, 31, strategy))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, kernels, batches);
criterion_main!(benches);
