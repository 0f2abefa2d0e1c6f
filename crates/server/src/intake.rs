//! The hotline's intake: the public report form (`/report`) and the partner API
//! (`/api/v1/reports`).
//!
//! Both end in [`Intake::store`]: a report is handed to one writer task that stores every
//! waiting report in one transaction ([`GroupWriter`]) and answers each request after the
//! commit, so no 2xx is sent for a report that is not on disk, without one commit per report.
//! What is slow and parallel (decoding, hashing and sealing attachments, matching them against
//! the banks) happens in the request before it is handed over; the writer only writes.
//!
//! Reporters may stay anonymous. The form asks for no account and an e-mail address only if the
//! reporter wants an answer. No IP address is stored: the form's rate limit counts
//! submissions per client under an HMAC of the address, keyed with a random key made when the
//! process starts and held only in memory, and forgets each count when its window has passed.
//! The count cannot be turned back into an address, and a restart forgets even the key.
//!
//! Partners' keys have their own limit ([`crate::Config::partner_report_limit`]): requests to
//! `/api/v1/reports` and `/api/v1/reports/bulk` are counted per key (a bulk request counts
//! once), and one past the limit is answered 429 `rate_limited` with `Retry-After`, so that one
//! partner's runaway job cannot crowd out the others' reports. People entering reports through
//! the API are not counted.
//!
//! Attachments (partner API only) are sized, typed from their bytes (`vigie_media::sniff`),
//! hashed on arrival (MD5, SHA-1, SHA-256, and PDQ for images: the hashing of `/h/hash`), looked
//! up in the banks (the matcher of `/m/lookup`) and sealed with the vault's current key before
//! they are stored. A file a bank knows makes its item `known`: it is resolved from the bank
//! and never queued for a human to look at.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form, Json};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use vigie_hotline::ReportCategory;
use vigie_store::{
    Channel, NewAttachment, NewReport, Report, ReportItem, ReportedUrl, Store, StoreError,
    Submitted,
};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::group_writer::GroupWriter;
use crate::hma;
use crate::web::{self, Lang, Page};
use crate::AppState;

/// The most reports one transaction stores.
const MAX_GROUP: usize = 512;

/// Reports waiting for the writer at most.
const QUEUE: usize = 8_192;

/// The most URLs the public form takes (one a line).
pub const MAX_FORM_URLS: usize = 20;

/// The longest URL accepted, in bytes: longer ones are not links people follow.
pub const MAX_URL_BYTES: usize = 2_048;

/// The longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 5_000;

/// The longest e-mail address (RFC 5321's path limit).
pub const MAX_EMAIL_BYTES: usize = 254;

/// The longest partner reference or idempotency key, in bytes.
pub const MAX_KEY_BYTES: usize = 255;

/// The largest body the public form accepts: 20 long URLs and a long description fit.
pub const MAX_FORM_BYTES: usize = 128 << 10;

/// The most attachments one partner report carries.
pub const MAX_ATTACHMENTS: usize = 10;

/// The most lines one bulk request carries.
pub const MAX_BULK_LINES: usize = 1_000;

/// How many public reports one client may send in a window (or, for a partner's key, how many
/// requests).
#[derive(Debug, Clone, Copy)]
pub struct RateLimit {
    pub reports: u32,
    pub window: Duration,
}

impl Default for RateLimit {
    /// Ten reports in ten minutes: more than a person reporting what they saw needs.
    fn default() -> Self {
        Self {
            reports: 10,
            window: Duration::from_secs(600),
        }
    }
}

/// What the writer answers a report: stored or refused, or `None` if the transaction failed.
type Stored = Option<Result<Submitted, StoreError>>;

/// The intake's shared parts: the report writer, the form's rate limiter and the partner
/// keys' one.
#[derive(Debug)]
pub struct Intake {
    writer: GroupWriter<NewReport, Stored>,
    limiter: ReportLimiter,
    keys: WindowCounts<i64>,
}

impl Intake {
    /// Starts the report writer on the current runtime.
    pub fn start(store: Store, limit: RateLimit, partner_limit: RateLimit) -> Self {
        let writer = GroupWriter::start(MAX_GROUP, QUEUE, move |reports: Vec<NewReport>| {
            let store = store.clone();
            async move {
                match store.submit_reports(&reports).await {
                    Ok(answers) => answers.into_iter().map(Some).collect(),
                    Err(error) => {
                        tracing::error!(%error, reports = reports.len(), "storing reports");
                        reports.iter().map(|_| None).collect()
                    }
                }
            }
        });
        Self {
            writer,
            limiter: ReportLimiter::new(limit),
            keys: WindowCounts::new(partner_limit),
        }
    }

    /// Stores a report, returning once it is committed.
    pub async fn store(&self, report: NewReport) -> Result<Submitted, ApiError> {
        match self.writer.submit(report).await {
            Some(Some(answer)) => Ok(answer?),
            Some(None) => Err(ApiError::internal("storing the report failed")),
            None => Err(ApiError::internal("the report writer has stopped")),
        }
    }
}

/// How many times each client was counted in its current window: a window opens at a
/// client's first count and is forgotten once it has passed.
#[derive(Debug)]
struct WindowCounts<K> {
    limit: RateLimit,
    counts: Mutex<HashMap<K, (Instant, u32)>>,
}

impl<K: std::hash::Hash + Eq> WindowCounts<K> {
    fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            counts: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one for `client`; past the limit, how long until its window closes.
    fn count(&self, client: K) -> Result<(), Duration> {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let window = self.limit.window;
        counts.retain(|_, (start, _)| now.duration_since(*start) < window);
        let (start, count) = counts.entry(client).or_insert((now, 0));
        *count = count.saturating_add(1);
        if *count <= self.limit.reports {
            Ok(())
        } else {
            Err(window.saturating_sub(now.duration_since(*start)))
        }
    }
}

/// Public submissions per client in the current window, by an HMAC of the client's address
/// under a key made at start and kept only in memory (see the module documentation).
pub struct ReportLimiter {
    key: [u8; 32],
    counts: WindowCounts<[u8; 32]>,
}

impl std::fmt::Debug for ReportLimiter {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Neither the key nor the counts: together they would let one test a guessed address.
        formatter
            .debug_struct("ReportLimiter")
            .field("limit", &self.counts.limit)
            .finish_non_exhaustive()
    }
}

impl ReportLimiter {
    fn new(limit: RateLimit) -> Self {
        let mut key = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
        Self {
            key,
            counts: WindowCounts::new(limit),
        }
    }

    /// Counts a submission; false when the client is over its allowance for the window.
    fn allow(&self, address: IpAddr) -> bool {
        self.counts.count(self.client(address)).is_ok()
    }

    /// HMAC-SHA-256 (RFC 2104) of the address under the process's key.
    fn client(&self, address: IpAddr) -> [u8; 32] {
        let octets = match address {
            IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
            IpAddr::V6(v6) => v6.octets(),
        };
        let pad = |byte: u8| {
            let mut block = [byte; 64];
            for (at, key_byte) in self.key.iter().enumerate() {
                block[at] ^= key_byte;
            }
            block
        };
        let inner = Sha256::new()
            .chain_update(pad(0x36))
            .chain_update(octets)
            .finalize();
        Sha256::new()
            .chain_update(pad(0x5c))
            .chain_update(inner)
            .finalize()
            .into()
    }
}

/// Why one field of a report is refused: the field, and the text key of the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    field: &'static str,
    key: &'static str,
    /// The offending value (a URL), shown with the reason.
    detail: Option<String>,
}

impl Problem {
    fn new(field: &'static str, key: &'static str) -> Self {
        Self {
            field,
            key,
            detail: None,
        }
    }

    /// The same problem as an API error (English, with a stable code).
    fn into_api_error(self) -> ApiError {
        let code = self.code();
        let message = web::texts(Lang::En).get(self.key);
        let message = match self.detail {
            Some(detail) => format!("{}: {message} ({detail})", self.field),
            None => format!("{}: {message}", self.field),
        };
        ApiError::invalid(code, message)
    }

    fn code(&self) -> &'static str {
        match self.field {
            "urls" => "invalid_url",
            "category" => "invalid_category",
            "email" => "invalid_email",
            "attachments" => "invalid_attachment",
            _ => "invalid_report",
        }
    }
}

/// The URLs of a report, each parsed, http(s) and normalised; at least one unless files
/// come with them.
fn check_urls(urls: &[String], at_most: usize, files: usize) -> Result<Vec<ReportedUrl>, Problem> {
    if urls.is_empty() && files == 0 {
        return Err(Problem::new("urls", "report.error.urls_missing"));
    }
    if urls.len() > at_most {
        return Err(Problem::new("urls", "report.error.urls_too_many"));
    }
    urls.iter()
        .map(|url| {
            let url = url.trim();
            if url.len() > MAX_URL_BYTES {
                return Err(Problem::new("urls", "report.error.url_too_long"));
            }
            match vigie_hotline::normalise_url(url) {
                Ok(normalised) => Ok(ReportedUrl {
                    url: url.to_owned(),
                    normalised,
                }),
                Err(_) => Err(Problem {
                    detail: Some(url.to_owned()),
                    ..Problem::new("urls", "report.error.url_invalid")
                }),
            }
        })
        .collect()
}

fn check_category(code: Option<&str>) -> Result<ReportCategory, Problem> {
    match code.map(str::trim).filter(|code| !code.is_empty()) {
        None => Err(Problem::new("category", "report.error.category_missing")),
        Some(code) => ReportCategory::from_code(code)
            .map_err(|_| Problem::new("category", "report.error.category_invalid")),
    }
}

fn check_description(description: &str) -> Result<String, Problem> {
    let description = description.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(Problem::new(
            "description",
            "report.error.description_too_long",
        ));
    }
    Ok(description.to_owned())
}

/// An optional address to write back to: one `@` with text on both sides, no spaces, a dot
/// in the domain. Whether it reaches anyone is not ours to check.
fn check_email(email: &str) -> Result<Option<String>, Problem> {
    let email = email.trim();
    if email.is_empty() {
        return Ok(None);
    }
    let shaped = email.len() <= MAX_EMAIL_BYTES
        && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if shaped {
        Ok(Some(email.to_owned()))
    } else {
        Err(Problem::new("email", "report.error.email_invalid"))
    }
}

/// A short text a partner gives (a reference, an idempotency key): bounded, printable.
fn check_key_text(field: &'static str, text: Option<&str>) -> Result<Option<String>, ApiError> {
    match text {
        None => Ok(None),
        Some(text) if text.len() <= MAX_KEY_BYTES && !text.chars().any(char::is_control) => {
            Ok(Some(text.to_owned()))
        }
        Some(_) => Err(ApiError::invalid(
            "invalid_report",
            format!("{field}: at most {MAX_KEY_BYTES} bytes, no control characters"),
        )),
    }
}

// ---- The public form ----

/// A category as the form lists it.
#[derive(Debug, Clone)]
struct CategoryChoice {
    code: &'static str,
    label: &'static str,
    hint: &'static str,
}

#[derive(askama::Template)]
#[template(path = "report_form.html")]
struct ReportFormPage {
    page: Page,
    categories: Vec<CategoryChoice>,
    max_form_bytes: usize,
    max_description: usize,
    urls: String,
    category: String,
    description: String,
    email: String,
    /// The reasons the last submission was refused, by field id, already translated: the
    /// summary at the top links each to its field.
    errors: Vec<(&'static str, String)>,
    /// The same reasons, beside their fields.
    url_error: Option<String>,
    category_error: Option<String>,
    description_error: Option<String>,
    email_error: Option<String>,
}

impl ReportFormPage {
    fn new(page: &Page) -> Self {
        let categories = ReportCategory::ALL
            .iter()
            .map(|category| CategoryChoice {
                code: category.code(),
                label: page.t.get(category_key(*category, "label")),
                hint: page.t.get(category_key(*category, "hint")),
            })
            .collect();
        Self {
            page: page.clone(),
            categories,
            max_form_bytes: MAX_FORM_BYTES,
            max_description: MAX_DESCRIPTION_CHARS,
            urls: String::new(),
            category: String::new(),
            description: String::new(),
            email: String::new(),
            errors: Vec::new(),
            url_error: None,
            category_error: None,
            description_error: None,
            email_error: None,
        }
    }

    /// Shows these reasons, at the top and beside their fields.
    fn refused(mut self, errors: Vec<(&'static str, String)>) -> Self {
        let find = |field: &str| {
            errors
                .iter()
                .find(|(name, _)| *name == field)
                .map(|(_, message)| message.clone())
        };
        self.url_error = find("urls");
        self.category_error = find("category");
        self.description_error = find("description");
        self.email_error = find("email");
        self.errors = errors;
        self
    }
}

/// The text keys of a category's label and hint.
fn category_key(category: ReportCategory, what: &str) -> &'static str {
    use ReportCategory as C;
    match (category, what) {
        (C::ChildSexualAbuseMaterial, "label") => "report.category.csam",
        (C::ChildSexualAbuseMaterial, _) => "report.category.csam.hint",
        (C::Grooming, "label") => "report.category.grooming",
        (C::Grooming, _) => "report.category.grooming.hint",
        (C::LiveStreamedAbuse, "label") => "report.category.live_abuse",
        (C::LiveStreamedAbuse, _) => "report.category.live_abuse.hint",
        (C::Sextortion, "label") => "report.category.sextortion",
        (C::Sextortion, _) => "report.category.sextortion.hint",
        (C::SelfGeneratedShared, "label") => "report.category.self_generated",
        (C::SelfGeneratedShared, _) => "report.category.self_generated.hint",
        (C::Other, "label") => "report.category.other",
        (C::Other, _) => "report.category.other.hint",
    }
}

#[derive(askama::Template)]
#[template(path = "report_received.html")]
struct ReportReceivedPage {
    page: Page,
    receipt: String,
    urgent: bool,
}

/// `GET /report`: the form, empty.
pub async fn report_form(page: Page) -> Response {
    web::render(&page, &ReportFormPage::new(&page))
}

/// What the form sends. Every field is optional here so that a missing one is answered on
/// the form, in the reporter's language, rather than by a bare 422.
#[derive(Debug, Default, Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    urls: String,
    category: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    email: String,
}

/// `POST /report`: checks the token, the client's allowance and the fields; stores the report
/// and answers 201 with its receipt, or shows the form again with what was typed and why it
/// was refused.
pub async fn submit_report_form(
    State(state): State<Arc<AppState>>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    page: Page,
    Form(form): Form<ReportForm>,
) -> Result<Response, ApiError> {
    web::check_csrf(&headers, &form.csrf)?;
    let mut shown = ReportFormPage::new(&page);
    shown.urls = form.urls.clone();
    shown.category = form.category.clone().unwrap_or_default();
    shown.description = form.description.clone();
    shown.email = form.email.clone();
    if !state.intake.limiter.allow(address.ip()) {
        let shown = shown.refused(vec![(
            "form",
            page.t.get("report.error.rate_limited").to_owned(),
        )]);
        return Ok(web::render_with_status(
            StatusCode::TOO_MANY_REQUESTS,
            &page,
            &shown,
        ));
    }
    let lines: Vec<String> = form
        .urls
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    let urls = check_urls(&lines, MAX_FORM_URLS, 0);
    let category = check_category(form.category.as_deref());
    let description = check_description(&form.description);
    let email = check_email(&form.email);
    let (urls, category, description, email) = match (urls, category, description, email) {
        (Ok(urls), Ok(category), Ok(description), Ok(email)) => {
            (urls, category, description, email)
        }
        (urls, category, description, email) => {
            let problems = [urls.err(), category.err(), description.err(), email.err()];
            let errors = problems
                .into_iter()
                .flatten()
                .map(|problem| {
                    let reason = page.t.get(problem.key);
                    let message = match problem.detail {
                        Some(detail) => format!("{reason} ({detail})"),
                        None => reason.to_owned(),
                    };
                    (problem.field, message)
                })
                .collect();
            let shown = shown.refused(errors);
            return Ok(web::render_with_status(
                StatusCode::BAD_REQUEST,
                &page,
                &shown,
            ));
        }
    };
    let stored = state
        .intake
        .store(NewReport {
            channel: Channel::Public,
            api_key_id: None,
            idempotency_key: None,
            partner_reference: None,
            category: category.code().to_owned(),
            urgency: i64::from(category.urgency()),
            description,
            contact_email: email,
            language: page.lang.code().to_owned(),
            submitted_by: None,
            urls,
            attachments: Vec::new(),
        })
        .await?;
    let received = ReportReceivedPage {
        page: page.clone(),
        receipt: stored.report.receipt,
        urgent: category.urgency() > 1,
    };
    Ok(web::render_with_status(
        StatusCode::CREATED,
        &page,
        &received,
    ))
}

// ---- The partner API ----

/// A partner's report, as JSON (one line of a bulk request is the same object).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerReport {
    #[serde(default)]
    urls: Vec<String>,
    category: String,
    #[serde(default)]
    description: String,
    /// The partner's own reference for the report.
    reference: Option<String>,
    #[serde(default)]
    attachments: Vec<PartnerAttachment>,
    /// In a bulk line, what the `Idempotency-Key` header is for a single report.
    idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerAttachment {
    file_name: Option<String>,
    content_base64: String,
}

/// Who sends a report through the API: a partner's key, or one of the hotline's people
/// entering a report they took down (their report goes in as a public one, and the audit log
/// names them).
#[derive(Debug, Clone)]
enum Sender {
    Key(i64),
    Person(String),
}

/// The sender of an API request, once its key is within its rate limit.
fn sender_of(state: &AppState, principal: &Principal) -> Result<Sender, ApiError> {
    match principal {
        Principal::Key(key) => {
            state
                .intake
                .keys
                .count(key.id)
                .map_err(ApiError::rate_limited_for)?;
            Ok(Sender::Key(key.id))
        }
        Principal::User(_) => Ok(Sender::Person(principal.actor())),
        // The route table lets no anonymous caller here.
        Principal::Anonymous => Err(ApiError::unauthenticated()),
    }
}

/// Checks a partner's report and prepares its attachments (hashed, looked up, sealed).
async fn prepare(
    state: &AppState,
    sender: &Sender,
    report: PartnerReport,
    idempotency_key: Option<String>,
) -> Result<NewReport, ApiError> {
    let (channel, api_key_id, submitted_by) = match sender {
        Sender::Key(id) => (Channel::Partner, Some(*id), None),
        Sender::Person(actor) => (Channel::Public, None, Some(actor.clone())),
    };
    if idempotency_key.is_some() && api_key_id.is_none() {
        return Err(ApiError::invalid(
            "invalid_report",
            "an Idempotency-Key is for partners' keys: a person's report has none",
        ));
    }
    if report.attachments.len() > MAX_ATTACHMENTS {
        return Err(ApiError::invalid(
            "invalid_attachment",
            format!("at most {MAX_ATTACHMENTS} attachments a report"),
        ));
    }
    let urls = check_urls(
        &report.urls,
        vigie_store::MAX_REPORT_ITEMS - report.attachments.len(),
        report.attachments.len(),
    )
    .map_err(Problem::into_api_error)?;
    let category = check_category(Some(&report.category)).map_err(Problem::into_api_error)?;
    let description = check_description(&report.description).map_err(Problem::into_api_error)?;
    let reference = check_key_text("reference", report.reference.as_deref())?;
    let mut attachments = Vec::with_capacity(report.attachments.len());
    for attachment in report.attachments {
        attachments.push(prepare_attachment(state, attachment).await?);
    }
    Ok(NewReport {
        channel,
        api_key_id,
        submitted_by,
        idempotency_key,
        partner_reference: reference,
        category: category.code().to_owned(),
        urgency: i64::from(category.urgency()),
        description,
        contact_email: None,
        language: "en".to_owned(),
        urls,
        attachments,
    })
}

/// Decodes, types, hashes, looks up and seals one attachment. The plaintext never reaches
/// the store.
async fn prepare_attachment(
    state: &AppState,
    attachment: PartnerAttachment,
) -> Result<NewAttachment, ApiError> {
    let Some(vault) = state.config.vault.clone() else {
        return Err(ApiError::unavailable(
            "attachments_unavailable",
            "this server has no vault key configured, so it cannot keep files",
        ));
    };
    let limit = state.config.max_attachment_bytes;
    // Checked on the encoded length first, so an oversized file is refused before decoding.
    if attachment.content_base64.len() > limit.div_ceil(3) * 4 + 4 {
        return Err(attachment_too_large(limit));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(attachment.content_base64.trim())
        .map_err(|error| {
            ApiError::invalid("invalid_attachment", format!("content_base64: {error}"))
        })?;
    if bytes.is_empty() {
        return Err(ApiError::invalid(
            "invalid_attachment",
            "an attachment is empty",
        ));
    }
    if bytes.len() > limit {
        return Err(attachment_too_large(limit));
    }
    let file_name = check_key_text("file_name", attachment.file_name.as_deref())?;
    let media_type = vigie_media::sniff(&bytes)
        .unwrap_or("application/octet-stream")
        .to_owned();
    let size = bytes.len() as i64;
    let bytes = Bytes::from(bytes);
    let hashes = hma::recognise(state, bytes.clone()).await?;
    let key_id = vault.current_id().to_owned();
    let sealed = tokio::task::spawn_blocking(move || vault.seal(&bytes))
        .await
        .map_err(ApiError::internal)?;
    Ok(NewAttachment {
        file_name,
        media_type,
        size,
        hashes,
        key_id,
        sealed,
    })
}

fn attachment_too_large(limit: usize) -> ApiError {
    ApiError::too_large(limit)
}

/// The JSON of a stored report: its receipt and each item's id, kind, status, whether this
/// report made it, and the bank match that resolved it.
fn report_json(report: &Report) -> Value {
    json!({
        "receipt": report.receipt,
        "received_at": report.received_at,
        "category": report.category,
        "reference": report.partner_reference,
        "items": report.items.iter().map(item_json).collect::<Vec<_>>(),
    })
}

fn item_json(item: &ReportItem) -> Value {
    let mut value = json!({
        "id": item.id,
        "kind": item.kind.as_str(),
        "status": item.status.as_str(),
        "new": item.new,
    });
    if let Some(known) = &item.known {
        value["known"] = json!({
            "bank": known.bank,
            "content_id": known.content_id,
            "distance": known.distance,
        });
    }
    value
}

/// `POST /api/v1/reports`: 201 with the receipt and items, or 200 with the first report's
/// when the `Idempotency-Key` was used before by this key.
pub async fn submit_partner_report(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Json(report): Json<PartnerReport>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let sender = sender_of(&state, &principal)?;
    let header_key = match headers.get("idempotency-key") {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| {
                    ApiError::invalid("invalid_report", "Idempotency-Key: printable ASCII only")
                })?
                .to_owned(),
        ),
        None => None,
    };
    if header_key.is_some()
        && report.idempotency_key.is_some()
        && header_key != report.idempotency_key
    {
        return Err(ApiError::invalid(
            "invalid_report",
            "the Idempotency-Key header and the body's idempotency_key differ",
        ));
    }
    let idempotency_key = check_key_text(
        "Idempotency-Key",
        header_key.or(report.idempotency_key.clone()).as_deref(),
    )?;
    let prepared = prepare(&state, &sender, report, idempotency_key).await?;
    let submitted = state.intake.store(prepared).await?;
    let status = if submitted.replayed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(report_json(&submitted.report))))
}

/// `POST /api/v1/reports/bulk`: one JSON report a line; one result line per input line, in
/// order. A bad line gets its error line (with its number) and does not stop the others;
/// blank lines are skipped. The reports of one request are stored together (one commit).
pub async fn submit_bulk_reports(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    body: String,
) -> Result<Response, ApiError> {
    let sender = sender_of(&state, &principal)?;
    let lines: Vec<(usize, &str)> = body
        .lines()
        .enumerate()
        .map(|(at, line)| (at + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty())
        .collect();
    if lines.len() > MAX_BULK_LINES {
        return Err(ApiError::invalid(
            "batch_too_large",
            format!("at most {MAX_BULK_LINES} reports a request"),
        ));
    }
    // Each line checked and prepared, then every good one handed to the writer at once, so
    // they share a commit instead of each waiting for the last.
    let mut prepared: Vec<(usize, Result<NewReport, ApiError>)> = Vec::with_capacity(lines.len());
    for (number, line) in lines {
        let report = match serde_json::from_str::<PartnerReport>(line) {
            Ok(report) => {
                match check_key_text("idempotency_key", report.idempotency_key.as_deref()) {
                    Ok(key) => prepare(&state, &sender, report, key).await,
                    Err(error) => Err(error),
                }
            }
            Err(error) => Err(ApiError::invalid(
                "invalid_json",
                format!("not a report: {error}"),
            )),
        };
        prepared.push((number, report));
    }
    let mut waiting = tokio::task::JoinSet::new();
    let mut results: Vec<(usize, Value)> = Vec::new();
    for (number, report) in prepared {
        match report {
            Ok(report) => {
                let state = Arc::clone(&state);
                waiting.spawn(async move { (number, state.intake.store(report).await) });
            }
            Err(error) => results.push((number, error_line(number, &error))),
        }
    }
    while let Some(done) = waiting.join_next().await {
        let (number, stored) = done.map_err(ApiError::internal)?;
        let line = match stored {
            Ok(submitted) => {
                let mut line = report_json(&submitted.report);
                line["line"] = json!(number);
                line["replayed"] = json!(submitted.replayed);
                line
            }
            Err(error) => error_line(number, &error),
        };
        results.push((number, line));
    }
    results.sort_by_key(|(number, _)| *number);
    let mut text = String::new();
    for (_, line) in results {
        text.push_str(&line.to_string());
        text.push('\n');
    }
    let mut response = text.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(response)
}

fn error_line(number: usize, error: &ApiError) -> Value {
    json!({"line": number, "error": {"code": error.code(), "message": error.message()}})
}

/// `GET /api/v1/reports/{receipt}`: a report and its items' status, for the key that sent it
/// (another key is told it does not exist, so receipts cannot be probed) and for the
/// hotline's own people.
pub async fn partner_report(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(receipt): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let sender = match &principal {
        Principal::Key(key) => Some(key.id),
        _ => None,
    };
    let not_found = || ApiError::not_found("report_not_found", format!("no report {receipt}"));
    let report = match state.store.report_by_receipt(&receipt).await {
        Ok(report) => report,
        Err(StoreError::NotFound(_)) => return Err(not_found()),
        Err(other) => return Err(other.into()),
    };
    if sender.is_some_and(|key| report.api_key_id != Some(key)) {
        return Err(not_found());
    }
    Ok(Json(report_json(&report)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_limit_counts_per_client_and_keeps_no_address() {
        let limiter = ReportLimiter::new(RateLimit {
            reports: 2,
            window: Duration::from_secs(600),
        });
        let (one, two): (IpAddr, IpAddr) =
            ("192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap());
        assert!(limiter.allow(one));
        assert!(limiter.allow(one));
        assert!(!limiter.allow(one));
        assert!(limiter.allow(two));
        // What is kept is a keyed digest: not the address, and another process's key gives
        // another digest for the same address.
        let other = ReportLimiter::new(RateLimit::default());
        assert_ne!(limiter.client(one), other.client(one));
        let kept = limiter.counts.counts.lock().unwrap();
        assert!(kept
            .keys()
            .all(|key| !key.windows(4).any(|w| w == [192, 0, 2, 1])));
    }

    #[test]
    fn emails_are_shaped_or_absent() {
        assert_eq!(check_email("  "), Ok(None));
        assert_eq!(
            check_email("someone@example.org"),
            Ok(Some("someone@example.org".into()))
        );
        for bad in [
            "nobody",
            "a@b",
            "a b@example.org",
            "@example.org",
            "a@.org",
            "a@@b.org",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_must_be_http_and_bounded() {
        let urls = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_urls(&urls(&["https://example.com/a"]), 20, 0).is_ok());
        assert_eq!(
            check_urls(&[], 20, 0).unwrap_err().key,
            "report.error.urls_missing"
        );
        assert!(check_urls(&[], 20, 1).unwrap().is_empty());
        assert_eq!(
            check_urls(&urls(&["javascript:alert(1)"]), 20, 0)
                .unwrap_err()
                .key,
            "report.error.url_invalid"
        );
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_BYTES));
        assert_eq!(
            check_urls(&[long], 20, 0).unwrap_err().key,
            "report.error.url_too_long"
        );
        let many = vec!["https://example.com/".to_string(); 21];
        assert_eq!(
            check_urls(&many, 20, 0).unwrap_err().key,
            "report.error.urls_too_many"
        );
    }
}
