//! Cases: items grouped for one referral, with notes, files (encrypted like attachments) and a
//! timeline, and their exports through vigie-hotline's writers: NCMEC CyberTipline XML, ICCAM
//! JSON, Project VIC VICS 2.0 JSON and the police referral zip. Each export is audited before
//! it is answered; the referral zip carries the items' media still sealed, never a key.
//!
//! A case's files are opened only to be downloaded, each download audited
//! (`case.file.download`). A file that is an image or a video is media, held to the rule of
//! items' media: it leaves only after an explicit confirmation (a form of the case page), and
//! that download is a reveal in the analyst's exposure of the day, under the daily limit.

use std::sync::Arc;

use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form};
use serde::Deserialize;
use serde_json::json;
use vigie_hotline::export::{self, CaseExport};
use vigie_store::{
    case_target, item_target, utc_day_start, CaseFile, CaseFileRevealRequest, RevealOutcome,
    TimelineEvent, CASE_FILE_ACTION, CASE_NOTE_ACTION,
};

use crate::auth::Principal;
use crate::error::ApiError;
use crate::triage::{
    clock_text, decision_text, describe, limit_reached, open_sealed, person, status_text,
    with_exposure, CsrfForm,
};
use crate::web::{self, Page};
use crate::{audit, audit_entry, now, AppState};

#[derive(askama::Template)]
#[template(path = "cases/list.html")]
struct CasesPage {
    page: Page,
    cases: Vec<vigie_store::Case>,
}

/// `GET /cases`.
pub async fn cases_page(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    page: Page,
) -> Result<Response, ApiError> {
    let page = with_exposure(&state, &principal, page).await?;
    let cases = state.store.cases().await?;
    let shown = CasesPage { page, cases };
    Ok(web::render(&shown.page, &shown))
}

#[derive(Debug, Deserialize)]
pub struct NewCaseForm {
    csrf: String,
    title: String,
}

/// `POST /cases`: opens a case and shows it.
pub async fn create_case(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    Form(form): Form<NewCaseForm>,
) -> Result<Response, ApiError> {
    web::check_csrf(&headers, &form.csrf)?;
    let user = person(&principal)?;
    let case = state
        .store
        .create_case(&form.title, user.id, |case| {
            audit_entry(
                &principal,
                "case.create",
                &case_target(case.id),
                json!({"title": case.title}),
            )
        })
        .await?;
    Ok(to_case(case.id))
}

#[derive(askama::Template)]
#[template(path = "cases/case.html")]
struct CasePage {
    page: Page,
    case: vigie_store::Case,
    items: Vec<CaseItemRow>,
    notes: Vec<(String, String, String)>,
    files: Vec<FileRow>,
    timeline: Vec<(String, String, String)>,
    /// Why an action did not take, when one did not.
    message: Option<String>,
}

struct FileRow {
    id: i64,
    name: String,
    media_type: String,
    size: i64,
    sha256: String,
    /// An image or a video: downloaded only through the confirmation form.
    media: bool,
}

struct CaseItemRow {
    id: i64,
    what: String,
    /// Its status and decision, in words.
    status: String,
    decision: String,
}

/// `GET /cases/{case_id}`: its items, notes, files and timeline.
pub async fn case_page(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(case_id): Path<i64>,
    page: Page,
) -> Result<Response, ApiError> {
    render_case(&state, &principal, case_id, page, None, StatusCode::OK).await
}

/// The case page, with `message` (why an action did not take) answered with `status`.
async fn render_case(
    state: &AppState,
    principal: &Principal,
    case_id: i64,
    page: Page,
    message: Option<String>,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let page = with_exposure(state, principal, page).await?;
    let case = state.store.case(case_id).await?;
    let items = state
        .store
        .case_items(case_id)
        .await?
        .into_iter()
        .map(|item| CaseItemRow {
            id: item.id,
            what: describe(&item),
            status: status_text(page.t, &item),
            decision: decision_text(page.t, &item),
        })
        .collect();
    let notes = state
        .store
        .case_notes(case_id)
        .await?
        .into_iter()
        .map(|note| (time_text(note.created_at), note.author_name, note.body))
        .collect();
    let files = state
        .store
        .case_files(case_id)
        .await?
        .into_iter()
        .map(|file| FileRow {
            id: file.id,
            media: is_media(&file.media_type),
            name: file.file_name,
            media_type: file.media_type,
            size: file.size,
            sha256: file.sha256,
        })
        .collect();
    let timeline = state
        .store
        .case_timeline(case_id)
        .await?
        .into_iter()
        .map(|event| match event {
            TimelineEvent::Note(note) => (
                time_text(note.created_at),
                note.author_name,
                format!("{CASE_NOTE_ACTION}: {}", note.body),
            ),
            TimelineEvent::File(file) => (
                time_text(file.added_at),
                file.added_by_name,
                format!("{CASE_FILE_ACTION}: {}", file.file_name),
            ),
            TimelineEvent::Audit(row) => (
                time_text(row.at),
                row.actor,
                format!("{} {}", row.action, row.target),
            ),
        })
        .collect();
    let shown = CasePage {
        page,
        case,
        items,
        notes,
        files,
        timeline,
        message,
    };
    Ok(web::render_with_status(status, &shown.page, &shown))
}

#[derive(Debug, Deserialize)]
pub struct ToCaseForm {
    csrf: String,
    /// An open case, or empty to open a new one titled `new_title`.
    #[serde(default)]
    case_id: String,
    #[serde(default)]
    new_title: String,
}

/// `POST /triage/items/{item_id}/case`: puts the item in an open case, or in a new one.
pub async fn add_item(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(item_id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<ToCaseForm>,
) -> Result<Response, ApiError> {
    web::check_csrf(&headers, &form.csrf)?;
    let user = person(&principal)?;
    let case_id = if form.new_title.trim().is_empty() {
        form.case_id
            .parse::<i64>()
            .map_err(|_| ApiError::invalid("invalid_case", "choose a case or give a title"))?
    } else {
        state
            .store
            .create_case(&form.new_title, user.id, |case| {
                audit_entry(
                    &principal,
                    "case.create",
                    &case_target(case.id),
                    json!({"title": case.title}),
                )
            })
            .await?
            .id
    };
    let audit = audit_entry(
        &principal,
        "case.add_item",
        &case_target(case_id),
        json!({"item": item_target(item_id)}),
    );
    state.store.add_case_item(case_id, item_id, &audit).await?;
    Ok(to_case(case_id))
}

/// `POST /cases/{case_id}/items/{item_id}/remove`.
pub async fn remove_item(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path((case_id, item_id)): Path<(i64, i64)>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    web::check_csrf(&headers, &form.csrf)?;
    let audit = audit_entry(
        &principal,
        "case.remove_item",
        &case_target(case_id),
        json!({"item": item_target(item_id)}),
    );
    state
        .store
        .remove_case_item(case_id, item_id, &audit)
        .await?;
    Ok(to_case(case_id))
}

#[derive(Debug, Deserialize)]
pub struct NoteForm {
    csrf: String,
    body: String,
}

/// `POST /cases/{case_id}/notes`.
pub async fn add_note(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(case_id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<NoteForm>,
) -> Result<Response, ApiError> {
    web::check_csrf(&headers, &form.csrf)?;
    let user = person(&principal)?;
    state
        .store
        .add_case_note(case_id, user.id, &form.body, |note| {
            audit_entry(
                &principal,
                CASE_NOTE_ACTION,
                &case_target(case_id),
                json!({"note": note.id}),
            )
        })
        .await?;
    Ok(to_case(case_id))
}

/// `POST /cases/{case_id}/files` (multipart: `csrf`, then `file`): the file is sniffed, hashed
/// and sealed with the vault's current key before it is stored.
pub async fn add_file(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(case_id): Path<i64>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let user = person(&principal)?;
    let mut csrf = None;
    let mut upload = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|error| ApiError::invalid("invalid_upload", error.to_string()))?
    {
        match field.name() {
            Some("csrf") => {
                csrf = Some(
                    field
                        .text()
                        .await
                        .map_err(|error| ApiError::invalid("invalid_upload", error.to_string()))?,
                )
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("file").to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|error| ApiError::invalid("invalid_upload", error.to_string()))?;
                upload = Some((name, bytes));
            }
            _ => {}
        }
    }
    // The token comes first in the form; nothing is stored without it.
    web::check_csrf(&headers, csrf.as_deref().unwrap_or(""))?;
    let (name, bytes) =
        upload.ok_or_else(|| ApiError::invalid("missing_file", "choose a file to add"))?;
    let keys = crate::triage::vault(&state)?;
    let media_type = vigie_media::sniff(&bytes)
        .unwrap_or("application/octet-stream")
        .to_owned();
    let sha256 = vigie_hash::hex(&<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    let file = vigie_store::NewCaseFile {
        file_name: name,
        media_type,
        size: i64::try_from(bytes.len()).unwrap_or(i64::MAX),
        sha256,
        key_id: keys.current_id().to_owned(),
        sealed: keys.seal(&bytes),
    };
    state
        .store
        .add_case_file(case_id, user.id, &file, |stored| {
            audit_entry(
                &principal,
                CASE_FILE_ACTION,
                &case_target(case_id),
                json!({"file": stored.id, "sha256": stored.sha256}),
            )
        })
        .await?;
    Ok(to_case(case_id))
}

/// The audit action of a case file downloaded.
const CASE_FILE_DOWNLOAD_ACTION: &str = "case.file.download";

/// Whether a case file is media: an image or a video, as its bytes were sniffed when it was
/// added (never its name).
fn is_media(media_type: &str) -> bool {
    media_type.starts_with("image/") || media_type.starts_with("video/")
}

/// `GET /cases/{case_id}/files/{file_id}`: a file that is not media (a letter, a page's text),
/// opened and sent as a download, audited. Media is refused here: it leaves only through the
/// confirmation form of the case page ([`download_media_file`]).
pub async fn download_file(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path((case_id, file_id)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    let file = state.store.case_file(case_id, file_id).await?;
    if is_media(&file.media_type) {
        return Err(ApiError::forbidden(
            "this file is an image or a video: download it with its button on the case page, \
             which asks you to confirm and counts it as a reveal",
        ));
    }
    audit(
        &state,
        &principal,
        CASE_FILE_DOWNLOAD_ACTION,
        &case_target(case_id),
        json!({"file": file.id, "sha256": file.sha256, "media": false}),
    )
    .await?;
    send_file(&state, file).await
}

/// `POST /cases/{case_id}/files/{file_id}`: the confirmed download of a case file that is
/// media. What was chosen: the download is a reveal of the file, counted with the items'
/// reveals in the analyst's exposure of the day and under the same daily limit (a picture a
/// colleague added to a case is as much seen as an item's original), stored by the store with
/// its audit row in one transaction. Unlike an item's reveal it has no expiry, since the bytes
/// leave the server; and the break reminder, which is shown on item pages, is not repeated on
/// a download. Past the limit the case page says why, and nothing is sent or written.
pub async fn download_media_file(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path((case_id, file_id)): Path<(i64, i64)>,
    headers: HeaderMap,
    page: Page,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    web::check_csrf(&headers, &form.csrf)?;
    let user = person(&principal)?;
    let listed = state.store.case_file(case_id, file_id).await?;
    if !is_media(&listed.media_type) {
        return Err(ApiError::invalid(
            "not_media",
            "this file is not an image or a video: download it with its link",
        ));
    }
    let at = now();
    let outcome = state
        .store
        .reveal_case_file(
            &CaseFileRevealRequest {
                case_id,
                file_id,
                user_id: user.id,
                now: at,
                day_start: utc_day_start(at),
                daily_limit: state.config.hotline.daily_limit(),
            },
            |file| {
                audit_entry(
                    &principal,
                    CASE_FILE_DOWNLOAD_ACTION,
                    &case_target(case_id),
                    json!({"file": file.id, "sha256": file.sha256, "media": true}),
                )
            },
        )
        .await?;
    match outcome {
        RevealOutcome::Revealed { reveal: file, .. } => send_file(&state, file).await,
        RevealOutcome::LimitReached { items_today } => {
            let why = limit_reached(page.t, items_today);
            render_case(
                &state,
                &principal,
                case_id,
                page,
                Some(why),
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await
        }
    }
}

/// A case file's opened bytes as a download that no one caches, under a name made safe for
/// the header (the name is whatever the uploader's file was called).
async fn send_file(state: &AppState, file: CaseFile) -> Result<Response, ApiError> {
    let name: String = file
        .file_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{name}\"");
    let bytes = open_sealed(state, file.sealed).await?;
    Ok((
        [
            (header::CONTENT_TYPE, file.media_type),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// `POST /cases/{case_id}/close`.
pub async fn close_case(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(case_id): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    web::check_csrf(&headers, &form.csrf)?;
    let audit = audit_entry(&principal, "case.close", &case_target(case_id), json!({}));
    state.store.close_case(case_id, &audit).await?;
    Ok(to_case(case_id))
}

/// The formats a case is exported in, by the last part of their path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    CyberTipline,
    Iccam,
    Vics,
    Referral,
}

impl Format {
    fn file_name(self) -> &'static str {
        match self {
            Format::CyberTipline => "cybertipline.xml",
            Format::Iccam => "iccam.json",
            Format::Vics => "vics.json",
            Format::Referral => "referral.zip",
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            Format::CyberTipline => "application/xml",
            Format::Iccam | Format::Vics => "application/json",
            Format::Referral => "application/zip",
        }
    }
}

/// `GET /cases/{case_id}/export/cybertipline.xml`.
pub async fn export_cybertipline(
    state: State<Arc<AppState>>,
    principal: Extension<Principal>,
    case_id: Path<i64>,
) -> Result<Response, ApiError> {
    export_case(state, principal, case_id, Format::CyberTipline).await
}

/// `GET /cases/{case_id}/export/iccam.json`.
pub async fn export_iccam(
    state: State<Arc<AppState>>,
    principal: Extension<Principal>,
    case_id: Path<i64>,
) -> Result<Response, ApiError> {
    export_case(state, principal, case_id, Format::Iccam).await
}

/// `GET /cases/{case_id}/export/vics.json`.
pub async fn export_vics(
    state: State<Arc<AppState>>,
    principal: Extension<Principal>,
    case_id: Path<i64>,
) -> Result<Response, ApiError> {
    export_case(state, principal, case_id, Format::Vics).await
}

/// `GET /cases/{case_id}/export/referral.zip`.
pub async fn export_referral(
    state: State<Arc<AppState>>,
    principal: Extension<Principal>,
    case_id: Path<i64>,
) -> Result<Response, ApiError> {
    export_case(state, principal, case_id, Format::Referral).await
}

/// Gathers the case, audits the export (the audit row is in what the referral carries), writes
/// it and answers it as a download.
async fn export_case(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(case_id): Path<i64>,
    format: Format,
) -> Result<Response, ApiError> {
    let user = person(&principal)?;
    // The case must exist before anything is audited of it.
    state.store.case(case_id).await?;
    audit(
        &state,
        &principal,
        "case.export",
        &case_target(case_id),
        json!({"format": format.file_name()}),
    )
    .await?;
    let case = gather(&state, case_id, &user.name).await?;
    let bytes = tokio::task::spawn_blocking(move || write(&case, format))
        .await
        .map_err(ApiError::internal)??;
    let disposition = format!(
        "attachment; filename=\"case-{case_id}-{}\"",
        format.file_name()
    );
    Ok((
        [
            (header::CONTENT_TYPE, format.media_type().to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

fn write(case: &CaseExport, format: Format) -> Result<Vec<u8>, ApiError> {
    let unexportable = |error: export::ExportError| match error {
        export::ExportError::Unexportable { .. } => {
            ApiError::invalid("unexportable", error.to_string())
        }
        other => ApiError::internal(other),
    };
    let mut out = Vec::new();
    match format {
        Format::CyberTipline => export::write_cybertipline_report(case, &mut out),
        Format::Iccam => export::write_iccam_report(case, &mut out),
        Format::Vics => export::write_vics_case(case, &mut out),
        Format::Referral => {
            export::write_referral_package(case, std::io::Cursor::new(&mut out)).map(|_| ())
        }
    }
    .map_err(unexportable)?;
    Ok(out)
}

/// Everything the exports say of a case, read from the store.
async fn gather(state: &AppState, case_id: i64, analyst: &str) -> Result<CaseExport, ApiError> {
    let case = state.store.case(case_id).await?;
    let settings = &state.config.hotline;
    let mut items = Vec::new();
    let mut evidence = Vec::new();
    for stored in state.store.case_items(case_id).await? {
        let entry = state.store.triage_item(stored.id).await?;
        let media = match state.store.item_media(stored.id).await {
            Ok(media) => Some(media),
            Err(vigie_store::StoreError::NotFound(_)) => None,
            Err(other) => return Err(other.into()),
        };
        if let Some(media) = &media {
            evidence.push(export::Evidence {
                name: format!("item-{}", stored.id),
                sealed: media.sealed.clone(),
            });
        }
        items.push(case_item(entry, media.as_ref())?);
    }
    let mut chain_of_custody = Vec::new();
    let mut audit_lines = Vec::new();
    for event in state.store.case_timeline(case_id).await? {
        if let TimelineEvent::Audit(row) = event {
            chain_of_custody.push(export::CustodyEvent {
                at: row.at,
                actor: row.actor.clone(),
                action: row.action.clone(),
                detail: row.target.clone(),
            });
            audit_lines.push(
                json!({
                    "seq": row.seq,
                    "at": row.at,
                    "actor": row.actor,
                    "action": row.action,
                    "target": row.target,
                    "detail": row.detail,
                    "hash": row.hash,
                })
                .to_string(),
            );
        }
    }
    Ok(CaseExport {
        case_id,
        title: case.title,
        created_at: case.created_at,
        exported_at: now(),
        analyst: analyst.to_owned(),
        hotline: export::Hotline {
            name: settings.name.clone(),
            country: settings.country.clone(),
            contact_email: settings.contact_email.clone(),
            contact_phone: None,
        },
        items,
        reported_people: Vec::new(),
        chain_of_custody,
        audit: audit_lines,
        evidence,
    })
}

/// One item as the exports see it, its stored codes read back through vigie-hotline.
fn case_item(
    entry: vigie_store::QueueEntry,
    media: Option<&vigie_store::ItemMedia>,
) -> Result<export::CaseItem, ApiError> {
    use vigie_hotline::{
        AgeGroup, Decision, Gender, IccamClassification, NcmecCategory, ReportCategory, SiteType,
        VicsCategory,
    };
    let item = entry.item;
    // A code this version does not know was written by a newer one or by hand: say so.
    let unknown = |error: vigie_hotline::UnknownCode| ApiError::internal(error);
    fn read<T>(
        code: &Option<String>,
        parse: impl Fn(&str) -> Result<T, vigie_hotline::UnknownCode>,
    ) -> Result<Option<T>, vigie_hotline::UnknownCode> {
        code.as_deref().map(parse).transpose()
    }
    let reports = entry
        .reports
        .into_iter()
        .map(|report| {
            Ok(export::ReportSummary {
                receipt: report.receipt,
                received_at: report.received_at,
                category: ReportCategory::from_code(&report.category).map_err(unknown)?,
                description: report.description,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let classifier = match (&item.matched_bank, &item.decided_by_name) {
        (Some(bank), _) => bank.clone(),
        (None, Some(name)) => name.clone(),
        (None, None) => String::new(),
    };
    let classified = item.iccam_classification.is_some() || item.ncmec_category.is_some();
    let classification = if classified {
        Some(export::Classification {
            analyst: classifier.clone(),
            classified_at: item.decided_at.unwrap_or(item.last_reported_at),
            iccam: read(&item.iccam_classification, IccamClassification::from_code)
                .map_err(unknown)?,
            site_type: read(&item.site_type, SiteType::from_code).map_err(unknown)?,
            age_group: read(&item.age_group, AgeGroup::from_code).map_err(unknown)?,
            gender: read(&item.gender, Gender::from_code).map_err(unknown)?,
            ncmec: read(&item.ncmec_category, NcmecCategory::from_code).map_err(unknown)?,
            vics: item
                .vics_category
                .map(VicsCategory::from_number)
                .transpose()
                .map_err(unknown)?,
        })
    } else {
        None
    };
    let decision = match (&item.decision, item.decided_at) {
        (Some(code), Some(decided_at)) => Some(export::DecisionRecord {
            decision: Decision::from_code(code).map_err(unknown)?,
            analyst: classifier,
            decided_at,
            // The partner hotline's country: ICCAM records the move as an action there.
            country: item.decision_country.clone(),
            reason: None,
        }),
        _ => None,
    };
    Ok(export::CaseItem {
        item_id: item.id,
        url: item.url.clone(),
        file: media.map(|media| export::ItemFile {
            name: media.file_name.clone(),
            media_type: media.media_type.clone(),
            size: u64::try_from(media.size).unwrap_or_default(),
            md5: media.md5.clone(),
            sha1: media.sha1.clone(),
            sha256: media.sha256.clone(),
            pdq: None,
            viewed: Some(item.reveals > 0),
        }),
        first_reported_at: item.first_reported_at,
        last_reported_at: item.last_reported_at,
        reporters: u32::try_from(item.reporters).unwrap_or(u32::MAX),
        reports,
        hosting_country: None,
        matched_bank: item.matched_bank.clone(),
        classification,
        decision,
    })
}

fn to_case(case_id: i64) -> Response {
    web::see_other(&format!("/cases/{case_id}"))
}

/// A time as `YYYY-MM-DD HH:MM:SS UTC`.
fn time_text(at: i64) -> String {
    let stamp = export::rfc3339(at);
    format!("{} {}", &stamp[..10], clock_text(at))
}
