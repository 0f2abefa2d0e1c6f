//! The layering rules of `ARCHITECTURE.md`, kept by reading `cargo metadata`, so that a
//! dependency added against them fails a test instead of waiting for a reviewer to notice.
//!
//! Only the dependencies a crate is built with count (normal and build ones, not dev ones):
//! what a crate's own tests use reaches no crate that depends on it.

use std::process::Command;

use serde_json::Value;

/// The crates that compute and touch nothing else; the rest of Vigie is built on them.
const PURE_CRATES: [&str; 7] = [
    "vigie-hash",
    "vigie-index",
    "vigie-bank",
    "vigie-hotline",
    "vigie-hosting",
    "vigie-vault",
    "vigie-figures",
];

/// Crates built on a pure crate (so not pure themselves) that still do no I/O: what they
/// compute is shown to people or stored by others. vigie-media makes analysts' blurred
/// thumbnails from vigie-hash's decoder.
const IO_FREE_CRATES: [&str; 1] = ["vigie-media"];

/// Networking, async runtimes and databases: the business of the server and the store.
const IO_CRATES: [&str; 7] = [
    "axum", "hyper", "tokio", "sqlx", "reqwest", "rusqlite", "postgres",
];

/// The one package allowed `anyhow`.
const BINARY: &str = "vigie";

/// A workspace package and the names of the packages it is built with.
struct Package {
    name: String,
    dependencies: Vec<String>,
}

fn workspace_packages() -> Vec<Package> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .arg("--manifest-path")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml"))
        .output()
        .expect("running cargo metadata");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let text = |value: &Value| {
        value
            .as_str()
            .expect("a string in the metadata")
            .to_string()
    };
    let packages = metadata["packages"]
        .as_array()
        .expect("the metadata lists packages");
    packages
        .iter()
        .map(|package| Package {
            name: text(&package["name"]),
            dependencies: package["dependencies"]
                .as_array()
                .expect("each package lists its dependencies")
                .iter()
                .filter(|dependency| dependency["kind"].as_str() != Some("dev"))
                // `name` is the package depended on, whatever the dependency is renamed to.
                .map(|dependency| text(&dependency["name"]))
                .collect(),
        })
        .collect()
}

/// The pure crates among the packages; a missing one would make the checks pass vacuously.
fn pure_packages(packages: &[Package]) -> Vec<&Package> {
    named_packages(packages, &PURE_CRATES, "PURE_CRATES")
}

/// The packages of `names` (the list called `list`), each required to be in the workspace.
fn named_packages<'a>(packages: &'a [Package], names: &[&str], list: &str) -> Vec<&'a Package> {
    names
        .iter()
        .map(|&name| {
            packages
                .iter()
                .find(|package| package.name == name)
                .unwrap_or_else(|| panic!("{name} is not in the workspace: update {list}"))
        })
        .collect()
}

/// Fails with every broken rule at once, so one run shows all there is to fix.
fn assert_none_broken(broken: Vec<String>) {
    assert!(broken.is_empty(), "\n{}", broken.join("\n"));
}

#[test]
fn pure_crates_depend_on_no_other_workspace_crate() {
    let packages = workspace_packages();
    let mut broken = Vec::new();
    for package in pure_packages(&packages) {
        for dependency in &package.dependencies {
            if packages.iter().any(|p| &p.name == dependency) {
                broken.push(format!(
                    "{} depends on the workspace crate {dependency}: the pure crates are \
                     independent, so each builds, is tested and is reused alone (searching \
                     hashes must not need an image decoder, nor reading a list an index).",
                    package.name
                ));
            }
        }
    }
    assert_none_broken(broken);
}

#[test]
fn pure_and_io_free_crates_do_no_networking_async_or_databases() {
    let packages = workspace_packages();
    let mut broken = Vec::new();
    let io_free = named_packages(&packages, &IO_FREE_CRATES, "IO_FREE_CRATES");
    for package in pure_packages(&packages).into_iter().chain(io_free) {
        for dependency in &package.dependencies {
            if IO_CRATES.contains(&dependency.as_str()) {
                broken.push(format!(
                    "{} depends on {dependency}: the pure and I/O-free crates do no I/O beyond \
                     the bytes they are given, which keeps them deterministic, fuzzable and \
                     usable in any program, so networks, runtimes and databases stay in the \
                     server and store crates.",
                    package.name
                ));
            }
        }
    }
    assert_none_broken(broken);
}

#[test]
fn anyhow_is_only_in_the_binary() {
    let packages = workspace_packages();
    let broken = packages
        .iter()
        .filter(|package| package.name != BINARY)
        .filter(|package| package.dependencies.iter().any(|d| d == "anyhow"))
        .map(|package| {
            format!(
                "{} depends on anyhow: libraries return typed errors (a thiserror enum) that \
                 callers can match on, and only the {BINARY} binary turns them into messages.",
                package.name
            )
        })
        .collect();
    assert_none_broken(broken);
}

/// Serving HTTP: the business of the server crate alone. (vigie-fetch speaks HTTP too, as the
/// one client, through reqwest; `only_vigie_fetch_makes_http_requests` keeps that side.)
const HTTP_CRATES: [&str; 3] = ["axum", "hyper", "tower"];

#[test]
fn only_the_server_knows_http() {
    let packages = workspace_packages();
    assert!(
        packages.iter().any(|p| p.name == "vigie-server"),
        "vigie-server is not in the workspace: update this test"
    );
    let broken = packages
        .iter()
        .filter(|package| package.name != "vigie-server")
        .flat_map(|package| {
            package
                .dependencies
                .iter()
                .filter(|d| HTTP_CRATES.contains(&d.as_str()))
                .map(move |d| {
                    format!(
                        "{} depends on {d}: only vigie-server serves HTTP, so that the store, \
                         the index and the hashing stay usable by the commands and testable \
                         without a web stack.",
                        package.name
                    )
                })
        })
        .collect();
    assert_none_broken(broken);
}

/// HTTP clients: every outbound request goes through vigie-fetch, whose resolver and redirect
/// checks keep a hostile URL from reaching inside the network.
const HTTP_CLIENT_CRATES: [&str; 6] = ["reqwest", "ureq", "isahc", "curl", "surf", "attohttpc"];

#[test]
fn only_vigie_fetch_makes_http_requests() {
    let packages = workspace_packages();
    assert!(
        packages.iter().any(|p| p.name == "vigie-fetch"),
        "vigie-fetch is not in the workspace: update this test"
    );
    let broken = packages
        .iter()
        .filter(|package| package.name != "vigie-fetch")
        .flat_map(|package| {
            package
                .dependencies
                .iter()
                .filter(|d| HTTP_CLIENT_CRATES.contains(&d.as_str()))
                .map(move |d| {
                    format!(
                        "{} depends on {d}: every URL the project fetches is hostile input and \
                         goes through vigie-fetch, which refuses loopback, private and metadata \
                         addresses at resolution and on every redirect; depend on vigie-fetch \
                         instead.",
                        package.name
                    )
                })
        })
        .collect();
    assert_none_broken(broken);
}
