//! The takedown worker against a site on loopback: reported pages fetched and processed a
//! second (the page fetched, its media links extracted, each medium fetched, typed, hashed
//! with PDQ, MD5, SHA-1 and SHA-256, looked up in the banks, and the hashes recorded in a
//! SQLite store, with the job's bookkeeping), on seeded pages of one generated 256x192 JPEG
//! each. The worker claims 32 jobs at a time and runs them side by side.
//! `scripts/bench-takedown` runs it and prints the peak memory of the process as well.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::Path;
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use vigie_store::{Channel, NewReport, ReportedUrl, Store};

/// Pages reported, and processed, per measured batch.
const PAGES: usize = 400;

/// A benign generated picture: gradients and a checkerboard, seeded by `seed`.
fn picture(seed: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(256, 192, |x, y| {
        let check = ((x / 16 + y / 16 + seed) % 2) as u8 * 96;
        image::Rgb([
            (x as u8).wrapping_add(check),
            (y as u8).wrapping_mul(2),
            check,
        ])
    });
    let mut jpeg = Vec::new();
    image::DynamicImage::ImageRgb8(image)
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .expect("encoding the picture");
    jpeg
}

async fn site() -> String {
    let jpeg = Bytes::from(picture(1));
    let app = Router::new()
        .route(
            "/page/{n}",
            get(|Path(n): Path<u64>| async move {
                Html(format!(
                    "<!doctype html><html><head><title>Album {n}</title></head><body>\
                     <p>Holiday album {n}</p><img src=\"/media/{n}.jpg\" alt=\"\"></body></html>"
                ))
            }),
        )
        .route(
            "/media/{file}",
            get(move |Path(_): Path<String>| {
                let jpeg = jpeg.clone();
                async move { ([("content-type", "image/jpeg")], jpeg) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// Reports `count` new pages (20 URLs a report, the most a report takes).
async fn report_pages(store: &Store, base: &str, first: usize, count: usize) {
    let reports: Vec<NewReport> = (first..first + count)
        .collect::<Vec<_>>()
        .chunks(vigie_store::MAX_REPORT_ITEMS)
        .map(|pages| NewReport {
            channel: Channel::Public,
            api_key_id: None,
            idempotency_key: None,
            partner_reference: None,
            category: "other".into(),
            urgency: 0,
            description: String::new(),
            contact_email: None,
            language: "en".into(),
            submitted_by: None,
            urls: pages
                .iter()
                .map(|page| {
                    let url = format!("{base}/page/{page}");
                    ReportedUrl {
                        normalised: url.clone(),
                        url,
                    }
                })
                .collect(),
            attachments: Vec::new(),
        })
        .collect();
    for stored in store.submit_reports(&reports).await.unwrap() {
        stored.unwrap();
    }
}

fn pages(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let directory = tempfile::tempdir().unwrap();
    let database_url = format!(
        "sqlite:{}",
        directory.path().join("bench.sqlite3").display()
    );
    let (store, worker, base) = runtime.block_on(async {
        let mut config = vigie_server::Config::new("127.0.0.1:0".parse().unwrap(), &database_url);
        config.fetch_policy.allow_loopback = true;
        let store = Store::open(&database_url).await.unwrap();
        let country = vigie_hosting::Country::parse("FR").unwrap();
        let sender = vigie_notice::Sender {
            name: "Bench hotline".into(),
            email: "notices@hotline.example".into(),
            country: "FR".into(),
        };
        let mut settings = vigie_takedown::Settings::new("bench", country, sender);
        settings.batch = 32;
        let worker = vigie_server::StandaloneWorker::open(
            &config,
            settings,
            Arc::new(vigie_takedown::SystemClock),
        )
        .await
        .unwrap()
        .worker;
        (store, worker, site().await)
    });
    let mut reported = 0;
    let mut group = c.benchmark_group("takedown worker");
    group.throughput(Throughput::Elements(PAGES as u64));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("reported pages fetched and processed", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    report_pages(&store, &base, reported, PAGES).await;
                    reported += PAGES;
                    let started = Instant::now();
                    let mut processed = 0;
                    while processed < PAGES {
                        processed += worker.run_once().await.unwrap();
                    }
                    spent += started.elapsed();
                }
                spent
            })
        });
    });
    group.finish();
}

criterion_group!(benches, pages);
criterion_main!(benches);
