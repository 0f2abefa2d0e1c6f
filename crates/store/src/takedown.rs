//! Takedown: what reported pages served, where reported content is hosted, the notices sent
//! about it and the re-checks that follow until it is gone.
//!
//! A takedown is opened for a URL item in the same transaction as the decision that asks for
//! it (an analyst's `notice_to_host`, `partner_hotline` or `law_enforcement`, or the bank
//! match of what the page served), with its first job (`locate`) asked for in that transaction
//! too: a decided item never lacks its takedown, and a takedown never lacks a worker's
//! attention. The store keeps what the takedown worker found and did; what to do next is the
//! worker's business (`vigie-takedown`).
//!
//! Every step a worker records is audited with the item as target (`item:ID`), so an item's
//! timeline tells its takedown as well as its triage.

use serde::Serialize;

// What `dispatch!` names, in scope where it expands.
use crate::{on_postgres, on_sqlite, Pools};
use crate::{KnownMatch, MediaHashes, NewAuditEntry, NewJob, Store, StoreError};

/// The job kind that fetches a newly reported URL and hashes what it serves.
pub const PAGE_JOB: &str = "page";
/// The job kind that locates a takedown's host and sends the first notices.
pub const LOCATE_JOB: &str = "locate";
/// The job kind that sends one notice to one recipient.
pub const NOTICE_JOB: &str = "notice";
/// The job kind that fetches a takedown's URL again to see whether its content is gone.
pub const RECHECK_JOB: &str = "recheck";

/// How many times a takedown job is tried before it is left failed for an operator.
pub const TAKEDOWN_JOB_ATTEMPTS: i64 = 8;

/// The job that fetches a newly reported URL item's page and hashes what it serves.
pub(crate) fn page_job(item_id: i64, now: i64) -> NewJob {
    takedown_job(
        PAGE_JOB,
        format!("page:item-{item_id}"),
        serde_json::json!({ "item_id": item_id }),
        now,
    )
}

/// The job that locates a takedown's host and sends its first notices.
pub(crate) fn locate_job(takedown_id: i64, now: i64) -> NewJob {
    takedown_job(
        LOCATE_JOB,
        format!("locate:takedown-{takedown_id}"),
        serde_json::json!({ "takedown_id": takedown_id }),
        now,
    )
}

/// A job of the takedown worker's, due at `run_at`.
pub fn takedown_job(
    kind: &str,
    dedup_key: String,
    payload: serde_json::Value,
    run_at: i64,
) -> NewJob {
    NewJob {
        kind: kind.to_owned(),
        dedup_key,
        payload: payload.to_string(),
        run_at,
        max_attempts: TAKEDOWN_JOB_ATTEMPTS,
    }
}

/// Where a takedown stands. The closed states are the ICCAM actions that end one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TakedownState {
    /// Opened; no worker has fetched the URL and found its host yet.
    Locating,
    /// Notices go out and re-checks follow.
    Open,
    /// The content is gone (404 or 410, or the page no longer serves the media).
    Removed,
    /// The site is gone (its name no longer resolves).
    Unavailable,
    /// The URL now sends elsewhere (a redirect to another host).
    Moved,
}

impl TakedownState {
    pub const ALL: [TakedownState; 5] = [
        TakedownState::Locating,
        TakedownState::Open,
        TakedownState::Removed,
        TakedownState::Unavailable,
        TakedownState::Moved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TakedownState::Locating => "locating",
            TakedownState::Open => "open",
            TakedownState::Removed => "removed",
            TakedownState::Unavailable => "unavailable",
            TakedownState::Moved => "moved",
        }
    }

    /// Whether the takedown is over.
    pub fn is_closed(self) -> bool {
        !matches!(self, TakedownState::Locating | TakedownState::Open)
    }
}

impl TryFrom<String> for TakedownState {
    type Error = StoreError;

    fn try_from(text: String) -> Result<Self, StoreError> {
        TakedownState::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| StoreError::Invalid(format!("unknown takedown state '{text}'")))
    }
}

/// What one fetch of a takedown's URL found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckOutcome {
    /// The content is still served.
    Online,
    /// No answer worth acting on (a timeout, a 5xx, a refused connection): tried again at the
    /// next check, and no notice is repeated on it.
    Unreachable,
    Removed,
    Unavailable,
    Moved,
}

impl CheckOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckOutcome::Online => "online",
            CheckOutcome::Unreachable => "unreachable",
            CheckOutcome::Removed => "removed",
            CheckOutcome::Unavailable => "unavailable",
            CheckOutcome::Moved => "moved",
        }
    }

    /// The state this outcome closes a takedown in, if it closes it.
    pub fn closes_as(self) -> Option<TakedownState> {
        match self {
            CheckOutcome::Online | CheckOutcome::Unreachable => None,
            CheckOutcome::Removed => Some(TakedownState::Removed),
            CheckOutcome::Unavailable => Some(TakedownState::Unavailable),
            CheckOutcome::Moved => Some(TakedownState::Moved),
        }
    }
}

/// A takedown as stored, with what of its item the worker needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Takedown {
    pub id: i64,
    pub item_id: i64,
    pub url: String,
    pub host: String,
    pub decision: String,
    #[sqlx(try_from = "String")]
    pub state: TakedownState,
    pub address: Option<String>,
    pub asn: Option<i64>,
    pub network: Option<String>,
    pub country: Option<String>,
    /// Comma-separated: `host`, `partner_hotline`, `law_enforcement`.
    pub recipients: Option<String>,
    pub opened_at: i64,
    pub located_at: Option<i64>,
    pub first_notice_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub checks: i64,
    pub notices: i64,
    pub escalated_at: Option<i64>,
    /// The item's category code and first report, for the notices.
    pub category: String,
    pub first_reported_at: i64,
    /// The item's classification, when an analyst gave one.
    pub iccam_classification: Option<String>,
    pub ncmec_category: Option<String>,
    pub matched_bank: Option<String>,
    /// The country an analyst forwarding to a partner hotline named.
    pub decision_country: Option<String>,
}

/// A medium a reported page served, by its hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPageMedia {
    pub url: String,
    pub media_type: String,
    pub size: i64,
    pub hashes: MediaHashes,
    /// The bytes sealed by vigie-vault and the id of the key, where the hotline keeps them.
    pub sealed: Option<(String, Vec<u8>)>,
}

/// A medium recorded for an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PageMedia {
    pub id: i64,
    pub item_id: i64,
    pub url: String,
    pub media_type: String,
    pub size: i64,
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    pub pdq: Option<String>,
    pub pdq_quality: Option<i64>,
    pub matched_bank: Option<String>,
    pub matched_content_id: Option<i64>,
    pub matched_distance: Option<i64>,
    pub fetched_at: i64,
}

/// Where a takedown's content was found hosted, and whom its notices go to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Location {
    pub address: Option<String>,
    pub asn: Option<i64>,
    pub network: Option<String>,
    pub country: Option<String>,
    pub recipients: Vec<String>,
}

/// One fetch of a takedown's URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCheck {
    pub checked_at: i64,
    pub http_status: Option<i64>,
    pub outcome: CheckOutcome,
    pub detail: String,
    pub media_served: i64,
}

/// A check as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct UrlCheck {
    pub id: i64,
    pub takedown_id: i64,
    pub checked_at: i64,
    pub http_status: Option<i64>,
    pub outcome: String,
    pub detail: String,
    pub media_served: i64,
}

/// A notice that was sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct NoticeRecord {
    pub id: i64,
    pub takedown_id: i64,
    pub notice_key: String,
    pub sequence: i64,
    pub recipient: String,
    pub channel: String,
    pub address: String,
    pub sent_at: i64,
}

/// A notice to record as sent (`id` unused).
pub type NewNotice = NoticeRecord;

/// Imported reference data: its name, bytes and when it was imported.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReferenceData {
    pub name: String,
    pub content: Vec<u8>,
    pub imported_at: i64,
}

impl Store {
    /// Records the media a page served (hashes, and the sealed bytes where kept), with the
    /// fetch's audit row; a medium already recorded for the item (same SHA-256) is kept as
    /// first recorded.
    pub async fn record_page_media(
        &self,
        item_id: i64,
        media: &[NewPageMedia],
        fetched_at: i64,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        dispatch!(self.record_page_media(item_id, media, fetched_at, audit))
    }

    /// The media recorded for an item, in the order they were recorded.
    pub async fn page_media(&self, item_id: i64) -> Result<Vec<PageMedia>, StoreError> {
        dispatch!(self.page_media(item_id))
    }

    /// Resolves a queued URL item whose page served known material: it becomes `known` with
    /// the match, seen by no one, and its takedown opens (`automatic`), all with `audit`.
    /// `None` when the item was no longer queued (an analyst holds or decided it).
    pub async fn resolve_known_page(
        &self,
        item_id: i64,
        known: &KnownMatch,
        now: i64,
        audit: &NewAuditEntry,
    ) -> Result<Option<Takedown>, StoreError> {
        dispatch!(self.resolve_known_page(item_id, known, now, audit))
    }

    pub async fn takedown(&self, id: i64) -> Result<Takedown, StoreError> {
        dispatch!(self.takedown(id))
    }

    /// The takedown of an item, if one was opened.
    pub async fn takedown_of_item(&self, item_id: i64) -> Result<Option<Takedown>, StoreError> {
        dispatch!(self.takedown_of_item(item_id))
    }

    /// The takedowns opened in `[from, to)`, oldest first: what figures and transparency
    /// reports are made of.
    pub async fn takedowns_opened(&self, from: i64, to: i64) -> Result<Vec<Takedown>, StoreError> {
        dispatch!(self.takedowns_opened(from, to))
    }

    /// Records where a `locating` takedown is hosted and whom it goes to; it is `open` after.
    /// `Conflict` if it was not locating.
    pub async fn locate_takedown(
        &self,
        id: i64,
        location: &Location,
        now: i64,
        audit: &NewAuditEntry,
    ) -> Result<Takedown, StoreError> {
        dispatch!(self.locate_takedown(id, location, now, audit))
    }

    /// Records a fetch of the takedown's URL; an outcome that closes it closes it (once:
    /// a closed takedown stays as it closed). Returns the takedown after.
    pub async fn record_check(
        &self,
        id: i64,
        check: &NewCheck,
        audit: &NewAuditEntry,
    ) -> Result<Takedown, StoreError> {
        dispatch!(self.record_check(id, check, audit))
    }

    pub async fn checks_of(&self, takedown_id: i64) -> Result<Vec<UrlCheck>, StoreError> {
        dispatch!(self.checks_of(takedown_id))
    }

    /// Whether the notice of this key was sent already.
    pub async fn notice_sent(&self, notice_key: &str) -> Result<bool, StoreError> {
        dispatch!(self.notice_sent(notice_key))
    }

    /// Records a notice as sent, counting it on its takedown; `false` (and nothing written)
    /// if a notice of the same key is recorded already.
    pub async fn record_notice(
        &self,
        notice: &NewNotice,
        audit: &NewAuditEntry,
    ) -> Result<bool, StoreError> {
        dispatch!(self.record_notice(notice, audit))
    }

    pub async fn notices_of(&self, takedown_id: i64) -> Result<Vec<NoticeRecord>, StoreError> {
        dispatch!(self.notices_of(takedown_id))
    }

    /// How many notices were sent in `[from, to)`.
    pub async fn notices_sent_between(&self, from: i64, to: i64) -> Result<i64, StoreError> {
        dispatch!(self.notices_sent_between(from, to))
    }

    /// What became of the items resolved in `[from, to)`: (decision code, or `known` for the
    /// bank's, items), most first.
    pub async fn decisions_between(
        &self,
        from: i64,
        to: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        dispatch!(self.decisions_between(from, to))
    }

    /// Marks the takedown escalated at `now`; `false` if it was escalated already.
    pub async fn record_escalation(
        &self,
        id: i64,
        now: i64,
        audit: &NewAuditEntry,
    ) -> Result<bool, StoreError> {
        dispatch!(self.record_escalation(id, now, audit))
    }

    /// Stores reference data under `name`, replacing what was there.
    pub async fn put_reference_data(
        &self,
        name: &str,
        content: &[u8],
        now: i64,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        dispatch!(self.put_reference_data(name, content, now, audit))
    }

    /// All the reference data, by name.
    pub async fn reference_data(&self) -> Result<Vec<ReferenceData>, StoreError> {
        dispatch!(self.reference_data())
    }

    /// What changes when reference data is imported (names and times, not contents): a
    /// worker compares it to decide whether to read the data again.
    pub async fn reference_data_version(&self) -> Result<Vec<(String, i64)>, StoreError> {
        dispatch!(self.reference_data_version())
    }
}
