//! What a hostile URL can try, against a real HTTP server on 127.0.0.1.
//!
//! The server is written on raw TCP so each test decides the exact bytes sent: chunked bodies,
//! bodies without any length, stalls halfway. It counts the connections it accepts, so "refused
//! before connecting" is checked, not assumed. Names resolve through an injected table, so a DNS
//! answer pointing inside is tested without a DNS server.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use vigie_fetch::{
    Addrs, Embedding, FetchError, Fetched, Fetcher, Forbidden, Name, Policy, Resolve, Resolving,
};

/// What the test server answers to one request.
#[derive(Clone)]
enum Reply {
    /// A response with a `Content-Length`.
    Full {
        status: u16,
        headers: Vec<(&'static str, String)>,
        body: Vec<u8>,
    },
    /// `Transfer-Encoding: chunked`, these chunks, no `Content-Length`.
    Chunked(Vec<Vec<u8>>),
    /// No length at all: the body ends when the connection closes.
    UntilClose(Vec<u8>),
    /// These bytes, then nothing, with the connection held open.
    ThenStall(Vec<u8>),
    /// A chunked body of one byte every 50 ms, forever.
    Drip,
}

fn ok(body: &str) -> Reply {
    Reply::Full {
        status: 200,
        headers: vec![("Content-Type", "text/plain; charset=utf-8".to_string())],
        body: body.as_bytes().to_vec(),
    }
}

fn redirect(status: u16, location: &str) -> Reply {
    Reply::Full {
        status,
        headers: vec![("Location", location.to_string())],
        body: Vec::new(),
    }
}

fn status(status: u16) -> Reply {
    Reply::Full {
        status,
        headers: Vec::new(),
        body: b"not here".to_vec(),
    }
}

/// A server on 127.0.0.1 answering each request's path with `answer`.
struct TestServer {
    address: SocketAddr,
    connections: Arc<AtomicUsize>,
}

impl TestServer {
    async fn start(answer: impl Fn(&str) -> Reply + Send + Sync + 'static) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding");
        let address = listener.local_addr().expect("the bound address");
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        let answer = Arc::new(answer);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                counted.fetch_add(1, Ordering::SeqCst);
                let answer = answer.clone();
                tokio::spawn(async move {
                    let _ = respond(stream, |path| answer(path)).await;
                });
            }
        });
        TestServer {
            address,
            connections,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn port(&self) -> u16 {
        self.address.port()
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

async fn respond(mut stream: TcpStream, answer: impl Fn(&str) -> Reply) -> std::io::Result<()> {
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
    match answer(&path) {
        Reply::Full {
            status,
            headers,
            body,
        } => {
            let mut head = format!("HTTP/1.1 {status} Test\r\nConnection: close\r\n");
            for (name, value) in headers {
                head.push_str(&format!("{name}: {value}\r\n"));
            }
            head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
            stream.write_all(head.as_bytes()).await?;
            stream.write_all(&body).await?;
        }
        Reply::Chunked(chunks) => {
            stream
                .write_all(
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n",
                )
                .await?;
            for chunk in chunks {
                stream
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await?;
                stream.write_all(&chunk).await?;
                stream.write_all(b"\r\n").await?;
            }
            stream.write_all(b"0\r\n\r\n").await?;
        }
        Reply::UntilClose(body) => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
                .await?;
            stream.write_all(&body).await?;
        }
        Reply::ThenStall(bytes) => {
            stream.write_all(&bytes).await?;
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Reply::Drip => {
            stream
                .write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                .await?;
            loop {
                stream.write_all(b"1\r\nx\r\n").await?;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    stream.shutdown().await
}

/// A resolver answering from a table, as a hostile DNS server would.
struct Hosts(HashMap<&'static str, Vec<IpAddr>>);

impl Hosts {
    fn new(entries: &[(&'static str, &[&str])]) -> Arc<Hosts> {
        let table = entries
            .iter()
            .map(|(name, addresses)| {
                let addresses = addresses
                    .iter()
                    .map(|address| address.parse().expect("an IP address"))
                    .collect();
                (*name, addresses)
            })
            .collect();
        Arc::new(Hosts(table))
    }
}

impl Resolve for Hosts {
    fn resolve(&self, name: Name) -> Resolving {
        let answer = self.0.get(name.as_str()).cloned();
        let name = name.as_str().to_string();
        Box::pin(async move {
            match answer {
                Some(addresses) => {
                    let addresses: Vec<SocketAddr> = addresses
                        .into_iter()
                        .map(|address| SocketAddr::new(address, 0))
                        .collect();
                    Ok(Box::new(addresses.into_iter()) as Addrs)
                }
                None => Err(format!("{name}: no such host in the test table").into()),
            }
        })
    }
}

fn production() -> Policy {
    Policy::default()
}

fn loopback_allowed() -> Policy {
    Policy {
        allow_loopback: true,
        ..Policy::default()
    }
}

fn fetcher(policy: Policy) -> Fetcher {
    // Every name a test uses is in the table: no test reaches a real DNS server.
    let hosts = Hosts::new(&[
        ("evil.test", &["10.1.2.3"]),
        ("loopback.test", &["127.0.0.1"]),
        ("metadata.test", &["169.254.169.254"]),
        ("inside.test", &["192.168.1.1"]),
        ("all-inside.test", &["10.0.0.1", "fd00::1"]),
        // Unfiltered, the mapped address would be tried first and would reach the server.
        ("mixed.test", &["::ffff:127.0.0.1", "127.0.0.1"]),
    ]);
    Fetcher::with_resolver(policy, hosts).expect("a fetcher")
}

#[track_caller]
fn expect_forbidden(result: Result<Fetched, FetchError>, address: &str, reason: Forbidden) {
    let address: IpAddr = address.parse().expect("an IP address");
    match result {
        Err(FetchError::Forbidden {
            address: refused,
            reason: why,
            ..
        }) => {
            assert_eq!(refused, address);
            assert_eq!(why, reason);
        }
        other => panic!("expected {address} forbidden as {reason}, got {other:?}"),
    }
}

#[track_caller]
fn expect_invalid(result: Result<Fetched, FetchError>, url: &str) {
    assert!(
        matches!(result, Err(FetchError::InvalidUrl { .. })),
        "{url}: expected InvalidUrl, got {result:?}"
    );
}

#[tokio::test]
async fn loopback_is_refused_unless_the_test_switch_is_on() {
    let server = TestServer::start(|_| ok("hello")).await;

    let refused = fetcher(production()).get(&server.url("/")).await;
    let error = refused.as_ref().expect_err("refused").to_string();
    assert!(error.contains("127.0.0.1"), "{error}");
    assert!(error.contains("loopback"), "{error}");
    expect_forbidden(refused, "127.0.0.1", Forbidden::Loopback);
    assert_eq!(server.connections(), 0, "refused before connecting");

    let fetched = fetcher(loopback_allowed())
        .get(&server.url("/"))
        .await
        .expect("fetched");
    assert_eq!(fetched.status, 200);
    assert_eq!(&fetched.body[..], b"hello");
    assert_eq!(
        fetched.content_type.as_deref(),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(fetched.address, Some(server.address));
    assert_eq!(fetched.url.as_str(), server.url("/"));
    assert!(fetched.redirects.is_empty());
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn odd_spellings_of_loopback_are_refused_before_connecting() {
    let server = TestServer::start(|_| ok("hello")).await;
    let port = server.port();
    let fetcher = fetcher(production());
    for url in [
        format!("http://2130706433:{port}/"),
        format!("http://0x7f000001:{port}/"),
        format!("http://0x7f.1:{port}/"),
        format!("http://127.1:{port}/"),
        format!("http://0177.0.0.1:{port}/"),
        format!("http://127.0.0.1.:{port}/"),
        format!("HTTP://127.000.000.001:{port}/"),
    ] {
        expect_forbidden(fetcher.get(&url).await, "127.0.0.1", Forbidden::Loopback);
    }
    expect_forbidden(
        fetcher.get(&format!("http://[::1]:{port}/")).await,
        "::1",
        Forbidden::Loopback,
    );
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn literal_inside_addresses_are_refused_even_with_loopback_allowed() {
    let server = TestServer::start(|_| ok("hello")).await;
    let port = server.port();
    let fetcher = fetcher(loopback_allowed());
    let mapped_loopback = Forbidden::Embedded {
        form: Embedding::Mapped,
        v4: "127.0.0.1".parse().expect("IPv4"),
    };
    expect_forbidden(
        fetcher
            .get(&format!("http://[::ffff:127.0.0.1]:{port}/"))
            .await,
        "::ffff:127.0.0.1",
        mapped_loopback,
    );
    let cases = [
        (
            "http://169.254.169.254/latest/meta-data",
            "169.254.169.254",
            Forbidden::CloudMetadata,
        ),
        (
            "http://[fd00:ec2::254]/",
            "fd00:ec2::254",
            Forbidden::CloudMetadata,
        ),
        ("http://10.0.0.1/", "10.0.0.1", Forbidden::Private),
        ("http://0xa000001/", "10.0.0.1", Forbidden::Private),
        (
            "http://192.168.1.1:8080/admin",
            "192.168.1.1",
            Forbidden::Private,
        ),
        ("https://172.16.0.1/", "172.16.0.1", Forbidden::Private),
        ("http://[fd00::1]/", "fd00::1", Forbidden::UniqueLocal),
        ("http://[fe80::1]/", "fe80::1", Forbidden::LinkLocal),
        ("http://0.0.0.0/", "0.0.0.0", Forbidden::Unspecified),
        ("http://0/", "0.0.0.0", Forbidden::Unspecified),
        ("http://[::]/", "::", Forbidden::Unspecified),
        (
            "http://100.64.0.1/",
            "100.64.0.1",
            Forbidden::CarrierGradeNat,
        ),
        (
            "http://255.255.255.255/",
            "255.255.255.255",
            Forbidden::Broadcast,
        ),
        ("http://224.0.0.1/", "224.0.0.1", Forbidden::Multicast),
    ];
    for (url, address, reason) in cases {
        expect_forbidden(fetcher.get(url).await, address, reason);
    }
    expect_forbidden(
        fetcher.get("http://[::ffff:10.0.0.1]/").await,
        "::ffff:10.0.0.1",
        Forbidden::Embedded {
            form: Embedding::Mapped,
            v4: "10.0.0.1".parse().expect("IPv4"),
        },
    );
    expect_forbidden(
        fetcher.get("http://[64:ff9b::a9fe:a9fe]/").await,
        "64:ff9b::169.254.169.254",
        Forbidden::Embedded {
            form: Embedding::Nat64,
            v4: "169.254.169.254".parse().expect("IPv4"),
        },
    );
    assert_eq!(server.connections(), 0);
}

#[tokio::test]
async fn a_name_resolving_inside_is_refused_naming_host_address_and_reason() {
    let fetcher = fetcher(production());
    let result = fetcher.get("http://evil.test/").await;
    let message = result.as_ref().expect_err("refused").to_string();
    for part in ["evil.test", "10.1.2.3", "private (RFC 1918)"] {
        assert!(message.contains(part), "{message} should name {part}");
    }
    match &result {
        Err(FetchError::Forbidden { host, .. }) => assert_eq!(host, "evil.test"),
        other => panic!("{other:?}"),
    }
    expect_forbidden(result, "10.1.2.3", Forbidden::Private);

    expect_forbidden(
        fetcher.get("http://loopback.test:8080/").await,
        "127.0.0.1",
        Forbidden::Loopback,
    );
    expect_forbidden(
        fetcher.get("https://metadata.test/latest/meta-data").await,
        "169.254.169.254",
        Forbidden::CloudMetadata,
    );

    // Every refused answer is named, not only the first.
    match fetcher.get("http://all-inside.test/").await {
        Err(error @ FetchError::Forbidden { .. }) => {
            let message = error.to_string();
            assert!(message.contains("10.0.0.1"), "{message}");
            assert!(message.contains("fd00::1"), "{message}");
            assert!(message.contains("unique local"), "{message}");
        }
        other => panic!("expected forbidden, got {other:?}"),
    }
}

#[tokio::test]
async fn the_system_resolver_is_guarded_too() {
    // `localhost` resolves from the hosts file, without a DNS server.
    let result = Fetcher::new(production())
        .expect("a fetcher")
        .get("http://localhost:9/")
        .await;
    match result {
        Err(FetchError::Forbidden {
            host,
            reason: Forbidden::Loopback,
            ..
        }) => assert_eq!(host, "localhost"),
        other => panic!("expected localhost forbidden as loopback, got {other:?}"),
    }
}

#[tokio::test]
async fn only_vetted_answers_are_connected_to() {
    let server = TestServer::start(|_| ok("hello")).await;
    let fetched = fetcher(loopback_allowed())
        .get(&format!("http://mixed.test:{}/", server.port()))
        .await
        .expect("fetched through the allowed answer");
    assert_eq!(fetched.address, Some(server.address));
    assert_eq!(&fetched.body[..], b"hello");
}

#[tokio::test]
async fn an_unknown_name_is_not_found_naming_it() {
    match fetcher(production()).get("http://nowhere.test/").await {
        Err(FetchError::NameNotFound { host, reason }) => {
            assert_eq!(host, "nowhere.test");
            assert!(!reason.is_empty());
        }
        other => panic!("expected the name not found, got {other:?}"),
    }
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let result = fetcher(loopback_allowed())
        .get(&format!("http://{address}/"))
        .await;
    assert!(
        matches!(result, Err(FetchError::Unreachable { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn redirects_inside_are_refused() {
    let server = TestServer::start(move |path| match path {
        "/metadata" => redirect(302, "http://169.254.169.254/latest/meta-data"),
        "/private" => redirect(301, "http://10.0.0.1/"),
        "/mapped" => redirect(307, "http://[::ffff:10.0.0.1]/"),
        "/name" => redirect(308, "http://inside.test/"),
        "/decimal" => redirect(303, "http://167772161/"),
        "/final" => ok("the end"),
        _ => status(404),
    })
    .await;
    let port = server.port();
    let fetcher = fetcher(loopback_allowed());
    expect_forbidden(
        fetcher.get(&server.url("/metadata")).await,
        "169.254.169.254",
        Forbidden::CloudMetadata,
    );
    expect_forbidden(
        fetcher.get(&server.url("/private")).await,
        "10.0.0.1",
        Forbidden::Private,
    );
    expect_forbidden(
        fetcher.get(&server.url("/mapped")).await,
        "::ffff:10.0.0.1",
        Forbidden::Embedded {
            form: Embedding::Mapped,
            v4: "10.0.0.1".parse().expect("IPv4"),
        },
    );
    expect_forbidden(
        fetcher.get(&server.url("/name")).await,
        "192.168.1.1",
        Forbidden::Private,
    );
    expect_forbidden(
        fetcher.get(&server.url("/decimal")).await,
        "10.0.0.1",
        Forbidden::Private,
    );
    assert_eq!(
        server.connections(),
        5,
        "one connection per redirecting hop"
    );

    // Loopback allowed for the test lets a redirect to the server itself through, and only that.
    let redirecting = TestServer::start(move |path| match path {
        "/mapped-loopback" => redirect(302, &format!("http://[::ffff:127.0.0.1]:{port}/final")),
        "/to-server" => redirect(302, &format!("http://127.0.0.1:{port}/final")),
        _ => status(404),
    })
    .await;
    expect_forbidden(
        fetcher.get(&redirecting.url("/mapped-loopback")).await,
        "::ffff:127.0.0.1",
        Forbidden::Embedded {
            form: Embedding::Mapped,
            v4: "127.0.0.1".parse().expect("IPv4"),
        },
    );
    let fetched = fetcher
        .get(&redirecting.url("/to-server"))
        .await
        .expect("followed");
    assert_eq!(&fetched.body[..], b"the end");
    assert_eq!(fetched.url.as_str(), server.url("/final"));
    assert_eq!(fetched.redirects.len(), 1);
    assert_eq!(fetched.redirects[0].as_str(), redirecting.url("/to-server"));
}

#[tokio::test]
async fn redirects_to_other_schemes_or_with_credentials_are_refused() {
    let server = TestServer::start(|path| match path {
        "/file" => redirect(302, "file:///etc/passwd"),
        "/gopher" => redirect(302, "gopher://127.0.0.1:6379/_FLUSHALL"),
        "/credentials" => redirect(302, "http://admin:admin@example.test/"),
        "/garbage" => redirect(302, "http://[::1"),
        _ => status(404),
    })
    .await;
    let fetcher = fetcher(loopback_allowed());
    for path in ["/file", "/gopher", "/credentials", "/garbage"] {
        let url = server.url(path);
        expect_invalid(fetcher.get(&url).await, &url);
    }
}

#[tokio::test]
async fn redirects_are_followed_up_to_the_limit_and_no_further() {
    // `/chain/N` redirects to `/chain/N-1` (a relative Location); `/chain/0` answers.
    let server = TestServer::start(|path| match path.strip_prefix("/chain/") {
        Some("0") => ok("arrived"),
        Some(n) => match n.parse::<u32>() {
            Ok(n) => redirect(302, &format!("{}", n - 1)),
            Err(_) => status(400),
        },
        None if path == "/loop" => redirect(302, "/loop"),
        None => status(404),
    })
    .await;
    let fetcher = fetcher(loopback_allowed());
    assert_eq!(fetcher.policy().max_redirects, 5);

    let fetched = fetcher
        .get(&server.url("/chain/5"))
        .await
        .expect("five redirects are within the limit");
    assert_eq!(&fetched.body[..], b"arrived");
    assert_eq!(fetched.url.as_str(), server.url("/chain/0"));
    let hops: Vec<String> = fetched
        .redirects
        .iter()
        .map(|url| url.to_string())
        .collect();
    let expected: Vec<String> = (1..=5)
        .rev()
        .map(|n| server.url(&format!("/chain/{n}")))
        .collect();
    assert_eq!(hops, expected);

    let six = fetcher.get(&server.url("/chain/6")).await;
    assert!(
        matches!(six, Err(FetchError::TooManyRedirects { limit: 5 })),
        "{six:?}"
    );
    let looping = fetcher.get(&server.url("/loop")).await;
    assert!(
        matches!(looping, Err(FetchError::TooManyRedirects { limit: 5 })),
        "{looping:?}"
    );
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused_however_they_are_framed() {
    const LIMIT: u64 = 1000;
    let server = TestServer::start(|path| {
        let bytes = |n: usize| vec![b'a'; n];
        match path {
            "/length-at-limit" => Reply::Full {
                status: 200,
                headers: Vec::new(),
                body: bytes(1000),
            },
            "/length-over" => Reply::Full {
                status: 200,
                headers: Vec::new(),
                body: bytes(1001),
            },
            "/chunked-at-limit" => Reply::Chunked(
                vec![bytes(400); 2]
                    .into_iter()
                    .chain([bytes(200)])
                    .collect(),
            ),
            "/chunked-over" => Reply::Chunked(vec![bytes(400); 3]),
            "/close-at-limit" => Reply::UntilClose(bytes(1000)),
            "/close-over" => Reply::UntilClose(bytes(5000)),
            // Announces a huge body and sends nothing: refused on the header alone.
            "/announced-huge" => Reply::ThenStall(
                b"HTTP/1.1 200 OK\r\nContent-Length: 100000000000\r\n\r\n".to_vec(),
            ),
            _ => status(404),
        }
    })
    .await;
    let fetcher = fetcher(Policy {
        max_body_bytes: LIMIT,
        ..loopback_allowed()
    });
    for path in ["/length-at-limit", "/chunked-at-limit", "/close-at-limit"] {
        let fetched = fetcher.get(&server.url(path)).await.expect(path);
        assert_eq!(fetched.body.len(), 1000, "{path}");
    }
    for path in [
        "/length-over",
        "/chunked-over",
        "/close-over",
        "/announced-huge",
    ] {
        let result = fetcher.get(&server.url(path)).await;
        assert!(
            matches!(result, Err(FetchError::TooLarge { limit: LIMIT })),
            "{path}: {result:?}"
        );
    }
}

#[tokio::test]
async fn a_stalling_server_times_out_within_the_bound() {
    let server = TestServer::start(|path| match path {
        "/silent" => Reply::ThenStall(Vec::new()),
        "/half-body" => {
            Reply::ThenStall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b".to_vec())
        }
        "/drip" => Reply::Drip,
        "/redirect-then-silent" => redirect(302, "/silent"),
        _ => status(404),
    })
    .await;
    let bound = Duration::from_millis(500);
    let fetcher = fetcher(Policy {
        total_timeout: bound,
        ..loopback_allowed()
    });
    for path in ["/silent", "/half-body", "/drip", "/redirect-then-silent"] {
        let started = Instant::now();
        let result = fetcher.get(&server.url(path)).await;
        let took = started.elapsed();
        assert!(
            matches!(result, Err(FetchError::TimedOut { after }) if after == bound),
            "{path}: {result:?}"
        );
        // Generous: the point is that the limit holds, not how precisely.
        assert!(took < Duration::from_secs(5), "{path} took {took:?}");
        assert!(took >= bound, "{path} gave up early, after {took:?}");
    }
}

#[tokio::test]
async fn other_schemes_credentials_and_malformed_urls_are_refused() {
    let fetcher = fetcher(loopback_allowed());
    let long = format!("http://example.test/{}", "a".repeat(9000));
    let urls = [
        "file:///etc/passwd",
        "ftp://example.test/",
        "gopher://127.0.0.1:6379/_INFO",
        "data:text/plain,hello",
        "javascript:alert(1)",
        "ws://example.test/",
        "dict://127.0.0.1:11211/stat",
        "http://user:pass@example.test/",
        "http://user@example.test/",
        "http://:pass@example.test/",
        "https://example.test@10.0.0.1/",
        "",
        "not a url",
        "http://",
        "http://[::1",
        "http://exa mple.test/",
        long.as_str(),
    ];
    for url in urls {
        expect_invalid(fetcher.get(url).await, url);
    }
}

#[tokio::test]
async fn a_missing_page_is_a_response_not_an_error() {
    let server = TestServer::start(|path| match path {
        "/gone" => status(410),
        _ => status(404),
    })
    .await;
    let fetcher = fetcher(loopback_allowed());
    let fetched = fetcher
        .get(&server.url("/removed.jpg"))
        .await
        .expect("a 404 is a response");
    assert_eq!(fetched.status, 404);
    assert_eq!(&fetched.body[..], b"not here");
    let fetched = fetcher.get(&server.url("/gone")).await.expect("a 410 too");
    assert_eq!(fetched.status, 410);
}

#[tokio::test]
async fn no_input_panics() {
    let fetcher = fetcher(production());
    let inputs = [
        "http://[",
        "http://%00/",
        "http://\u{0}/",
        "http://ü.test/",
        "http://xn--/",
        "http://a..b/",
        "http://999999999999/",
        "http://1.2.3.4.5/",
        "http://[::ffff:999.0.0.1]/",
        "http://[fe80::1%25eth0]/",
        "http:////////",
        "http://:80/",
        "http://example.test:99999/",
        "https://\u{202e}moc.test/",
    ];
    for input in inputs {
        // Any error will do; reaching the end without a panic is the test.
        let _ = fetcher.get(input).await;
    }
}
