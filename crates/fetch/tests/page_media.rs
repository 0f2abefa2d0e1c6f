//! A hotline fetches a reported page and the media on it, from a test site on 127.0.0.1.
//!
//! The site serves benign images from `../shared/corpus/pdq/` (beside the checkout, or at
//! `$VIGIE_SHARED`). Loopback is allowed for the test and nothing else is: a page linking to a
//! private address gets that link refused, before any connection, while the others succeed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vigie_fetch::{BodyKind, FetchError, Fetcher, Forbidden, Policy};

fn corpus() -> PathBuf {
    let shared = std::env::var_os("VIGIE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    shared.join("corpus/pdq")
}

fn image(path: &str) -> Vec<u8> {
    let path = corpus().join(path);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "reading {}: {e} (is ../shared beside the checkout?)",
            path.display()
        )
    })
}

/// One response of the test site.
#[derive(Clone)]
struct Page {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn serve(content_type: &str, body: Vec<u8>) -> Page {
    Page {
        status: 200,
        headers: vec![("Content-Type", content_type.to_string())],
        body,
    }
}

/// A site on 127.0.0.1 serving fixed paths, counting the requests for each and how many were
/// being answered at once at most. Each answer waits `delay` first.
struct Site {
    address: SocketAddr,
    requests: Arc<Mutex<HashMap<String, usize>>>,
    most_at_once: Arc<AtomicUsize>,
}

impl Site {
    async fn start(pages: HashMap<String, Page>, delay: Duration) -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
        let address = listener.local_addr().expect("the bound address");
        let requests = Arc::new(Mutex::new(HashMap::new()));
        let most_at_once = Arc::new(AtomicUsize::new(0));
        let at_once = Arc::new(AtomicUsize::new(0));
        let pages = Arc::new(pages);
        let (counted, most) = (requests.clone(), most_at_once.clone());
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (pages, counted, most, at_once) = (
                    pages.clone(),
                    counted.clone(),
                    most.clone(),
                    at_once.clone(),
                );
                tokio::spawn(async move {
                    let now = at_once.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let _ = respond(stream, &pages, &counted, delay).await;
                    at_once.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Site {
            address,
            requests,
            most_at_once,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn requests(&self, path: &str) -> usize {
        self.requests
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

async fn respond(
    mut stream: TcpStream,
    pages: &HashMap<String, Page>,
    counted: &Mutex<HashMap<String, usize>>,
    delay: Duration,
) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
        let read = stream.read(&mut buffer).await?;
        if read == 0 || request.len() > 64 * 1024 {
            return Ok(());
        }
        request.extend_from_slice(&buffer[..read]);
    }
    let request = String::from_utf8_lossy(&request);
    let path = request.split(' ').nth(1).unwrap_or("/").to_string();
    *counted.lock().unwrap().entry(path.clone()).or_default() += 1;
    tokio::time::sleep(delay).await;
    let page = pages.get(&path).cloned().unwrap_or(Page {
        status: 404,
        headers: vec![("Content-Type", "text/html".to_string())],
        body: b"<html><body><img src=\"/logo.png\">not here</body></html>".to_vec(),
    });
    let mut head = format!("HTTP/1.1 {} Test\r\nConnection: close\r\n", page.status);
    for (name, value) in page.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", page.body.len()));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&page.body).await?;
    stream.shutdown().await
}

fn fetcher() -> Fetcher {
    Fetcher::new(Policy {
        allow_loopback: true,
        total_timeout: Duration::from_secs(10),
        ..Policy::default()
    })
    .expect("a fetcher")
}

/// The site of a report: a page with three corpus images (one of them behind a redirect, one
/// named twice), a link into a private network and one to an image that is gone.
fn reported_site() -> HashMap<String, Page> {
    let page = r#"<!DOCTYPE html>
<html><head><title>Holiday pictures</title>
<meta property="og:image" content="/images/small.jpg">
</head><body>
<h1>Holiday pictures</h1>
<img src="images/small.jpg" alt="a small picture">
<img src="/images/wee.jpg" srcset="/r/labelme 2x">
<img src="http://10.0.0.1/x.jpg">
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<a href="/gone.png">an older one</a>
<a href="/about.html">about us</a>
<script>document.write('<img src="/from-script.jpg">')</script>
</body></html>"#;
    HashMap::from([
        (
            "/report.html".to_string(),
            // No Content-Type: the page is recognised by its bytes.
            Page {
                status: 200,
                headers: Vec::new(),
                body: page.as_bytes().to_vec(),
            },
        ),
        (
            "/images/small.jpg".to_string(),
            serve("image/jpeg", image("misc-images/small.jpg")),
        ),
        (
            "/images/wee.jpg".to_string(),
            serve("image/jpeg", image("misc-images/wee.jpg")),
        ),
        (
            "/r/labelme".to_string(),
            Page {
                status: 302,
                headers: vec![("Location", "/images/q0003.jpg".to_string())],
                body: Vec::new(),
            },
        ),
        (
            "/images/q0003.jpg".to_string(),
            // Served with the wrong type: what counts is what the bytes are.
            serve(
                "text/html",
                image("reg-test-input/labelme-subset/q0003.jpg"),
            ),
        ),
    ])
}

#[tokio::test]
async fn a_reported_page_gives_its_images_and_a_link_inside_is_refused_alone() {
    let site = Site::start(reported_site(), Duration::ZERO).await;
    let result = fetcher()
        .fetch_page_media(&site.url("/report.html"), 20)
        .await
        .expect("the page is fetched");
    assert_eq!(result.kind, BodyKind::Html);
    assert_eq!(result.page.status, 200);

    let found: Vec<(String, &str)> = result
        .media
        .iter()
        .map(|media| (media.link.url.to_string(), media.link.found_in))
        .collect();
    assert_eq!(
        found,
        [
            (site.url("/images/small.jpg"), "og:image"),
            (site.url("/images/wee.jpg"), "img"),
            (site.url("/r/labelme"), "srcset"),
            ("http://10.0.0.1/x.jpg".to_string(), "img"),
            (site.url("/gone.png"), "anchor"),
        ]
    );

    // The three images arrive as the corpus has them, the redirect followed and recorded.
    let expected = [
        "misc-images/small.jpg",
        "misc-images/wee.jpg",
        "reg-test-input/labelme-subset/q0003.jpg",
    ];
    for (media, file) in result.media.iter().zip(expected) {
        let fetched = media.result.as_ref().expect("an image");
        assert_eq!(fetched.status, 200, "{file}");
        assert_eq!(fetched.body.as_ref(), image(file).as_slice(), "{file}");
    }
    let redirected = result.media[2].result.as_ref().unwrap();
    assert_eq!(redirected.url.as_str(), site.url("/images/q0003.jpg"));
    assert_eq!(redirected.redirects[0].as_str(), site.url("/r/labelme"));

    // The link into a private network is refused, naming the address and why, and only it.
    match &result.media[3].result {
        Err(FetchError::Forbidden {
            address, reason, ..
        }) => {
            assert_eq!(address.to_string(), "10.0.0.1");
            assert_eq!(*reason, Forbidden::Private);
        }
        other => panic!("expected the private address refused, got {other:?}"),
    }
    // A media link that is gone is an answer, not an error: the re-check needs to see it.
    assert_eq!(result.media[4].result.as_ref().unwrap().status, 404);

    // Each link was fetched once, the duplicate not again, and nothing the page only
    // mentions in script or in a non-media link.
    assert_eq!(site.requests("/report.html"), 1);
    assert_eq!(site.requests("/images/small.jpg"), 1);
    assert_eq!(site.requests("/images/q0003.jpg"), 1);
    assert_eq!(site.requests("/from-script.jpg"), 0);
    assert_eq!(site.requests("/about.html"), 0);
}

#[tokio::test]
async fn the_limit_bounds_the_media_fetched() {
    let site = Site::start(reported_site(), Duration::ZERO).await;
    let result = fetcher()
        .fetch_page_media(&site.url("/report.html"), 2)
        .await
        .unwrap();
    assert_eq!(result.media.len(), 2);
    assert_eq!(site.requests("/r/labelme"), 0);
    assert_eq!(site.requests("/gone.png"), 0);
}

#[tokio::test]
async fn an_image_reported_directly_is_its_own_one_media() {
    let site = Site::start(reported_site(), Duration::ZERO).await;
    let result = fetcher()
        .fetch_page_media(&site.url("/r/labelme"), 20)
        .await
        .unwrap();
    assert_eq!(result.kind, BodyKind::Media);
    assert_eq!(result.media.len(), 1);
    assert_eq!(result.media[0].link.found_in, "page");
    assert_eq!(
        result.media[0].link.url.as_str(),
        site.url("/images/q0003.jpg")
    );
    let body = &result.media[0].result.as_ref().unwrap().body;
    assert_eq!(
        body.as_ref(),
        image("reg-test-input/labelme-subset/q0003.jpg").as_slice()
    );
    assert_eq!(site.requests("/images/q0003.jpg"), 1, "not fetched twice");
}

#[tokio::test]
async fn a_missing_page_is_an_answer_whose_media_are_not_fetched() {
    let site = Site::start(reported_site(), Duration::ZERO).await;
    let result = fetcher()
        .fetch_page_media(&site.url("/removed.html"), 20)
        .await
        .unwrap();
    assert_eq!(result.page.status, 404);
    assert_eq!(result.kind, BodyKind::Html);
    assert!(result.media.is_empty());
    assert_eq!(
        site.requests("/logo.png"),
        0,
        "the error page's logo is not fetched"
    );
}

#[tokio::test]
async fn a_page_that_cannot_be_fetched_is_the_error() {
    let error = fetcher()
        .fetch_page_media("http://192.168.1.1/report.html", 20)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::Forbidden {
                reason: Forbidden::Private,
                ..
            }
        ),
        "{error}"
    );
}

#[tokio::test]
async fn media_are_fetched_a_few_at_a_time() {
    let mut pages = HashMap::new();
    let mut html = String::from("<!doctype html><body>");
    for i in 0..12 {
        html.push_str(&format!("<img src=\"/{i}.jpg\">"));
        pages.insert(
            format!("/{i}.jpg"),
            serve("image/jpeg", image("misc-images/small.jpg")),
        );
    }
    pages.insert(
        "/many.html".to_string(),
        serve("text/html", html.into_bytes()),
    );
    let site = Site::start(pages, Duration::from_millis(50)).await;
    let result = fetcher()
        .fetch_page_media(&site.url("/many.html"), 100)
        .await
        .unwrap();
    assert_eq!(result.media.len(), 12);
    for (i, media) in result.media.iter().enumerate() {
        assert_eq!(media.link.url.path(), format!("/{i}.jpg"), "in page order");
        assert_eq!(media.result.as_ref().unwrap().status, 200);
    }
    let most = site.most_at_once.load(Ordering::SeqCst);
    assert!(
        (2..=vigie_fetch::MEDIA_CONCURRENCY).contains(&most),
        "{most} at once"
    );
}
