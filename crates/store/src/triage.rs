//! What analysts do with the items reports name: the triage queue, claims, classification and
//! decision, audited reveals of the original media and the exposure they add up to, cases with
//! their notes, files and timeline, and the figures a hotline reports.
//!
//! The queries are in `triage_queries.rs`, compiled for each driver like `queries.rs`. Every
//! write takes its audit entry and appends it in its own transaction (the store's invariant), so
//! a claim, a decision or a reveal is never kept without its audit row, nor the other way round.
//!
//! Audit targets name what they are about as `item:ID` or `case:ID` ([`item_target`],
//! [`case_target`]): a case's timeline gathers the rows naming the case or any of its items,
//! and the `report.receive` rows of the reports naming its items (those name the receipt).
//!
//! Two analysts never hold one item: a claim is one conditional `UPDATE` (`status = 'queued'`)
//! inside a write transaction, which SQLite's `BEGIN IMMEDIATE` and PostgreSQL's lock on the
//! audit log serialise; the loser sees the winner's claim and gets `Conflict`.

// What `dispatch!` names, in scope where it expands.
use crate::{on_postgres, on_sqlite, Pools};
use crate::{ItemStatus, NewAuditEntry, Store, StoreError};

/// The audit action of a note added to a case. The timeline shows the note itself, not its
/// audit row twice.
pub const CASE_NOTE_ACTION: &str = "case.note";

/// The audit action of a file added to a case; like notes, shown in the timeline as the file.
pub const CASE_FILE_ACTION: &str = "case.file";

/// How an audit row names an item.
pub fn item_target(item_id: i64) -> String {
    format!("item:{item_id}")
}

/// How an audit row names a case.
pub fn case_target(case_id: i64) -> String {
    format!("case:{case_id}")
}

/// An item as analysts see it: what it is, how urgent, who has it, how it was classified.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct TriageItem {
    pub id: i64,
    /// `url` or `file`.
    pub kind: String,
    pub url: Option<String>,
    pub sha256: Option<String>,
    /// The most urgent category its reports gave.
    pub category: String,
    pub urgency: i64,
    pub reporters: i64,
    pub first_reported_at: i64,
    pub last_reported_at: i64,
    #[sqlx(try_from = "String")]
    pub status: ItemStatus,
    pub claimed_by: Option<i64>,
    pub claimed_by_name: Option<String>,
    pub claimed_at: Option<i64>,
    pub matched_bank: Option<String>,
    pub matched_content_id: Option<i64>,
    pub matched_distance: Option<i64>,
    pub iccam_classification: Option<String>,
    pub site_type: Option<String>,
    pub age_group: Option<String>,
    pub gender: Option<String>,
    pub ncmec_category: Option<String>,
    pub vics_category: Option<i64>,
    pub decision: Option<String>,
    /// The partner hotline's country (ISO 3166-1 alpha-2) an item forwarded to one went to.
    pub decision_country: Option<String>,
    pub decided_by: Option<i64>,
    pub decided_by_name: Option<String>,
    pub decided_at: Option<i64>,
    pub case_id: Option<i64>,
    /// The media type of its attachment, if it has one (sniffed on arrival).
    pub media_type: Option<String>,
    /// How many times anyone revealed its media.
    pub reveals: i64,
}

/// One report naming an item.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ReportSummary {
    pub id: i64,
    pub receipt: String,
    /// `public` or `partner`.
    pub channel: String,
    pub partner_reference: Option<String>,
    pub category: String,
    pub description: String,
    pub contact_email: Option<String>,
    pub language: String,
    pub received_at: i64,
}

/// An item with the reports that name it, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueEntry {
    pub item: TriageItem,
    pub reports: Vec<ReportSummary>,
}

/// The media kept of an item, its hashes and its encrypted bytes: a file item's attachment,
/// or the first medium a URL item's page served, where the hotline keeps them.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ItemMedia {
    pub item_id: i64,
    pub file_name: Option<String>,
    pub media_type: String,
    pub size: i64,
    pub md5: String,
    pub sha1: String,
    pub sha256: String,
    pub key_id: String,
    /// Encrypted by vigie-vault; the store never sees the key.
    pub sealed: Vec<u8>,
    pub received_at: i64,
}

/// What an analyst decides of a claimed item, with the codes of vigie-hotline (the store keeps
/// them as text and checks only that the required ones are there).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Classification {
    /// ICCAM: baseline, national or not illegal.
    pub iccam_classification: String,
    pub site_type: Option<String>,
    pub age_group: Option<String>,
    pub gender: Option<String>,
    /// NCMEC industry category A1, A2, B1, B2.
    pub ncmec_category: Option<String>,
    /// Project VIC category 0 to 4.
    pub vics_category: Option<i64>,
    /// law_enforcement, notice_to_host, partner_hotline or not_illegal.
    pub decision: String,
    /// With partner_hotline, the country of that hotline (ISO 3166-1 alpha-2, upper case).
    pub decision_country: Option<String>,
}

/// One reveal of an item's original media, open until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Reveal {
    pub id: i64,
    pub item_id: i64,
    pub user_id: i64,
    pub revealed_at: i64,
    pub expires_at: i64,
}

/// An analyst's request to see an item's original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RevealRequest {
    pub item_id: i64,
    pub user_id: i64,
    pub now: i64,
    /// How long the reveal holds.
    pub lifetime_ms: i64,
    /// When the analyst's day began (reveals since then count against the limit).
    pub day_start: i64,
    /// How many distinct items the analyst may reveal in a day; `None` for no limit.
    pub daily_limit: Option<i64>,
}

/// An analyst's request to download a case file that is media (an image, a video), which
/// counts like a reveal: in the day's exposure, and against the daily limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseFileRevealRequest {
    pub case_id: i64,
    pub file_id: i64,
    pub user_id: i64,
    pub now: i64,
    /// As in [`RevealRequest`]: the day's start, and how much may be seen in it.
    pub day_start: i64,
    pub daily_limit: Option<i64>,
}

/// What asking for a reveal came to. `T` is what was revealed: the [`Reveal`] of an item's
/// media, or the [`CaseFile`] (with its bytes) of a case file downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevealOutcome<T = Reveal> {
    /// The media may be seen (an item's until the reveal expires). `items_today` counts this
    /// item or file among the distinct ones seen today; `reveals_today` counts every reveal
    /// since the day began, this one included.
    Revealed {
        reveal: T,
        items_today: i64,
        reveals_today: i64,
    },
    /// The analyst has seen their daily number of items: nothing was revealed or written.
    LimitReached { items_today: i64 },
}

/// How much one analyst has seen since the day began, for the supervisor.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Exposure {
    pub user_id: i64,
    pub name: String,
    /// Distinct items revealed and case files of media downloaded.
    pub items: i64,
    /// Reveals and downloads, the same item more than once included.
    pub reveals: i64,
    pub last_reveal_at: Option<i64>,
}

/// A case: items grouped for one referral.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Case {
    pub id: i64,
    pub title: String,
    /// `open` or `closed`.
    pub status: String,
    pub created_by: i64,
    pub created_by_name: String,
    pub created_at: i64,
    /// How many items it holds.
    pub items: i64,
}

/// A note on a case.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseNote {
    pub id: i64,
    pub case_id: i64,
    pub author_id: i64,
    pub author_name: String,
    pub body: String,
    pub created_at: i64,
}

/// A file to add to a case, already encrypted by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCaseFile {
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub key_id: String,
    pub sealed: Vec<u8>,
}

/// A file of a case, with its encrypted bytes when asked for one file, without when listed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseFile {
    pub id: i64,
    pub case_id: i64,
    pub file_name: String,
    pub media_type: String,
    pub size: i64,
    pub sha256: String,
    pub key_id: String,
    /// Empty in listings (the column is not read).
    #[sqlx(default)]
    pub sealed: Vec<u8>,
    pub added_by: i64,
    pub added_by_name: String,
    pub added_at: i64,
}

/// What a timeline entry is.
#[derive(Debug, Clone, PartialEq)]
pub enum TimelineEvent {
    Note(CaseNote),
    /// A file, listed without its bytes.
    File(CaseFile),
    Audit(crate::AuditEntry),
}

impl TimelineEvent {
    /// When it happened.
    pub fn at(&self) -> i64 {
        match self {
            TimelineEvent::Note(note) => note.created_at,
            TimelineEvent::File(file) => file.added_at,
            TimelineEvent::Audit(entry) => entry.at,
        }
    }
}

/// The figures a hotline reports, over the days since `since`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figures {
    /// (start of the UTC day in Unix ms, reports received), oldest first, days without reports
    /// left out.
    pub reports_per_day: Vec<(i64, i64)>,
    /// (category code, reports), most first.
    pub reports_by_category: Vec<(String, i64)>,
    /// Items decided by an analyst or resolved from a bank.
    pub resolved: i64,
    /// Of those, how many no one revealed.
    pub resolved_without_reveal: i64,
    /// Items waiting (queued or claimed).
    pub waiting: i64,
    /// How long the oldest waiting item has waited, in ms.
    pub oldest_wait_ms: Option<i64>,
    /// The median wait of the waiting items, in ms.
    pub median_wait_ms: Option<i64>,
}

/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// The start of the UTC day `at` falls in.
pub fn utc_day_start(at: i64) -> i64 {
    at.div_euclid(DAY_MS) * DAY_MS
}

/// Checks what a decision must have.
pub(crate) fn check_classification(classification: &Classification) -> Result<(), StoreError> {
    if classification.iccam_classification.trim().is_empty() {
        return Err(StoreError::Invalid(
            "an ICCAM classification is needed".into(),
        ));
    }
    if classification.decision.trim().is_empty() {
        return Err(StoreError::Invalid("a decision is needed".into()));
    }
    if classification.decision == "partner_hotline" && classification.decision_country.is_none() {
        return Err(StoreError::Invalid(
            "forwarding to a partner hotline needs the hotline's country".into(),
        ));
    }
    if let Some(category) = classification.vics_category {
        if !(0..=4).contains(&category) {
            return Err(StoreError::Invalid(format!(
                "Project VIC category {category}: must be 0 to 4"
            )));
        }
    }
    Ok(())
}

impl Store {
    /// Items waiting for an analyst (queued, and claimed ones with who has them), most urgent
    /// first: urgency (live abuse, then possible contact with a child), then the longest
    /// waiting, then the most reported. Items resolved from a bank are never here. At most
    /// `limit`, each with its reports.
    pub async fn triage_queue(&self, limit: i64) -> Result<Vec<QueueEntry>, StoreError> {
        dispatch!(self.triage_queue(limit))
    }

    /// Items resolved, by an analyst or from a bank, the latest first, at most `limit`.
    pub async fn resolved_items(&self, limit: i64) -> Result<Vec<TriageItem>, StoreError> {
        dispatch!(self.resolved_items(limit))
    }

    /// One item with its reports, whatever its status.
    pub async fn triage_item(&self, item_id: i64) -> Result<QueueEntry, StoreError> {
        dispatch!(self.triage_item(item_id))
    }

    /// The media of a file item; `NotFound` for an item without any.
    pub async fn item_media(&self, item_id: i64) -> Result<ItemMedia, StoreError> {
        dispatch!(self.item_media(item_id))
    }

    /// Gives a queued item to `user_id` (claiming again one's own claim renews it), with
    /// `audit`. Of two analysts claiming one item at once exactly one wins; the other gets
    /// `Conflict` naming who has it. `Conflict` too for a resolved item.
    pub async fn claim_item(
        &self,
        item_id: i64,
        user_id: i64,
        now: i64,
        audit: &NewAuditEntry,
    ) -> Result<TriageItem, StoreError> {
        dispatch!(self.claim_item(item_id, user_id, now, audit))
    }

    /// Puts a claimed item back in the queue, with `audit`. Only its claimer may, unless
    /// `supervisor` (an administrator freeing the items of someone gone home).
    pub async fn release_item(
        &self,
        item_id: i64,
        user_id: i64,
        supervisor: bool,
        audit: &NewAuditEntry,
    ) -> Result<TriageItem, StoreError> {
        dispatch!(self.release_item(item_id, user_id, supervisor, audit))
    }

    /// Classifies and decides an item `user_id` has claimed, with `audit`; it leaves the queue.
    /// `Conflict` if someone else has it or it is not claimed.
    pub async fn decide_item(
        &self,
        item_id: i64,
        user_id: i64,
        classification: &Classification,
        now: i64,
        audit: &NewAuditEntry,
    ) -> Result<TriageItem, StoreError> {
        check_classification(classification)?;
        dispatch!(self.decide_item(item_id, user_id, classification, now, audit))
    }

    /// Opens the media of an item the analyst has claimed until `now + lifetime_ms`, ending
    /// any reveal of theirs still open (one item at a time), with the audit row `audit` makes
    /// of the reveal. With a daily limit, refuses a new item once the analyst has revealed that
    /// many since `day_start` (the items already revealed today may be seen again).
    /// `Conflict` if the item is not claimed by the analyst.
    pub async fn reveal_item(
        &self,
        request: &RevealRequest,
        audit: impl FnOnce(&Reveal) -> NewAuditEntry,
    ) -> Result<RevealOutcome, StoreError> {
        dispatch!(self.reveal_item(request, audit))
    }

    /// Reads a case file that is media for `request.user_id` to download, counted as a reveal
    /// of it (written with the audit row `audit` makes of the file), under the same daily
    /// limit as items' reveals: a file already seen today may be seen again, a new one past
    /// the limit is refused and nothing is written. The store does not judge what is media;
    /// the caller asks this for media only.
    pub async fn reveal_case_file(
        &self,
        request: &CaseFileRevealRequest,
        audit: impl FnOnce(&CaseFile) -> NewAuditEntry,
    ) -> Result<RevealOutcome<CaseFile>, StoreError> {
        dispatch!(self.reveal_case_file(request, audit))
    }

    /// The reveal of this item by this analyst still open at `now`, if any.
    pub async fn open_reveal(
        &self,
        item_id: i64,
        user_id: i64,
        now: i64,
    ) -> Result<Option<Reveal>, StoreError> {
        dispatch!(self.open_reveal(item_id, user_id, now))
    }

    /// How many distinct items `user_id` has revealed (and case files of media downloaded)
    /// since `day_start`.
    pub async fn revealed_today(&self, user_id: i64, day_start: i64) -> Result<i64, StoreError> {
        dispatch!(self.revealed_today(user_id, day_start))
    }

    /// Every analyst's and administrator's exposure since `day_start`, most exposed first.
    pub async fn exposure(&self, day_start: i64) -> Result<Vec<Exposure>, StoreError> {
        dispatch!(self.exposure(day_start))
    }

    /// Opens a case, with the audit row `audit` makes of it.
    pub async fn create_case(
        &self,
        title: &str,
        created_by: i64,
        audit: impl FnOnce(&Case) -> NewAuditEntry,
    ) -> Result<Case, StoreError> {
        let title = title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(StoreError::Invalid(
                "a case title is 1 to 200 characters".into(),
            ));
        }
        dispatch!(self.create_case(title, created_by, audit))
    }

    /// All cases, the latest first.
    pub async fn cases(&self) -> Result<Vec<Case>, StoreError> {
        dispatch!(self.cases())
    }

    pub async fn case(&self, case_id: i64) -> Result<Case, StoreError> {
        dispatch!(self.case(case_id))
    }

    /// The items of a case, by id.
    pub async fn case_items(&self, case_id: i64) -> Result<Vec<TriageItem>, StoreError> {
        dispatch!(self.case_items(case_id))
    }

    /// Puts an item in an open case, with `audit`; `Conflict` if it is in another case or the
    /// case is closed.
    pub async fn add_case_item(
        &self,
        case_id: i64,
        item_id: i64,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        dispatch!(self.add_case_item(case_id, item_id, audit))
    }

    /// Takes an item out of an open case, with `audit`.
    pub async fn remove_case_item(
        &self,
        case_id: i64,
        item_id: i64,
        audit: &NewAuditEntry,
    ) -> Result<(), StoreError> {
        dispatch!(self.remove_case_item(case_id, item_id, audit))
    }

    /// Adds a note to an open case, with the audit row `audit` makes of it.
    pub async fn add_case_note(
        &self,
        case_id: i64,
        author_id: i64,
        body: &str,
        audit: impl FnOnce(&CaseNote) -> NewAuditEntry,
    ) -> Result<CaseNote, StoreError> {
        if body.trim().is_empty() {
            return Err(StoreError::Invalid("a note needs some text".into()));
        }
        dispatch!(self.add_case_note(case_id, author_id, body, audit))
    }

    /// The notes of a case, oldest first.
    pub async fn case_notes(&self, case_id: i64) -> Result<Vec<CaseNote>, StoreError> {
        dispatch!(self.case_notes(case_id))
    }

    /// Adds an encrypted file to an open case, with the audit row `audit` makes of it (returned
    /// without its bytes).
    pub async fn add_case_file(
        &self,
        case_id: i64,
        added_by: i64,
        file: &NewCaseFile,
        audit: impl FnOnce(&CaseFile) -> NewAuditEntry,
    ) -> Result<CaseFile, StoreError> {
        if file.file_name.trim().is_empty() {
            return Err(StoreError::Invalid("a file needs a name".into()));
        }
        dispatch!(self.add_case_file(case_id, added_by, file, audit))
    }

    /// The files of a case, oldest first, without their bytes.
    pub async fn case_files(&self, case_id: i64) -> Result<Vec<CaseFile>, StoreError> {
        dispatch!(self.case_files(case_id))
    }

    /// One file of a case with its encrypted bytes.
    pub async fn case_file(&self, case_id: i64, file_id: i64) -> Result<CaseFile, StoreError> {
        dispatch!(self.case_file(case_id, file_id))
    }

    /// Closes a case, with `audit`; closing a closed case is `Conflict`.
    pub async fn close_case(&self, case_id: i64, audit: &NewAuditEntry) -> Result<(), StoreError> {
        dispatch!(self.close_case(case_id, audit))
    }

    /// What happened to a case, in time order: its notes, its files, the audit rows naming the
    /// case or any item it holds now (claims, reveals, decisions, exports...), and the
    /// `report.receive` rows of the reports naming those items.
    pub async fn case_timeline(&self, case_id: i64) -> Result<Vec<TimelineEvent>, StoreError> {
        dispatch!(self.case_timeline(case_id))
    }

    /// The hotline's figures: reports since `since`, items resolved, and how long the waiting
    /// ones have waited at `now`.
    pub async fn figures(&self, since: i64, now: i64) -> Result<Figures, StoreError> {
        dispatch!(self.figures(since, now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_start_at_utc_midnight() {
        assert_eq!(utc_day_start(0), 0);
        assert_eq!(utc_day_start(DAY_MS - 1), 0);
        assert_eq!(utc_day_start(DAY_MS + 5), DAY_MS);
        assert_eq!(utc_day_start(-1), -DAY_MS);
    }

    #[test]
    fn a_decision_needs_its_codes() {
        let good = Classification {
            iccam_classification: "baseline".into(),
            decision: "law_enforcement".into(),
            vics_category: Some(1),
            ..Classification::default()
        };
        assert!(check_classification(&good).is_ok());
        let no_decision = Classification {
            decision: " ".into(),
            ..good.clone()
        };
        assert!(check_classification(&no_decision).is_err());
        let no_country = Classification {
            decision: "partner_hotline".into(),
            ..good.clone()
        };
        assert!(check_classification(&no_country).is_err());
        let bad_vics = Classification {
            vics_category: Some(5),
            ..good
        };
        assert!(check_classification(&bad_vics).is_err());
    }
}
