//! The analyst's pages: the triage queue, an item with its reports, claiming, the blurred
//! thumbnail, the audited time-limited reveal of the original, the classification and
//! decision, and the supervisor's view of everyone's exposure.
//!
//! Analysts see as little as possible. An item's media reaches the browser only as a blurred
//! greyscale thumbnail the server renders (`vigie-media`) from the decrypted bytes, which never
//! leave the server otherwise. The original is served only while a reveal holds: the analyst
//! who claimed the item asks for it explicitly, the reveal is written with its audit row and an
//! expiry ([`HotlineSettings::reveal_seconds`]), a new reveal ends the previous one, and the
//! bytes go out with `Cache-Control: no-store`. Each analyst's items revealed today are counted
//! in the header of every analyst page; past [`HotlineSettings::daily_reveal_limit`] a reveal
//! is refused, and every [`HotlineSettings::break_every`] reveals the page suggests a break.
//!
//! Days are UTC days. Pages work without JavaScript: every action is a form posting with the
//! page's CSRF token, answered by a redirect to the page that shows its result.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use serde_json::json;
use vigie_hotline::{
    AgeGroup, Decision, Gender, IccamClassification, NcmecCategory, SiteType, VicsCategory,
};
use vigie_store::{
    item_target, utc_day_start, Classification, ItemStatus, RevealOutcome, RevealRequest, Role,
    StoreError, User,
};

use crate::auth::Principal;
use crate::countries;
use crate::error::ApiError;
use crate::web::{self, Page, Texts};
use crate::{audit_entry, now, AppState};

/// How the hotline's analysts work, and who the hotline is in what it exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HotlineSettings {
    /// How long a reveal of an original lasts.
    pub reveal_seconds: u64,
    /// How many distinct items one analyst may reveal in a UTC day; 0 for no limit.
    pub daily_reveal_limit: u32,
    /// Suggest a break after every this many reveals in a day; 0 never.
    pub break_every: u32,
    /// The hotline's name, country (ISO 3166-1 alpha-2) and contact address, as exports give
    /// them to recipients.
    pub name: String,
    pub country: String,
    pub contact_email: String,
}

impl HotlineSettings {
    /// The daily limit as the store takes it: `None` for no limit.
    pub(crate) fn daily_limit(&self) -> Option<i64> {
        (self.daily_reveal_limit > 0).then_some(i64::from(self.daily_reveal_limit))
    }
}

impl Default for HotlineSettings {
    fn default() -> Self {
        HotlineSettings {
            reveal_seconds: 60,
            daily_reveal_limit: 50,
            break_every: 10,
            name: "Vigie hotline".into(),
            country: "FR".into(),
            contact_email: "hotline@example.invalid".into(),
        }
    }
}

/// The most items the queue page lists.
const QUEUE_PAGE: i64 = 200;

/// The most resolved items the queue page lists under it.
const RESOLVED_PAGE: i64 = 50;

/// The signed-in person of a triage route (the route table lets only people through).
pub(crate) fn person(principal: &Principal) -> Result<&User, ApiError> {
    match principal {
        Principal::User(user) => Ok(user),
        _ => Err(ApiError::forbidden("sign in as an analyst")),
    }
}

/// Fills the header's exposure counter (items revealed since the UTC day began) for a
/// person who works the queue; read-only accounts have none.
pub(crate) async fn with_exposure(
    state: &AppState,
    principal: &Principal,
    mut page: Page,
) -> Result<Page, ApiError> {
    if let Principal::User(user) = principal {
        if matches!(user.role, Role::Analyst | Role::Admin) {
            let day = utc_day_start(now());
            page.exposure = Some(state.store.revealed_today(user.id, day).await?);
        }
    }
    Ok(page)
}

#[derive(askama::Template)]
#[template(path = "triage/queue.html")]
struct QueuePage {
    page: Page,
    queue: Vec<QueueRow>,
    resolved: Vec<ResolvedRow>,
}

struct QueueRow {
    id: i64,
    what: String,
    /// The most urgent category, in words.
    category: String,
    urgency: i64,
    reporters: i64,
    waiting: String,
    claimed_by: String,
}

struct ResolvedRow {
    id: i64,
    what: String,
    /// The status code (the row's class) and its words.
    status: String,
    status_text: String,
    by: String,
    /// The decision, in words.
    decision: String,
    reveals: i64,
}

/// `GET /triage`: the queue, most urgent first, and what was resolved lately (known material
/// among it, resolved from a bank with no reveal).
pub async fn queue_page(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    page: Page,
) -> Result<Response, ApiError> {
    let page = with_exposure(&state, &principal, page).await?;
    let at = now();
    let queue = state
        .store
        .triage_queue(QUEUE_PAGE)
        .await?
        .into_iter()
        .map(|entry| QueueRow {
            id: entry.item.id,
            what: describe(&entry.item),
            category: page.t.label("report.category", &entry.item.category),
            urgency: entry.item.urgency,
            reporters: entry.item.reporters,
            waiting: vigie_figures::duration_text(at - entry.item.first_reported_at),
            claimed_by: entry.item.claimed_by_name.clone().unwrap_or_default(),
        })
        .collect();
    let resolved = state
        .store
        .resolved_items(RESOLVED_PAGE)
        .await?
        .into_iter()
        .map(|item| ResolvedRow {
            id: item.id,
            what: describe(&item),
            status: item.status.as_str().to_owned(),
            status_text: status_text(page.t, &item),
            by: match item.status {
                ItemStatus::Known => item.matched_bank.clone().unwrap_or_default(),
                _ => item.decided_by_name.clone().unwrap_or_default(),
            },
            decision: decision_text(page.t, &item),
            reveals: item.reveals,
        })
        .collect();
    let shown = QueuePage {
        page,
        queue,
        resolved,
    };
    Ok(web::render(&shown.page, &shown))
}

#[derive(askama::Template)]
#[template(path = "triage/item.html")]
struct ItemPage {
    page: Page,
    item: vigie_store::TriageItem,
    what: String,
    /// The item's category, status and decision in words (the decision empty if none).
    category: String,
    status: String,
    decision: String,
    reports: Vec<vigie_store::ReportSummary>,
    has_media: bool,
    mine: bool,
    claimed_by: String,
    /// The reveal open now, as "until" text, if this analyst has one on this item.
    revealed_until: Option<String>,
    message: Option<String>,
    take_a_break: bool,
    options: ClassificationOptions,
    open_cases: Vec<(i64, String)>,
    takedown: Option<crate::takedown::TakedownView>,
}

/// The form's menus: each scheme's (code, words) pairs. The codes are what the form sends; the
/// words, in the analyst's language, are what the menu shows.
struct ClassificationOptions {
    iccam: Vec<(String, String)>,
    site_types: Vec<(String, String)>,
    age_groups: Vec<(String, String)>,
    genders: Vec<(String, String)>,
    ncmec: Vec<(String, String)>,
    vics: Vec<(String, String)>,
    decisions: Vec<(String, String)>,
}

impl ClassificationOptions {
    fn new(t: &Texts) -> Self {
        fn menu<'a>(
            t: &Texts,
            prefix: &str,
            codes: impl IntoIterator<Item = &'a str>,
        ) -> Vec<(String, String)> {
            codes
                .into_iter()
                .map(|code| (code.to_owned(), t.label(prefix, code)))
                .collect()
        }
        let vics: Vec<String> = VicsCategory::ALL
            .iter()
            .map(|c| c.number().to_string())
            .collect();
        ClassificationOptions {
            iccam: menu(
                t,
                "triage.iccam",
                IccamClassification::ALL.iter().map(|c| c.code()),
            ),
            site_types: menu(
                t,
                "triage.site_type",
                SiteType::ALL.iter().map(|c| c.code()),
            ),
            age_groups: menu(
                t,
                "triage.age_group",
                AgeGroup::ALL.iter().map(|c| c.code()),
            ),
            genders: menu(t, "triage.gender", Gender::ALL.iter().map(|c| c.code())),
            ncmec: menu(
                t,
                "triage.ncmec",
                NcmecCategory::ALL.iter().map(|c| c.code()),
            ),
            vics: menu(t, "triage.vics", vics.iter().map(String::as_str)),
            decisions: menu(t, "triage.decision", Decision::ALL.iter().map(|c| c.code())),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ItemQuery {
    /// Set after a reveal when the analyst has seen `break_every` more.
    #[serde(default, rename = "break")]
    take_a_break: Option<String>,
}

/// `GET /triage/items/{item_id}`.
pub async fn item_page(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(item_id): Path<i64>,
    Query(query): Query<ItemQuery>,
    page: Page,
) -> Result<Response, ApiError> {
    let user = person(&principal)?;
    render_item(
        &state,
        &principal,
        user,
        item_id,
        page,
        None,
        query.take_a_break.is_some(),
    )
    .await
}

/// The item page, with `message` (why an action did not take) when there is one.
async fn render_item(
    state: &AppState,
    principal: &Principal,
    user: &User,
    item_id: i64,
    page: Page,
    message: Option<String>,
    take_a_break: bool,
) -> Result<Response, ApiError> {
    let page = with_exposure(state, principal, page).await?;
    let entry = state.store.triage_item(item_id).await?;
    let item = entry.item;
    let mine = item.status == ItemStatus::Claimed && item.claimed_by == Some(user.id);
    let revealed_until = if mine {
        state
            .store
            .open_reveal(item_id, user.id, now())
            .await?
            .map(|reveal| clock_text(reveal.expires_at))
    } else {
        None
    };
    let open_cases = state
        .store
        .cases()
        .await?
        .into_iter()
        .filter(|case| case.status == "open")
        .map(|case| (case.id, case.title))
        .collect();
    let status = if message.is_some() {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    let t = page.t;
    let shown = ItemPage {
        page,
        what: describe(&item),
        category: t.label("report.category", &item.category),
        status: status_text(t, &item),
        decision: decision_text(t, &item),
        has_media: item.media_type.is_some(),
        claimed_by: item.claimed_by_name.clone().unwrap_or_default(),
        item,
        reports: entry.reports,
        mine,
        revealed_until,
        message,
        take_a_break,
        options: ClassificationOptions::new(t),
        open_cases,
        takedown: crate::takedown::takedown_view(state, item_id).await?,
    };
    Ok(web::render_with_status(status, &shown.page, &shown))
}

/// A form with only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    pub(crate) csrf: String,
}

/// `POST /triage/items/{item_id}/claim`: the item becomes this analyst's; someone else's
/// claim is shown on the item page.
pub async fn claim(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(item_id): Path<i64>,
    headers: HeaderMap,
    page: Page,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    web::check_csrf(&headers, &form.csrf)?;
    let user = person(&principal)?;
    let audit = audit_entry(&principal, "item.claim", &item_target(item_id), json!({}));
    match state
        .store
        .claim_item(item_id, user.id, now(), &audit)
        .await
    {
        Ok(_) => Ok(to_item(item_id)),
        Err(StoreError::Conflict(why)) => {
            render_item(&state, &principal, user, item_id, page, Some(why), false).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /triage/items/{item_id}/release`: back to the queue. An administrator may release
/// anyone's claim (the items of someone gone home).
pub async fn release(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(item_id): Path<i64>,
    headers: HeaderMap,
    page: Page,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    web::check_csrf(&headers, &form.csrf)?;
    let user = person(&principal)?;
    let supervisor = user.role == vigie_store::Role::Admin;
    let audit = audit_entry(&principal, "item.release", &item_target(item_id), json!({}));
    match state
        .store
        .release_item(item_id, user.id, supervisor, &audit)
        .await
    {
        Ok(_) => Ok(web::see_other("/triage")),
        Err(StoreError::Conflict(why)) => {
            render_item(&state, &principal, user, item_id, page, Some(why), false).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /triage/items/{item_id}/reveal`: opens the original for the configured time, if the
/// analyst holds the item and is under the daily limit.
pub async fn reveal(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(item_id): Path<i64>,
    headers: HeaderMap,
    page: Page,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    web::check_csrf(&headers, &form.csrf)?;
    let user = person(&principal)?;
    let settings = &state.config.hotline;
    let entry = state.store.triage_item(item_id).await?;
    if entry.item.media_type.is_none() {
        let why = page.t.get("triage.no_media").to_owned();
        return render_item(&state, &principal, user, item_id, page, Some(why), false).await;
    }
    let at = now();
    let lifetime_ms =
        i64::try_from(settings.reveal_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
    let outcome = state
        .store
        .reveal_item(
            &RevealRequest {
                item_id,
                user_id: user.id,
                now: at,
                lifetime_ms,
                day_start: utc_day_start(at),
                daily_limit: settings.daily_limit(),
            },
            |reveal| {
                audit_entry(
                    &principal,
                    "item.reveal",
                    &item_target(item_id),
                    json!({"reveal": reveal.id, "expires_at": reveal.expires_at}),
                )
            },
        )
        .await;
    match outcome {
        Ok(RevealOutcome::Revealed { reveals_today, .. }) => {
            let every = i64::from(settings.break_every);
            let pause = every > 0 && reveals_today % every == 0;
            let target = if pause {
                format!("/triage/items/{item_id}?break=1")
            } else {
                format!("/triage/items/{item_id}")
            };
            Ok(web::see_other(&target))
        }
        Ok(RevealOutcome::LimitReached { items_today }) => {
            let why = limit_reached(page.t, items_today);
            let mut refused =
                render_item(&state, &principal, user, item_id, page, Some(why), false).await?;
            *refused.status_mut() = StatusCode::TOO_MANY_REQUESTS;
            Ok(refused)
        }
        Err(StoreError::Conflict(why)) => {
            render_item(&state, &principal, user, item_id, page, Some(why), false).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `GET /triage/items/{item_id}/thumbnail`: the media blurred and grey, as PNG. The original's
/// bytes are decrypted here and go no further.
pub async fn thumbnail(
    State(state): State<Arc<AppState>>,
    Path(item_id): Path<i64>,
) -> Result<Response, ApiError> {
    let media = state.store.item_media(item_id).await?;
    let keys = vault(&state)?;
    let png = tokio::task::spawn_blocking(move || {
        let original = keys.open(&media.sealed).map_err(ApiError::internal)?;
        vigie_media::blurred_thumbnail(&original, &vigie_media::ThumbnailOptions::default())
            .map(|thumbnail| thumbnail.png)
            .map_err(|error| ApiError::invalid("not_an_image", error.to_string()))
    })
    .await
    .map_err(ApiError::internal)??;
    Ok((
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        png,
    )
        .into_response())
}

/// `GET /triage/items/{item_id}/original`: the original bytes while this analyst's reveal of
/// the item holds, never cached; 403 otherwise.
pub async fn original(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(item_id): Path<i64>,
) -> Result<Response, ApiError> {
    let user = person(&principal)?;
    // An item that does not exist is not found, whoever asks; one not revealed is refused.
    state.store.triage_item(item_id).await?;
    if state
        .store
        .open_reveal(item_id, user.id, now())
        .await?
        .is_none()
    {
        return Err(ApiError::forbidden(
            "the original is shown only while your reveal of it holds: reveal it first",
        ));
    }
    let media = state.store.item_media(item_id).await?;
    let bytes = open_sealed(&state, media.sealed).await?;
    Ok((
        [
            (header::CONTENT_TYPE, media.media_type.as_str()),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_DISPOSITION, "inline"),
        ],
        bytes,
    )
        .into_response())
}

/// Why a reveal past the daily limit is refused, in the analyst's words.
pub(crate) fn limit_reached(t: &Texts, items_today: i64) -> String {
    t.get("triage.limit_reached")
        .replace("{count}", &items_today.to_string())
}

/// Decrypts what the intake or a case sealed, off the async threads.
pub(crate) async fn open_sealed(state: &AppState, sealed: Vec<u8>) -> Result<Vec<u8>, ApiError> {
    let keys = vault(state)?;
    tokio::task::spawn_blocking(move || keys.open(&sealed))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)
}

/// The vault's keys, to open what the intake sealed; a server without them has no media.
pub(crate) fn vault(state: &AppState) -> Result<vigie_vault::KeyRing, ApiError> {
    state
        .config
        .vault
        .clone()
        .ok_or_else(|| ApiError::internal("no vault key is configured to open stored media"))
}

/// The classification form: every scheme's code as vigie-hotline spells it; empty for none.
/// `decision_country` is the partner hotline's country, for `partner_hotline` only.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    csrf: String,
    iccam: String,
    #[serde(default)]
    site_type: String,
    #[serde(default)]
    age_group: String,
    #[serde(default)]
    gender: String,
    #[serde(default)]
    ncmec: String,
    #[serde(default)]
    vics: String,
    decision: String,
    #[serde(default)]
    decision_country: String,
}

impl DecisionForm {
    /// The classification, each code checked against its scheme, or why not, in words for the
    /// form (`t`). Forwarding to a partner hotline needs the country of that hotline, an
    /// assigned ISO 3166-1 code other than `own_country` (content hosted at home is this
    /// hotline's to act on); no other decision takes a country.
    fn classification(&self, t: &Texts, own_country: &str) -> Result<Classification, String> {
        let bad = |error: vigie_hotline::UnknownCode| error.to_string();
        fn optional<T>(
            code: &str,
            parse: impl Fn(&str) -> Result<T, vigie_hotline::UnknownCode>,
        ) -> Result<Option<String>, vigie_hotline::UnknownCode> {
            if code.is_empty() {
                Ok(None)
            } else {
                parse(code).map(|_| Some(code.to_owned()))
            }
        }
        let vics = if self.vics.is_empty() {
            None
        } else {
            let number: i64 = self
                .vics
                .parse()
                .map_err(|_| "a Project VIC category is 0 to 4".to_owned())?;
            VicsCategory::from_number(number).map_err(bad)?;
            Some(number)
        };
        IccamClassification::from_code(&self.iccam).map_err(bad)?;
        let decision = Decision::from_code(&self.decision).map_err(bad)?;
        let typed = self.decision_country.trim();
        let decision_country = match (decision, typed.is_empty()) {
            (Decision::ForwardToPartnerHotline, true) => {
                return Err(t.get("triage.error.country_missing").to_owned())
            }
            (Decision::ForwardToPartnerHotline, false) => match countries::parse(typed) {
                Some(code) if code.eq_ignore_ascii_case(own_country) => {
                    return Err(t.get("triage.error.country_own").replace("{country}", code))
                }
                Some(code) => Some(code.to_owned()),
                None => {
                    return Err(t
                        .get("triage.error.country_invalid")
                        .replace("{typed}", typed))
                }
            },
            (_, true) => None,
            (_, false) => return Err(t.get("triage.error.country_unexpected").to_owned()),
        };
        Ok(Classification {
            iccam_classification: self.iccam.clone(),
            site_type: optional(&self.site_type, SiteType::from_code).map_err(bad)?,
            age_group: optional(&self.age_group, AgeGroup::from_code).map_err(bad)?,
            gender: optional(&self.gender, Gender::from_code).map_err(bad)?,
            ncmec_category: optional(&self.ncmec, NcmecCategory::from_code).map_err(bad)?,
            vics_category: vics,
            decision: self.decision.clone(),
            decision_country,
        })
    }
}

/// `POST /triage/items/{item_id}/decide`: classifies and decides a claimed item; it leaves the
/// queue.
pub async fn decide(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(item_id): Path<i64>,
    headers: HeaderMap,
    page: Page,
    Form(form): Form<DecisionForm>,
) -> Result<Response, ApiError> {
    web::check_csrf(&headers, &form.csrf)?;
    let user = person(&principal)?;
    let classification = match form.classification(page.t, &state.config.hotline.country) {
        Ok(classification) => classification,
        Err(why) => {
            let mut refused =
                render_item(&state, &principal, user, item_id, page, Some(why), false).await?;
            *refused.status_mut() = StatusCode::BAD_REQUEST;
            return Ok(refused);
        }
    };
    let audit = audit_entry(
        &principal,
        "item.decide",
        &item_target(item_id),
        json!({
            "iccam": classification.iccam_classification,
            "site_type": classification.site_type,
            "age_group": classification.age_group,
            "gender": classification.gender,
            "ncmec": classification.ncmec_category,
            "vics": classification.vics_category,
            "decision": classification.decision,
            "country": classification.decision_country,
        }),
    );
    match state
        .store
        .decide_item(item_id, user.id, &classification, now(), &audit)
        .await
    {
        Ok(_) => Ok(to_item(item_id)),
        Err(StoreError::Conflict(why)) => {
            render_item(&state, &principal, user, item_id, page, Some(why), false).await
        }
        Err(other) => Err(other.into()),
    }
}

#[derive(askama::Template)]
#[template(path = "triage/exposure.html")]
struct ExposurePage {
    page: Page,
    rows: Vec<vigie_store::Exposure>,
    limit: u32,
}

/// `GET /triage/exposure`: the supervisor's view: every analyst's items revealed today.
pub async fn exposure_page(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    page: Page,
) -> Result<Response, ApiError> {
    let page = with_exposure(&state, &principal, page).await?;
    let rows = state.store.exposure(utc_day_start(now())).await?;
    let shown = ExposurePage {
        page,
        rows,
        limit: state.config.hotline.daily_reveal_limit,
    };
    Ok(web::render(&shown.page, &shown))
}

/// After an action on an item, its page.
fn to_item(item_id: i64) -> Response {
    web::see_other(&format!("/triage/items/{item_id}"))
}

/// How an item is named in lists: its URL, or its file's hash.
pub(crate) fn describe(item: &vigie_store::TriageItem) -> String {
    match (&item.url, &item.sha256) {
        (Some(url), _) => url.clone(),
        (None, Some(sha256)) => format!("file {}", &sha256[..sha256.len().min(16)]),
        (None, None) => format!("item {}", item.id),
    }
}

/// An item's status in words.
pub(crate) fn status_text(t: &Texts, item: &vigie_store::TriageItem) -> String {
    t.label("triage.status", item.status.as_str())
}

/// An item's decision in words, with the partner's country when forwarded; empty while it has
/// none.
pub(crate) fn decision_text(t: &Texts, item: &vigie_store::TriageItem) -> String {
    match (&item.decision, &item.decision_country) {
        (Some(code), Some(country)) => format!("{} ({country})", t.label("triage.decision", code)),
        (Some(code), None) => t.label("triage.decision", code),
        (None, _) => String::new(),
    }
}

/// A time of day in UTC, `HH:MM:SS`.
pub(crate) fn clock_text(at: i64) -> String {
    let seconds = at.div_euclid(1000).rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02} UTC",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_of_day_are_in_utc() {
        assert_eq!(clock_text(3_600_000 + 61_000), "01:01:01 UTC");
    }

    #[test]
    fn every_code_of_every_menu_has_words_in_both_languages() {
        for lang in web::Lang::ALL {
            let options = ClassificationOptions::new(web::texts(lang));
            let menus = [
                &options.iccam,
                &options.site_types,
                &options.age_groups,
                &options.genders,
                &options.ncmec,
                &options.vics,
                &options.decisions,
            ];
            for (code, words) in menus.into_iter().flatten() {
                // A code without words would show as itself.
                assert_ne!(code, words, "{code} in {}", lang.code());
            }
        }
    }

    #[test]
    fn a_decision_form_takes_only_known_codes() {
        let t = web::texts(web::Lang::En);
        let form = |iccam: &str, vics: &str, decision: &str, country: &str| DecisionForm {
            csrf: String::new(),
            iccam: iccam.into(),
            site_type: "forum".into(),
            age_group: String::new(),
            gender: String::new(),
            ncmec: "a1".into(),
            vics: vics.into(),
            decision: decision.into(),
            decision_country: country.into(),
        };
        let check = |form: DecisionForm| form.classification(t, "FR");
        let good = check(form("baseline", "1", "law_enforcement", "")).expect("known codes");
        assert_eq!(good.site_type.as_deref(), Some("forum"));
        assert_eq!(good.age_group, None);
        assert_eq!(good.vics_category, Some(1));
        assert_eq!(good.decision_country, None);
        assert!(check(form("illegal", "1", "law_enforcement", "")).is_err());
        assert!(check(form("baseline", "7", "law_enforcement", "")).is_err());
        assert!(check(form("baseline", "", "burn_it", "")).is_err());
        // A partner hotline is abroad, in a country that exists.
        let forwarded = check(form("baseline", "", "partner_hotline", " de ")).expect("DE");
        assert_eq!(forwarded.decision_country.as_deref(), Some("DE"));
        for country in ["", "XX", "Germany", "fr"] {
            assert!(check(form("baseline", "", "partner_hotline", country)).is_err());
        }
        assert!(check(form("baseline", "", "notice_to_host", "DE")).is_err());
    }
}
