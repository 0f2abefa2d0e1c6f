//! The Rust side of `scripts/bench-index`: loads hashes and queries written by the script (raw
//! 32-byte hashes, the same files faiss reads), builds the index, answers the queries, and
//! prints one JSON object of timings. Per-query match counts go to a file so that the script
//! can check recall against faiss's exact flat index.
//!
//! Usage: bench_peers HASHES QUERIES RADIUS THREADS COUNTS_OUT SNAPSHOT_PATH [--batch-only]
//! (`--batch-only`, for 100M entries: no flat batch, 20 single queries).

use std::time::Instant;

use vigie_index::{BatchStrategy, Hash256, PdqIndex, SignalIndex};

fn read_hashes(path: &str) -> Vec<Hash256> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes
        .chunks_exact(32)
        .map(|chunk| Hash256::from_bytes(chunk.try_into().unwrap()))
        .collect()
}

fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (batch_only, args) = match args.split_last() {
        Some((last, rest)) if last == "--batch-only" => (true, rest),
        _ => (false, &args[..]),
    };
    let [_, hashes, queries, radius, threads, counts_out, snapshot] = args else {
        panic!("usage: bench_peers HASHES QUERIES RADIUS THREADS COUNTS_OUT SNAPSHOT_PATH [--batch-only]");
    };
    let radius: u32 = radius.parse().unwrap();
    let threads: usize = threads.parse().unwrap();
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .unwrap();
    let hashes = read_hashes(hashes);
    let queries = read_hashes(queries);
    let rss_before = peak_rss_bytes();

    let start = Instant::now();
    let index = PdqIndex::from_entries(hashes.iter().enumerate().map(|(i, h)| (i as u64, *h)));
    let build_s = start.elapsed().as_secs_f64();
    drop(hashes);

    let start = Instant::now();
    let answers = index.range_batch(&queries, radius);
    let batch_s = start.elapsed().as_secs_f64();

    let start = Instant::now();
    let flat_s = if batch_only {
        f64::NAN
    } else {
        let flat = index.range_batch_with(&queries, radius, BatchStrategy::Flat);
        assert_eq!(flat, answers, "the two batch strategies disagree");
        start.elapsed().as_secs_f64()
    };

    // One query at a time, as a server answering single lookups would without batching.
    let singles = queries.len().min(if batch_only { 20 } else { 200 });
    let start = Instant::now();
    for query in &queries[..singles] {
        std::hint::black_box(index.range(query, radius));
    }
    let single_s = start.elapsed().as_secs_f64();

    // One query at a time through lookup tables over the stored hashes, as a server would.
    let (tables_s, tables_single_s, tables_memory) = if batch_only {
        (f64::NAN, f64::NAN, 0)
    } else {
        let start = Instant::now();
        let with_tables = index.clone().with_lookup_tables();
        let tables_s = start.elapsed().as_secs_f64();
        let start = Instant::now();
        for (query, expected) in queries.iter().zip(&answers) {
            assert_eq!(
                &with_tables.range(query, radius),
                expected,
                "lookup tables disagree"
            );
        }
        (
            tables_s,
            start.elapsed().as_secs_f64(),
            with_tables.memory_bytes(),
        )
    };

    let counts: Vec<String> = answers.iter().map(|a| a.len().to_string()).collect();
    std::fs::write(counts_out, counts.join("\n")).unwrap();

    let signals = SignalIndex {
        pdq: index,
        ..SignalIndex::default()
    };
    let start = Instant::now();
    signals.save(snapshot.as_ref(), b"").unwrap();
    let save_s = start.elapsed().as_secs_f64();
    let memory_bytes = signals.pdq.memory_bytes();
    drop(signals);
    let start = Instant::now();
    let loaded = SignalIndex::load(snapshot.as_ref()).unwrap();
    let load_s = start.elapsed().as_secs_f64();
    std::hint::black_box(loaded.index.pdq.range(&queries[0], radius));

    // NaN marks what `--batch-only` did not measure; JSON has no NaN.
    let json_number = |x: f64| {
        if x.is_nan() {
            "null".to_string()
        } else {
            x.to_string()
        }
    };
    let (flat_s, tables_s, tables_single_s) = (
        json_number(flat_s),
        json_number(tables_s),
        json_number(tables_single_s),
    );
    println!(
        "{{\"build_s\":{build_s},\"batch_s\":{batch_s},\"flat_s\":{flat_s},\"single_s\":{single_s},\"singles\":{singles},\"tables_s\":{tables_s},\"tables_single_s\":{tables_single_s},\"tables_memory_bytes\":{tables_memory},\"save_s\":{save_s},\"load_s\":{load_s},\"memory_bytes\":{memory_bytes},\"rss_growth_bytes\":{},\"kernel\":\"{}\",\"matches\":{}}}",
        peak_rss_bytes().saturating_sub(rss_before),
        vigie_index::Kernel::detect().name(),
        answers.iter().map(Vec::len).sum::<usize>(),
    );
}
