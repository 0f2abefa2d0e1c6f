//! A signed webhook notice leaves by `Fetcher::post`, here to a receiver on 127.0.0.1 (an axum
//! router, as a host's abuse desk might run one). What arrives is checked on the receiver's
//! side; a redirect is answered, never followed; inside addresses are refused without the test
//! setting; the answer's size and the exchange's time are bounded like a GET's.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use vigie_fetch::{Addrs, FetchError, Fetcher, Forbidden, Name, Policy, Resolve, Resolving};

/// One POST the receiver got: its path, headers and body.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// A receiver on 127.0.0.1 recording every request it gets.
struct Receiver {
    address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Answers POSTs to `/hook` with `answer` and to `/elsewhere`, where the redirects point,
    /// with 200; records every request either way.
    async fn start<F, R>(answer: impl Fn() -> F + Clone + Send + Sync + 'static) -> Receiver
    where
        F: Future<Output = R> + Send + 'static,
        R: IntoResponse + 'static,
    {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let record = |path: &'static str| {
            let received = received.clone();
            move |headers: HeaderMap, body: Bytes| {
                received.lock().unwrap().push(Received {
                    path: path.to_string(),
                    headers,
                    body,
                });
            }
        };
        let (hook, elsewhere) = (record("/hook"), record("/elsewhere"));
        let router = Router::new()
            .route(
                "/hook",
                post(move |headers: HeaderMap, body: Bytes| {
                    hook(headers, body);
                    answer()
                }),
            )
            .route(
                "/elsewhere",
                post(move |headers: HeaderMap, body: Bytes| async move {
                    elsewhere(headers, body);
                    "thanks"
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding");
        let address = listener.local_addr().expect("the bound address");
        tokio::spawn(async move { axum::serve(listener, router).await });
        Receiver { address, received }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

fn fetcher(policy: Policy) -> Fetcher {
    Fetcher::new(policy).expect("a fetcher")
}

fn loopback_allowed() -> Policy {
    Policy {
        allow_loopback: true,
        ..Policy::default()
    }
}

/// A signed notice as the takedown worker sends one (benign content: the test names no
/// material, only a made-up item).
fn notice() -> (Vec<(&'static str, String)>, Bytes) {
    let headers = vec![
        ("Content-Type", "application/json".to_string()),
        ("Vigie-Signature", "t=1764547200,v1=00ff".to_string()),
        ("Idempotency-Key", "notice-42-1".to_string()),
    ];
    let body =
        Bytes::from_static(br#"{"notice":"notice-42-1","urls":["https://host.example/item"]}"#);
    (headers, body)
}

#[tokio::test]
async fn the_body_and_headers_arrive_and_the_answer_comes_back() {
    let receiver = Receiver::start(|| async { (StatusCode::ACCEPTED, "queued") }).await;
    let (headers, body) = notice();
    let fetched = fetcher(loopback_allowed())
        .post(&receiver.url("/hook"), &headers, body.clone())
        .await
        .expect("an answer");
    assert_eq!(fetched.status, 202);
    assert_eq!(&fetched.body[..], b"queued");
    assert!(fetched.redirects.is_empty());

    let received = receiver.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let request = &received[0];
    assert_eq!(request.path, "/hook");
    assert_eq!(request.body, body);
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.headers["vigie-signature"], "t=1764547200,v1=00ff");
    assert_eq!(request.headers["idempotency-key"], "notice-42-1");
    assert_eq!(
        request.headers["content-length"],
        body.len().to_string().as_str()
    );
}

#[tokio::test]
async fn a_redirect_is_answered_and_never_followed() {
    for status in [301u16, 302, 303, 307, 308] {
        let receiver = Receiver::start(move || async move {
            (
                StatusCode::from_u16(status).unwrap(),
                [("location", "/elsewhere")],
                "moved",
            )
        })
        .await;
        let (headers, body) = notice();
        let fetched = fetcher(loopback_allowed())
            .post(&receiver.url("/hook"), &headers, body)
            .await
            .expect("the redirect is the answer");
        assert_eq!(fetched.status, status);
        assert_eq!(fetched.url.as_str(), receiver.url("/hook"));
        assert!(fetched.redirects.is_empty());
        let paths: Vec<String> = receiver.received().into_iter().map(|r| r.path).collect();
        assert_eq!(
            paths,
            ["/hook"],
            "after a {status}, the notice went to {paths:?}"
        );
    }
}

/// Resolves names from a fixed table, so a name can point inside without a DNS server.
#[derive(Debug)]
struct Table(HashMap<&'static str, IpAddr>);

impl Resolve for Table {
    fn resolve(&self, name: Name) -> Resolving {
        let found = self.0.get(name.as_str()).copied();
        Box::pin(async move {
            let address = found.ok_or("unknown name")?;
            Ok(Box::new(std::iter::once(SocketAddr::new(address, 0))) as Addrs)
        })
    }
}

#[tokio::test]
async fn inside_addresses_are_refused_before_anything_is_sent() {
    let receiver = Receiver::start(|| async { "ok" }).await;
    let (headers, body) = notice();

    // Loopback, without the test setting: refused, nothing received.
    let refused = fetcher(Policy::default())
        .post(&receiver.url("/hook"), &headers, body.clone())
        .await
        .expect_err("loopback is refused in production");
    assert!(
        matches!(
            refused,
            FetchError::Forbidden {
                reason: Forbidden::Loopback,
                ..
            }
        ),
        "{refused}"
    );

    // A private address stays refused with the test setting, written as an address...
    let private = fetcher(loopback_allowed())
        .post("http://10.0.0.7/hook", &headers, body.clone())
        .await
        .expect_err("a private address is refused");
    assert!(
        matches!(
            private,
            FetchError::Forbidden {
                reason: Forbidden::Private,
                ..
            }
        ),
        "{private}"
    );

    // ... or as a name the resolver answers with one.
    let table = Table(HashMap::from([(
        "hooks.example",
        IpAddr::from([169, 254, 169, 254]),
    )]));
    let named = Fetcher::with_resolver(loopback_allowed(), Arc::new(table))
        .expect("a fetcher")
        .post("http://hooks.example/hook", &headers, body)
        .await
        .expect_err("a name resolving inside is refused");
    assert!(
        matches!(named, FetchError::Forbidden { ref host, .. } if host == "hooks.example"),
        "{named}"
    );
    assert!(receiver.received().is_empty());
}

#[tokio::test]
async fn the_answer_is_bounded_in_size_and_the_exchange_in_time() {
    let large = Receiver::start(|| async { vec![b'x'; 64 * 1024] }).await;
    let (headers, body) = notice();
    let small = fetcher(Policy {
        max_body_bytes: 1024,
        ..loopback_allowed()
    });
    let too_large = small
        .post(&large.url("/hook"), &headers, body.clone())
        .await
        .expect_err("a 64 KiB answer is over 1 KiB");
    assert!(
        matches!(too_large, FetchError::TooLarge { limit: 1024 }),
        "{too_large}"
    );

    let slow = Receiver::start(|| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        "late"
    })
    .await;
    let hurried = fetcher(Policy {
        total_timeout: Duration::from_millis(300),
        ..loopback_allowed()
    });
    let timed_out = hurried
        .post(&slow.url("/hook"), &headers, body)
        .await
        .expect_err("the receiver takes 30 s");
    assert!(
        matches!(timed_out, FetchError::TimedOut { .. }),
        "{timed_out}"
    );
}

#[tokio::test]
async fn a_header_that_cannot_be_sent_is_an_error_before_connecting() {
    let receiver = Receiver::start(|| async { "ok" }).await;
    let fetcher = fetcher(loopback_allowed());
    let smuggling = [("X-Note", "a\r\nX-Injected: yes".to_string())];
    let bad_name = [("Bad Name", "value".to_string())];
    for headers in [&smuggling[..], &bad_name[..]] {
        let error = fetcher
            .post(&receiver.url("/hook"), headers, Bytes::from_static(b"{}"))
            .await
            .expect_err("the header is refused");
        assert!(matches!(error, FetchError::InvalidHeader { .. }), "{error}");
    }
    assert!(receiver.received().is_empty());
}
