//! The route table and the router built from it.
//!
//! Every route is one row of [`ROUTES`]: method, path, and the permission it needs. The router
//! is built from the same rows, and the authorisation layer looks each request's matched route
//! up in the table: a route missing from it is refused to everyone, so a new route cannot be
//! reached before someone decides who may reach it. The authorisation matrix test walks the
//! table with every kind of caller.

use std::sync::Arc;

use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{MatchedPath, RawPathParams, Request, State};
use axum::http::{header, HeaderMap, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::auth::{secret_digest, Permission, Principal};
use crate::error::ApiError;
use crate::{cases, figures, hma, intake, metrics, setup, triage, web, AppState};

/// One route: what it answers and who may call it.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub permission: Permission,
    /// One line for the OpenAPI document.
    pub summary: &'static str,
}

const fn route(
    method: &'static str,
    path: &'static str,
    permission: Permission,
    summary: &'static str,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        permission,
        summary,
    }
}

/// Every route the server answers.
pub const ROUTES: &[RouteSpec] = &[
    route(
        "GET",
        "/api/openapi.json",
        Permission::Public,
        "This document",
    ),
    route("GET", "/status", Permission::Public, "Liveness: I-AM-ALIVE"),
    route(
        "GET",
        "/setup",
        Permission::Public,
        "The one-time form that creates the first administrator",
    ),
    route(
        "POST",
        "/setup",
        Permission::Public,
        "Create the first administrator with the setup token",
    ),
    route(
        "GET",
        "/static/vigie.css",
        Permission::Public,
        "The style sheet of the web pages",
    ),
    route("GET", "/login", Permission::Public, "The sign-in form"),
    route(
        "POST",
        "/login",
        Permission::Public,
        "Sign in (JSON or the sign-in form) with a name and password; sets the session cookie",
    ),
    route("POST", "/logout", Permission::Public, "End the session"),
    route(
        "GET",
        "/report",
        Permission::Public,
        "The public report form (no account; English and French)",
    ),
    route(
        "POST",
        "/report",
        Permission::Public,
        "Send a report from the form: 201 with the receipt",
    ),
    route(
        "POST",
        "/api/v1/reports",
        Permission::Report,
        "A partner's report (JSON, Idempotency-Key): 201 with the receipt and its items",
    ),
    route(
        "POST",
        "/api/v1/reports/bulk",
        Permission::Report,
        "Many reports, one JSON object a line: one result line each, in order",
    ),
    route(
        "GET",
        "/api/v1/reports/{receipt}",
        Permission::Report,
        "A report this key sent and its items' status",
    ),
    route(
        "GET",
        "/h/hash",
        Permission::Hash,
        "Fetch a URL (public addresses only) and hash what it serves",
    ),
    route(
        "POST",
        "/h/hash",
        Permission::Hash,
        "Hash an uploaded file: PDQ, MD5, SHA-1, SHA-256",
    ),
    route(
        "GET",
        "/m/lookup",
        Permission::Lookup,
        "Look a hash up, or with url= what a URL serves: matches by bank",
    ),
    route(
        "POST",
        "/m/lookup",
        Permission::Lookup,
        "Hash an uploaded file and look its hashes up",
    ),
    route(
        "POST",
        "/m/lookup/batch",
        Permission::Lookup,
        "Look many hashes up in one request: results in order",
    ),
    route(
        "GET",
        "/m/raw_lookup",
        Permission::Lookup,
        "Look a hash up: content ids, optionally with distances",
    ),
    route(
        "POST",
        "/m/compare",
        Permission::Lookup,
        "Compare pairs of hashes: match and distance",
    ),
    route(
        "GET",
        "/m/index/status",
        Permission::Lookup,
        "Size and progress of the index of each signal type",
    ),
    route(
        "GET",
        "/c/signal_type",
        Permission::BankRead,
        "The signal types and whether they are enabled",
    ),
    route("GET", "/c/banks", Permission::BankRead, "List banks"),
    route("POST", "/c/banks", Permission::BankWrite, "Create a bank"),
    route(
        "GET",
        "/c/bank/{bank_name}",
        Permission::BankRead,
        "One bank",
    ),
    route(
        "PUT",
        "/c/bank/{bank_name}",
        Permission::BankWrite,
        "Change a bank (name, enabled ratio, source, category, threshold)",
    ),
    route(
        "DELETE",
        "/c/bank/{bank_name}",
        Permission::BankWrite,
        "Delete a bank and its contents",
    ),
    route(
        "POST",
        "/c/bank/{bank_name}/content",
        Permission::BankWrite,
        "Bank an uploaded file",
    ),
    route(
        "POST",
        "/c/bank/{bank_name}/signal",
        Permission::BankWrite,
        "Bank content given by its hashes",
    ),
    route(
        "GET",
        "/c/bank/{bank_name}/content/{content_id}",
        Permission::BankRead,
        "One banked content",
    ),
    route(
        "PUT",
        "/c/bank/{bank_name}/content/{content_id}",
        Permission::BankWrite,
        "Enable or disable a content, set its category",
    ),
    route(
        "DELETE",
        "/c/bank/{bank_name}/content/{content_id}",
        Permission::BankWrite,
        "Remove a content",
    ),
    route(
        "GET",
        "/metrics",
        Permission::Metrics,
        "Prometheus metrics: requests by route, latency, index size, change-log position",
    ),
    route(
        "POST",
        "/admin/users",
        Permission::Admin,
        "Create an account",
    ),
    route(
        "POST",
        "/admin/api_keys",
        Permission::Admin,
        "Create an API key (shown once)",
    ),
    route(
        "DELETE",
        "/admin/api_keys/{key_id}",
        Permission::Admin,
        "Revoke an API key",
    ),
    route(
        "GET",
        "/admin/audit/verify",
        Permission::Admin,
        "Check the audit log chain",
    ),
    route(
        "GET",
        "/triage",
        Permission::Triage,
        "The triage queue, most urgent first, and the items resolved lately",
    ),
    route(
        "GET",
        "/triage/exposure",
        Permission::Admin,
        "The supervisor's view: every analyst's items revealed today",
    ),
    route(
        "GET",
        "/triage/items/{item_id}",
        Permission::Triage,
        "An item with its reports, its blurred media and the classification form",
    ),
    route(
        "GET",
        "/triage/items/{item_id}/thumbnail",
        Permission::Triage,
        "The item's media, blurred and grey (PNG), rendered by the server",
    ),
    route(
        "GET",
        "/triage/items/{item_id}/original",
        Permission::Triage,
        "The item's original media, only while your reveal of it holds (never cached)",
    ),
    route(
        "POST",
        "/triage/items/{item_id}/claim",
        Permission::Triage,
        "Claim an item (one analyst an item)",
    ),
    route(
        "POST",
        "/triage/items/{item_id}/release",
        Permission::Triage,
        "Put a claimed item back in the queue",
    ),
    route(
        "POST",
        "/triage/items/{item_id}/reveal",
        Permission::Triage,
        "Reveal a claimed item's original for a limited time (audited, counted)",
    ),
    route(
        "POST",
        "/triage/items/{item_id}/decide",
        Permission::Triage,
        "Classify (ICCAM, NCMEC, Project VIC) and decide a claimed item",
    ),
    route(
        "POST",
        "/triage/items/{item_id}/case",
        Permission::Triage,
        "Put an item in an open case, or in a new one",
    ),
    route("GET", "/cases", Permission::Triage, "The cases"),
    route("POST", "/cases", Permission::Triage, "Open a case"),
    route(
        "GET",
        "/cases/{case_id}",
        Permission::Triage,
        "A case: items, notes, files, timeline",
    ),
    route(
        "POST",
        "/cases/{case_id}/items/{item_id}/remove",
        Permission::Triage,
        "Take an item out of a case",
    ),
    route(
        "POST",
        "/cases/{case_id}/notes",
        Permission::Triage,
        "Add a note to a case",
    ),
    route(
        "POST",
        "/cases/{case_id}/files",
        Permission::Triage,
        "Add a file to a case (multipart; sealed with the vault's key)",
    ),
    route(
        "GET",
        "/cases/{case_id}/files/{file_id}",
        Permission::Triage,
        "Download a case file that is not media (audited)",
    ),
    route(
        "POST",
        "/cases/{case_id}/files/{file_id}",
        Permission::Triage,
        "Download a case file that is media, confirmed (CSRF): audited and counted as a reveal",
    ),
    route(
        "POST",
        "/cases/{case_id}/close",
        Permission::Triage,
        "Close a case",
    ),
    route(
        "GET",
        "/cases/{case_id}/export/cybertipline.xml",
        Permission::Triage,
        "The case as an NCMEC CyberTipline report (XML; audited)",
    ),
    route(
        "GET",
        "/cases/{case_id}/export/iccam.json",
        Permission::Triage,
        "The case as an ICCAM report (JSON; audited)",
    ),
    route(
        "GET",
        "/cases/{case_id}/export/vics.json",
        Permission::Triage,
        "The case's media as Project VIC VICS 2.0 JSON (audited)",
    ),
    route(
        "GET",
        "/cases/{case_id}/export/referral.zip",
        Permission::Triage,
        "The police referral package: manifest, hashes, custody, audit, sealed evidence (audited)",
    ),
    route(
        "GET",
        "/figures",
        Permission::Figures,
        "The hotline's figures: reports per day and category, resolved without a reveal, queue age",
    ),
];

/// The router: every route of [`ROUTES`], behind the authorisation layer.
pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.max_upload_bytes;
    let mut router = Router::new();
    for spec in ROUTES {
        router = router.route(spec.path, handler_for(spec));
    }
    router
        .layer(middleware::from_fn_with_state(state.clone(), authorise))
        .layer(middleware::from_fn_with_state(state.clone(), time_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::record,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The handler of one row of the table.
fn handler_for(spec: &RouteSpec) -> axum::routing::MethodRouter<Arc<AppState>> {
    use axum::routing::{delete, get, post, put};
    match (spec.method, spec.path) {
        ("GET", "/status") => get(hma::status),
        ("GET", "/api/openapi.json") => get(openapi_document),
        ("GET", "/setup") => get(setup::setup_page),
        ("POST", "/setup") => post(setup::create_first_admin),
        ("GET", "/static/vigie.css") => get(web::stylesheet),
        ("GET", "/login") => get(setup::login_page),
        ("POST", "/login") => post(setup::login),
        ("POST", "/logout") => post(setup::logout),
        ("GET", "/report") => get(intake::report_form),
        // The form is small: its body limit is far below the uploads'.
        ("POST", "/report") => post(intake::submit_report_form)
            .layer(axum::extract::DefaultBodyLimit::max(intake::MAX_FORM_BYTES)),
        ("POST", "/api/v1/reports") => post(intake::submit_partner_report),
        ("POST", "/api/v1/reports/bulk") => post(intake::submit_bulk_reports),
        ("GET", "/api/v1/reports/{receipt}") => get(intake::partner_report),
        ("GET", "/h/hash") => get(hma::hash_url_content),
        ("POST", "/h/hash") => post(hma::hash_file),
        ("GET", "/m/lookup") => get(hma::lookup_signal),
        ("POST", "/m/lookup") => post(hma::lookup_file),
        ("POST", "/m/lookup/batch") => post(hma::lookup_batch),
        ("GET", "/m/raw_lookup") => get(hma::raw_lookup),
        ("POST", "/m/compare") => post(hma::compare),
        ("GET", "/m/index/status") => get(hma::index_status),
        ("GET", "/metrics") => get(metrics::scrape),
        ("GET", "/c/signal_type") => get(hma::signal_types),
        ("GET", "/c/banks") => get(hma::banks),
        ("POST", "/c/banks") => post(hma::create_bank),
        ("GET", "/c/bank/{bank_name}") => get(hma::bank),
        ("PUT", "/c/bank/{bank_name}") => put(hma::update_bank),
        ("DELETE", "/c/bank/{bank_name}") => delete(hma::delete_bank),
        ("POST", "/c/bank/{bank_name}/content") => post(hma::add_content_file),
        ("POST", "/c/bank/{bank_name}/signal") => post(hma::add_content_signals),
        ("GET", "/c/bank/{bank_name}/content/{content_id}") => get(hma::content),
        ("PUT", "/c/bank/{bank_name}/content/{content_id}") => put(hma::update_content),
        ("DELETE", "/c/bank/{bank_name}/content/{content_id}") => delete(hma::delete_content),
        ("POST", "/admin/users") => post(setup::create_user),
        ("POST", "/admin/api_keys") => post(setup::create_api_key),
        ("DELETE", "/admin/api_keys/{key_id}") => delete(setup::revoke_api_key),
        ("GET", "/admin/audit/verify") => get(setup::verify_audit),
        ("GET", "/triage") => get(triage::queue_page),
        ("GET", "/triage/exposure") => get(triage::exposure_page),
        ("GET", "/triage/items/{item_id}") => get(triage::item_page),
        ("GET", "/triage/items/{item_id}/thumbnail") => get(triage::thumbnail),
        ("GET", "/triage/items/{item_id}/original") => get(triage::original),
        ("POST", "/triage/items/{item_id}/claim") => post(triage::claim),
        ("POST", "/triage/items/{item_id}/release") => post(triage::release),
        ("POST", "/triage/items/{item_id}/reveal") => post(triage::reveal),
        ("POST", "/triage/items/{item_id}/decide") => post(triage::decide),
        ("POST", "/triage/items/{item_id}/case") => post(cases::add_item),
        ("GET", "/cases") => get(cases::cases_page),
        ("POST", "/cases") => post(cases::create_case),
        ("GET", "/cases/{case_id}") => get(cases::case_page),
        ("POST", "/cases/{case_id}/items/{item_id}/remove") => post(cases::remove_item),
        ("POST", "/cases/{case_id}/notes") => post(cases::add_note),
        ("POST", "/cases/{case_id}/files") => post(cases::add_file),
        ("GET", "/cases/{case_id}/files/{file_id}") => get(cases::download_file),
        ("POST", "/cases/{case_id}/files/{file_id}") => post(cases::download_media_file),
        ("POST", "/cases/{case_id}/close") => post(cases::close_case),
        ("GET", "/cases/{case_id}/export/cybertipline.xml") => get(cases::export_cybertipline),
        ("GET", "/cases/{case_id}/export/iccam.json") => get(cases::export_iccam),
        ("GET", "/cases/{case_id}/export/vics.json") => get(cases::export_vics),
        ("GET", "/cases/{case_id}/export/referral.zip") => get(cases::export_referral),
        ("GET", "/figures") => get(figures::figures_page),
        (method, path) => unreachable!("no handler for {method} {path}"),
    }
}

/// The permission the table gives a matched route, if it is in the table.
pub fn permission_of(method: &Method, path: &str) -> Option<Permission> {
    ROUTES
        .iter()
        .find(|spec| spec.method == method.as_str() && spec.path == path)
        .map(|spec| spec.permission)
}

/// Finds the caller and lets the request through only if the route's permission allows it.
async fn authorise(
    State(state): State<Arc<AppState>>,
    matched: Option<MatchedPath>,
    params: Result<RawPathParams, RawPathParamsRejection>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(permission) = matched
        .as_ref()
        .and_then(|path| permission_of(request.method(), path.as_str()))
    else {
        // Unrouted paths fall through to axum's own 404 or 405 below; a routed path missing
        // from the table is refused.
        if matched.is_some() {
            return ApiError::forbidden("this route has no permission in the route table")
                .into_response();
        }
        return next.run(request).await;
    };
    // The headers are copied out: the request (its body) cannot be held across an await.
    let headers = request.headers().clone();
    let principal = match identify(&state, &headers).await {
        Ok(principal) => principal,
        // An expired session must not lock its browser out of the sign-in page itself.
        Err(_) if permission == Permission::Public => Principal::Anonymous,
        Err(error) => return error.into_response(),
    };
    let bank = params.as_ref().ok().and_then(|params| {
        params
            .iter()
            .find_map(|(name, value)| (name == "bank_name").then_some(value))
    });
    if !principal.permits(permission, bank) {
        return match principal {
            Principal::Anonymous => ApiError::unauthenticated(),
            _ => ApiError::forbidden(format!(
                "your account or key does not allow {} here",
                permission.scope_name()
            )),
        }
        .into_response();
    }
    request.extensions_mut().insert(principal);
    next.run(request).await
}

/// Answers `timeout` to a request that takes longer than the configured limit. The handler's
/// work is dropped at that point; a write already committed stays committed (and audited).
async fn time_limit(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let limit = state.config.request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::timed_out(limit).into_response(),
    }
}

/// The caller: an API key in `Authorization: Bearer`, else a session cookie, else nobody. A
/// key or cookie that does not check out is an error, not anonymity, so that a typo in a key
/// says so instead of looking like missing permissions.
async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthenticated)?;
        let digest = secret_digest(token.trim());
        if let Some(key) = state.keys.get(&digest) {
            return Ok(Principal::Key(key));
        }
        return match state.store.api_key_by_hash(&digest).await {
            Ok(key) => {
                state.keys.insert(digest, key.clone());
                Ok(Principal::Key(key))
            }
            Err(vigie_store::StoreError::NotFound(_)) => Err(ApiError::unauthenticated()),
            Err(other) => Err(other.into()),
        };
    }
    if let Some(token) = setup::session_cookie(headers) {
        return match state
            .store
            .session_user(&secret_digest(&token), crate::now())
            .await
        {
            Ok(user) => Ok(Principal::User(user)),
            Err(vigie_store::StoreError::NotFound(_)) => Err(ApiError::unauthenticated()),
            Err(other) => Err(other.into()),
        };
    }
    Ok(Principal::Anonymous)
}

/// The OpenAPI 3 document of the API, made from [`ROUTES`] so that it lists exactly what the
/// router serves, each operation with the permission it needs.
async fn openapi_document() -> axum::Json<serde_json::Value> {
    use serde_json::{json, Map, Value};
    let mut paths: Map<String, Value> = Map::new();
    for spec in ROUTES {
        let parameters: Vec<Value> = spec
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut operation = json!({
            "summary": spec.summary,
            "x-vigie-permission": spec.permission.scope_name(),
            "parameters": parameters,
            "responses": {
                "200": {"description": "success"},
                "default": {"description": "an error: {\"error\": {\"code\", \"message\"}}"},
            },
        });
        if spec.permission != Permission::Public {
            operation["security"] = json!([{"apiKey": []}, {"session": []}]);
        }
        let entry = paths
            .entry(spec.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        entry[spec.method.to_ascii_lowercase()] = operation;
    }
    axum::Json(json!({
        "openapi": "3.0.3",
        "info": {"title": "Vigie", "version": env!("CARGO_PKG_VERSION")},
        "paths": paths,
        "components": {"securitySchemes": {
            "apiKey": {"type": "http", "scheme": "bearer"},
            "session": {"type": "apiKey", "in": "cookie", "name": "vigie_session"},
        }},
    }))
}
