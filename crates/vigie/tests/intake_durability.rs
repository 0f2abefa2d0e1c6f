//! A report is on disk before any 2xx: the real `vigie serve` on the embedded store is killed
//! with SIGKILL several times while other threads post partner reports, and after each restart
//! on the same data directory every receipt that was acknowledged is there.

#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many times the server is killed.
const KILLS: usize = 4;

/// Threads posting reports, so that requests are in flight when the kill comes.
const POSTERS: usize = 4;

/// Reports acknowledged in a round before the kill.
const ACKNOWLEDGED_PER_ROUND: usize = 100;

/// One HTTP/1.1 request on its own connection: the status and the body, or the I/O error a
/// killed server leaves (a refused or reset connection, a cut response).
fn request(
    address: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<(u16, String, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "a cut response"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no status"))?;
    // A response is whole only when its body is as long as it says.
    let length: Option<usize> = head.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())?
    });
    if length.is_some_and(|length| length != body.len()) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "a cut body",
        ));
    }
    Ok((status, head.to_string(), body.to_string()))
}

/// A running `vigie serve`, killed if the test ends early.
struct Serving {
    child: Child,
    address: String,
    setup_token: Option<String>,
    _stderr: std::thread::JoinHandle<()>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server on the data directory and waits until it says where it listens (and,
/// on the first start, the setup link it prints next).
fn serve(data_dir: &Path) -> Serving {
    let first_start = !data_dir.exists();
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(data_dir)
        .stderr(Stdio::piped())
        .spawn()
        .expect("vigie serve starts");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut address = None;
    let mut setup_token = None;
    let mut lines = Vec::new();
    while address.is_none() || (first_start && setup_token.is_none()) {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "vigie serve ended early: {lines:?}"
        );
        if let Some(base) = line.trim().strip_prefix("vigie: serving on http://") {
            address = Some(base.to_string());
        }
        if let Some((_, rest)) = line.split_once("/setup?token=") {
            setup_token = Some(rest.split_whitespace().next().unwrap().to_string());
        }
        lines.push(line);
    }
    Serving {
        child,
        address: address.unwrap(),
        setup_token,
        _stderr: drain(stderr),
    }
}

/// Keeps reading the server's standard error so that it never blocks on a full pipe.
fn drain(mut stderr: BufReader<ChildStderr>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut sink = Vec::new();
        let _ = stderr.read_to_end(&mut sink);
    })
}

/// Creates the first administrator and a partner key with the `report` scope.
fn partner_key(server: &Serving) -> String {
    let token = server
        .setup_token
        .clone()
        .expect("a first run's setup link");
    let form = format!("token={token}&name=admin&password=a+long+enough+password");
    let (status, head, _) = request(
        &server.address,
        "POST",
        "/setup",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    )
    .unwrap();
    assert_eq!(status, 201);
    let cookie = head
        .lines()
        .filter_map(|line| line.strip_prefix("set-cookie: "))
        .find(|cookie| cookie.starts_with("vigie_session="))
        .expect("a session cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let (status, _, body) = request(
        &server.address,
        "POST",
        "/admin/api_keys",
        &[("Content-Type", "application/json"), ("Cookie", &cookie)],
        r#"{"name": "durability", "operations": ["report"]}"#,
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    created["key"].as_str().unwrap().to_string()
}

#[test]
fn acknowledged_reports_survive_sigkill() {
    let directory = tempfile::tempdir().unwrap();
    let data_dir = directory.path().join("data");
    let mut server = serve(&data_dir);
    // The first start made the vault's key, readable by its owner only.
    let keys = std::fs::metadata(data_dir.join("vault.keys")).expect("vault.keys was written");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&keys.permissions()) & 0o777,
        0o600
    );
    let key = partner_key(&server);
    let authorization = format!("Bearer {key}");
    let acknowledged: Arc<Mutex<Vec<String>>> = Arc::default();
    let sequence = Arc::new(AtomicUsize::new(0));

    for round in 0..KILLS {
        let stop = Arc::new(AtomicBool::new(false));
        let posters: Vec<_> = (0..POSTERS)
            .map(|_| {
                let (address, authorization) = (server.address.clone(), authorization.clone());
                let (acknowledged, sequence, stop) =
                    (acknowledged.clone(), sequence.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let n = sequence.fetch_add(1, Ordering::Relaxed);
                        let body = format!(
                            r#"{{"urls": ["https://durability.example/{n}"], "category": "csam"}}"#
                        );
                        let headers = [
                            ("Content-Type", "application/json"),
                            ("Authorization", authorization.as_str()),
                        ];
                        match request(&address, "POST", "/api/v1/reports", &headers, &body) {
                            Ok((201, _, body)) => {
                                let answer: serde_json::Value =
                                    serde_json::from_str(&body).expect("a whole JSON answer");
                                let receipt = answer["receipt"].as_str().unwrap().to_string();
                                acknowledged.lock().unwrap().push(receipt);
                            }
                            Ok((status, _, body)) => panic!("{status}: {body}"),
                            // The server was killed under this request: not acknowledged.
                            Err(_) => break,
                        }
                    }
                })
            })
            .collect();
        // Kill once this round has had its share of acknowledgements, with posts in flight.
        let wanted = (round + 1) * ACKNOWLEDGED_PER_ROUND;
        while acknowledged.lock().unwrap().len() < wanted {
            std::thread::sleep(Duration::from_millis(5));
        }
        let killed = Command::new("kill")
            .args(["-KILL", &server.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        server.child.wait().unwrap();
        stop.store(true, Ordering::Relaxed);
        for poster in posters {
            poster.join().expect("a poster thread");
        }

        server = serve(&data_dir);
        assert!(server.setup_token.is_none(), "the store kept its accounts");
        let receipts = acknowledged.lock().unwrap().clone();
        for receipt in &receipts {
            let (status, _, body) = request(
                &server.address,
                "GET",
                &format!("/api/v1/reports/{receipt}"),
                &[("Authorization", authorization.as_str())],
                "",
            )
            .unwrap();
            assert_eq!(
                status, 200,
                "round {round}: acknowledged {receipt} is lost: {body}"
            );
        }
    }
}
