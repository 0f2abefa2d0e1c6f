//! The takedown worker: turns a reported URL into removal, and measures it.
//!
//! A worker takes jobs from the store's queue (`vigie-store`'s `jobs`), any number of workers
//! sharing one store, and does four kinds of work:
//!
//! - **page**: a newly reported URL is fetched through the guarded client, the media of the
//!   page are hashed and looked up in the banks. What it served is recorded by its hashes (the
//!   bytes are not kept). Known material resolves the item with no human view, and its
//!   takedown opens by itself.
//! - **locate**: a takedown's URL is fetched again, its address located in the imported
//!   reference data (network, country), the recipients chosen by the decision and the routing
//!   rule, and the first notices asked for, with the first re-check a day later.
//! - **notice**: one notice to one recipient, by e-mail and by signed webhook as the
//!   directory gives, each recorded once under its key: never the same notice twice.
//! - **recheck**: the URL fetched again; gone (ICCAM removed, unavailable, moved) closes the
//!   takedown, still there repeats the notice to the host, and after `escalate_after`
//!   re-checks the takedown is escalated to law enforcement (or the partner hotline).
//!
//! The worker reads the time from a [`Clock`], so tests make days pass in milliseconds.
//!
//! **Architecture invariant:** the worker decides; the store keeps (`vigie-store`), the
//! fetcher fetches (`vigie-fetch`, the only client), the notice crate writes and sends
//! (`vigie-notice`). What it recognises it asks of a [`Recognise`], which the server implements
//! over its banks' index: this crate knows nothing of HTTP serving or of the index.

mod clock;
mod outcome;
mod reference;
mod report;
mod worker;

pub use clock::{Clock, ManualClock, SystemClock};
pub use outcome::{judge, Judgement, Observed, ServedMedium, SAME_MEDIUM_DISTANCE};
pub use reference::{check_reference, CheckedReference, HostingData, ReferenceKind};
pub use report::{removal_row, transparency_input};
pub use worker::{Settings, Worker};

use std::future::Future;

use bytes::Bytes;
use vigie_store::MediaHashes;

/// Hashes media and looks them up in the banks. The server implements it over its index.
pub trait Recognise: Send + Sync + 'static {
    fn recognise(&self, bytes: Bytes) -> impl Future<Output = Result<MediaHashes, String>> + Send;
}

/// Why the worker could not do what it was asked; a failed job is retried with back-off.
#[derive(Debug, thiserror::Error)]
pub enum TakedownError {
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] vigie_store::StoreError),
    /// Reference data cannot be read.
    #[error("{kind} reference data: {reason}")]
    InvalidReference { kind: &'static str, reason: String },
    /// A job's payload is not what its kind takes: a bug, or a job from a newer version.
    #[error("job {id}: {reason}")]
    InvalidJob { id: i64, reason: String },
    /// A notice could not be written or delivered.
    #[error("notice: {0}")]
    Notice(#[from] vigie_notice::NoticeError),
    /// A webhook did not take a notice.
    #[error("webhook {url}: {reason}")]
    Webhook { url: String, reason: String },
}
