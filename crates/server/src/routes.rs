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
use crate::{hma, setup, AppState};

/// One route: what it answers and who may call it.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub permission: Permission,
}

const fn route(method: &'static str, path: &'static str, permission: Permission) -> RouteSpec {
    RouteSpec {
        method,
        path,
        permission,
    }
}

/// Every route the server answers.
pub const ROUTES: &[RouteSpec] = &[
    route("GET", "/status", Permission::Public),
    route("GET", "/setup", Permission::Public),
    route("POST", "/setup", Permission::Public),
    route("POST", "/login", Permission::Public),
    route("POST", "/logout", Permission::Public),
    route("POST", "/h/hash", Permission::Hash),
    route("GET", "/m/lookup", Permission::Lookup),
    route("POST", "/m/lookup", Permission::Lookup),
    route("GET", "/m/raw_lookup", Permission::Lookup),
    route("GET", "/m/index/status", Permission::Lookup),
    route("GET", "/c/signal_type", Permission::BankRead),
    route("GET", "/c/banks", Permission::BankRead),
    route("POST", "/c/banks", Permission::BankWrite),
    route("GET", "/c/bank/{bank_name}", Permission::BankRead),
    route("PUT", "/c/bank/{bank_name}", Permission::BankWrite),
    route("DELETE", "/c/bank/{bank_name}", Permission::BankWrite),
    route("POST", "/c/bank/{bank_name}/content", Permission::BankWrite),
    route("POST", "/c/bank/{bank_name}/signal", Permission::BankWrite),
    route(
        "GET",
        "/c/bank/{bank_name}/content/{content_id}",
        Permission::BankRead,
    ),
    route(
        "PUT",
        "/c/bank/{bank_name}/content/{content_id}",
        Permission::BankWrite,
    ),
    route(
        "DELETE",
        "/c/bank/{bank_name}/content/{content_id}",
        Permission::BankWrite,
    ),
    route("POST", "/admin/users", Permission::Admin),
    route("POST", "/admin/api_keys", Permission::Admin),
    route("GET", "/admin/audit/verify", Permission::Admin),
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
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The handler of one row of the table.
fn handler_for(spec: &RouteSpec) -> axum::routing::MethodRouter<Arc<AppState>> {
    use axum::routing::{delete, get, post, put};
    match (spec.method, spec.path) {
        ("GET", "/status") => get(hma::status),
        ("GET", "/setup") => get(setup::setup_page),
        ("POST", "/setup") => post(setup::create_first_admin),
        ("POST", "/login") => post(setup::login),
        ("POST", "/logout") => post(setup::logout),
        ("POST", "/h/hash") => post(hma::hash_file),
        ("GET", "/m/lookup") => get(hma::lookup_signal),
        ("POST", "/m/lookup") => post(hma::lookup_file),
        ("GET", "/m/raw_lookup") => get(hma::raw_lookup),
        ("GET", "/m/index/status") => get(hma::index_status),
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
        ("GET", "/admin/audit/verify") => get(setup::verify_audit),
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
        return match state
            .store
            .api_key_by_hash(&secret_digest(token.trim()))
            .await
        {
            Ok(key) => Ok(Principal::Key(key)),
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
