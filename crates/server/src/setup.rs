//! First run, signing in, keys and the audit check.
//!
//! Nothing is open by default. On first start, with no account yet, the server makes a one-time
//! setup token and prints the link (`/setup?token=...`); whoever opens it first creates the
//! first administrator, and the token is spent. People then sign in with a password and get a
//! session cookie (`Secure`, `HttpOnly`, `SameSite=Strict`); administrators create API keys for
//! machines, shown once. Sign-in is rate-limited per client address.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::{Extension, Form, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use vigie_store::{AuditVerdict, NewApiKey, Role, Scopes, StoreError};

use crate::auth::{
    hash_password, new_secret, secret_digest, verify_password, Permission, Principal,
};
use crate::error::ApiError;
use crate::{audit, audit_entry, now, AppState};

/// The session cookie's name.
const SESSION_COOKIE: &str = "vigie_session";

/// How long a session lasts: a working day.
const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);

/// Sign-in attempts allowed per client address and minute.
const LOGIN_ATTEMPTS_PER_MINUTE: u32 = 10;

/// Makes a setup token when there is no account yet; returns it to print as a link.
pub async fn first_run_token(state: &AppState) -> Result<Option<String>, StoreError> {
    if state.store.count_users().await? > 0 {
        return Ok(None);
    }
    let token = new_secret();
    state
        .store
        .create_setup_token(&secret_digest(&token), now())
        .await?;
    Ok(Some(token))
}

#[derive(Debug, Deserialize)]
pub struct SetupParams {
    token: Option<String>,
}

/// The setup form: works without JavaScript, labels on every field.
pub async fn setup_page(Query(params): Query<SetupParams>) -> Html<String> {
    let token = escape(params.token.as_deref().unwrap_or(""));
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Vigie: first administrator</title></head>\
         <body><h1>Create the first administrator</h1>\
         <form method=\"post\" action=\"/setup\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <p><label for=\"name\">Name</label> <input id=\"name\" name=\"name\" required autocomplete=\"username\"></p>\
         <p><label for=\"password\">Password (12 characters or more)</label> \
         <input id=\"password\" name=\"password\" type=\"password\" minlength=\"12\" required autocomplete=\"new-password\"></p>\
         <p><button type=\"submit\">Create</button></p></form></body></html>"
    ))
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    token: String,
    name: String,
    password: String,
}

pub async fn create_first_admin(
    State(state): State<Arc<AppState>>,
    Form(form): Form<SetupForm>,
) -> Result<Response, ApiError> {
    check_new_account(&form.name, &form.password)?;
    match state
        .store
        .use_setup_token(&secret_digest(&form.token), now())
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => {
            return Err(ApiError::forbidden(
                "this setup link is not valid or was already used",
            ))
        }
        Err(other) => return Err(other.into()),
    }
    let user = create_account(&state, &form.name, &form.password, Role::Admin, |user| {
        let principal = Principal::User(user.clone());
        audit_entry(
            &principal,
            "user.setup",
            &user.name,
            json!({"role": "admin"}),
        )
    })
    .await?;
    let cookie = start_session(&state, user.id).await?;
    let mut response = (
        StatusCode::CREATED,
        Html(format!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Vigie</title></head>\
             <body><p>Administrator {} created; you are signed in.</p></body></html>",
            escape(&user.name)
        )),
    )
        .into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Checks, hashes (off the async threads: argon2 is slow on purpose) and stores an account
/// with the audit row `audit` makes of it.
async fn create_account(
    state: &AppState,
    name: &str,
    password: &str,
    role: Role,
    audit: impl FnOnce(&vigie_store::User) -> vigie_store::NewAuditEntry,
) -> Result<vigie_store::User, ApiError> {
    check_new_account(name, password)?;
    let password = password.to_string();
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok(state
        .store
        .create_user(name, &password_hash, role, audit)
        .await?)
}

fn check_new_account(name: &str, password: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() || name.len() > 100 {
        return Err(ApiError::invalid(
            "invalid_name",
            "a name is 1 to 100 characters",
        ));
    }
    if password.chars().count() < 12 {
        return Err(ApiError::invalid(
            "weak_password",
            "a password has 12 characters or more",
        ));
    }
    Ok(())
}

/// Opens a session for a user and returns its `Set-Cookie` header.
async fn start_session(state: &AppState, user_id: i64) -> Result<HeaderValue, ApiError> {
    let token = new_secret();
    let expires = now() + SESSION_LIFETIME.as_millis() as i64;
    state
        .store
        .create_session(&secret_digest(&token), user_id, expires)
        .await?;
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path=/; Max-Age={}; Secure; HttpOnly; SameSite=Strict",
        SESSION_LIFETIME.as_secs()
    ))
    .map_err(ApiError::internal)
}

/// The session token a request's cookies carry.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .find_map(|cookie| {
            cookie
                .trim()
                .strip_prefix(SESSION_COOKIE)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_string)
        })
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    name: String,
    password: String,
}

/// Sign-in attempts per client address in the current minute.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    attempts: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl LoginLimiter {
    /// Counts an attempt; false when the address is over its allowance. Only the address is
    /// kept, for a minute: nothing else about who tries to sign in.
    fn allow(&self, address: IpAddr) -> bool {
        let mut attempts = self
            .attempts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        attempts.retain(|_, (start, _)| now.duration_since(*start) < Duration::from_secs(60));
        let (_, count) = attempts.entry(address).or_insert((now, 0));
        *count += 1;
        *count <= LOGIN_ATTEMPTS_PER_MINUTE
    }
}

pub async fn login(
    State(state): State<Arc<AppState>>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    Json(credentials): Json<Credentials>,
) -> Result<Response, ApiError> {
    if !state.login_limiter.allow(address.ip()) {
        return Err(ApiError::rate_limited());
    }
    let refused = || ApiError::invalid("bad_credentials", "wrong name or password");
    let user = match state.store.user_by_name(&credentials.name).await {
        Ok(user) => user,
        Err(StoreError::NotFound(_)) => return Err(refused()),
        Err(other) => return Err(other.into()),
    };
    let stored = user.password_hash.clone();
    let password = credentials.password.clone();
    // Argon2 is slow on purpose; it runs off the async threads.
    let matches = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .map_err(ApiError::internal)?;
    if !matches || user.disabled {
        audit(
            &state,
            &Principal::Anonymous,
            "user.login_failed",
            &credentials.name,
            json!({}),
        )
        .await?;
        return Err(refused());
    }
    audit(
        &state,
        &Principal::User(user.clone()),
        "user.login",
        &user.name,
        json!({}),
    )
    .await?;
    let cookie = start_session(&state, user.id).await?;
    let mut response = Json(json!({"name": user.name, "role": user.role.as_str()})).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

pub async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session_cookie(&headers) {
        state.store.delete_session(&secret_digest(&token)).await?;
    }
    let mut response = Json(json!({"message": "signed out"})).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "vigie_session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict",
        ),
    );
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct NewUser {
    name: String,
    password: String,
    /// `admin`, `analyst` or `readonly`.
    role: String,
}

pub async fn create_user(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Json(body): Json<NewUser>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let role: Role = body
        .role
        .parse()
        .map_err(|_| ApiError::invalid("invalid_role", "a role is admin, analyst or readonly"))?;
    let user = create_account(&state, &body.name, &body.password, role, |user| {
        audit_entry(
            &principal,
            "user.create",
            &user.name,
            json!({"role": role.as_str()}),
        )
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": user.id, "name": user.name, "role": role.as_str()})),
    ))
}

#[derive(Debug, Deserialize)]
pub struct NewKey {
    name: String,
    /// Operations: `lookup`, `hash`, `bank.read`, `bank.write`.
    operations: Vec<String>,
    /// Banks the key is limited to (all when absent).
    banks: Option<Vec<String>>,
}

pub async fn create_api_key(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Json(body): Json<NewKey>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let known: Vec<&str> = Permission::ALL
        .iter()
        .filter(|p| !matches!(p, Permission::Public | Permission::Admin))
        .map(|p| p.scope_name())
        .collect();
    if let Some(unknown) = body
        .operations
        .iter()
        .find(|op| !known.contains(&op.as_str()))
    {
        return Err(ApiError::invalid(
            "invalid_scope",
            format!(
                "unknown operation '{unknown}' (one of {})",
                known.join(", ")
            ),
        ));
    }
    let secret = new_secret();
    let created_by = match &principal {
        Principal::User(user) => Some(user.id),
        _ => None,
    };
    let scopes = json!({"operations": body.operations, "banks": body.banks});
    let key = state
        .store
        .create_api_key(
            &NewApiKey {
                name: body.name.clone(),
                key_hash: secret_digest(&secret),
                scopes: Scopes {
                    operations: body.operations.clone(),
                    banks: body.banks.clone(),
                },
                created_by,
            },
            |key| {
                audit_entry(
                    &principal,
                    "key.create",
                    &key.id.to_string(),
                    scopes.clone(),
                )
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        // The secret is shown this once; only its digest is stored.
        Json(json!({"id": key.id, "name": key.name, "key": secret, "scopes": scopes})),
    ))
}

/// `DELETE /admin/api_keys/ID`: revokes a key. This replica forgets its cached keys at once;
/// the others within [`crate::auth::KEY_CACHE_LIFETIME`].
pub async fn revoke_api_key(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    Path(key_id): Path<i64>,
) -> Result<Json<Value>, ApiError> {
    state
        .store
        .revoke_api_key(
            key_id,
            &audit_entry(&principal, "key.revoke", &key_id.to_string(), json!({})),
        )
        .await?;
    state.keys.clear();
    Ok(Json(json!({"id": key_id, "revoked": true})))
}

pub async fn verify_audit(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    Ok(Json(match state.store.verify_audit().await? {
        AuditVerdict::Intact { rows } => json!({"intact": true, "rows": rows}),
        AuditVerdict::Broken { seq, reason } => {
            json!({"intact": false, "seq": seq, "reason": reason})
        }
    }))
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
