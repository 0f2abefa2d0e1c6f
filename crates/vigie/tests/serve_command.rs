//! `vigie serve` as an operator runs it: the real binary on the embedded store, its first-run
//! line, JSON logs, and a graceful stop on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

/// `GET path` over a plain socket: the response's status line and body.
fn get(address: &str, path: &str) -> (String, String) {
    let mut stream = TcpStream::connect(address).expect("the server accepts connections");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.lines().next().unwrap_or_default().to_string();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The server process, killed if the test ends before stopping it.
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[cfg(unix)]
#[test]
fn serve_logs_json_prints_the_setup_link_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stderr(Stdio::piped())
        .spawn()
        .expect("vigie serve starts");
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut server = Stopped(server);
    let mut lines = Vec::new();
    let mut address = None;
    let mut setup_link = None;
    while address.is_none() || setup_link.is_none() {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "vigie serve ended early: {lines:?}"
        );
        if let Some(base) = line.trim().strip_prefix("vigie: serving on http://") {
            address = Some(base.to_string());
        }
        if line.contains("/setup?token=") {
            setup_link = Some(line.clone());
        }
        lines.push(line);
    }
    let address = address.unwrap();
    assert!(setup_link.unwrap().contains(&address));
    let logged: Vec<serde_json::Value> = lines
        .iter()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect();
    let serving = logged
        .iter()
        .find(|event| event["fields"]["message"] == "serving")
        .unwrap_or_else(|| panic!("a JSON log line saying so: {lines:?}"));
    assert_eq!(serving["level"], "INFO");
    assert_eq!(serving["fields"]["address"], address.as_str());

    let (status, body) = get(&address, "/status");
    assert!(status.contains("200"), "{status}");
    assert_eq!(body, "I-AM-ALIVE");
    let (status, _) = get(&address, "/c/banks");
    assert!(
        status.contains("401"),
        "nothing is open by default: {status}"
    );

    let stopped = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let exit = server.0.wait().unwrap();
    assert!(exit.success(), "{exit}: {rest}");
    assert!(rest.contains("vigie: stopped"), "{rest}");
    // The store was created where the operator said.
    assert!(dir.path().join("data/vigie.sqlite3").exists());
}
