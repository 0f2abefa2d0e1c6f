//! What Vigie's users do with the store, told once and run on both databases.
//!
//! Each story is an async function taking a [`support::TestDb`]; `on_both_databases!` turns it
//! into a test on a fresh SQLite file and one on a fresh PostgreSQL database, so the two
//! dialects are held to the same behaviour.

#[macro_use]
mod support;

mod accounts;
mod audit;
mod banks;
mod contents;
mod import;
mod intake;
mod jobs;
mod listen;
mod triage;
