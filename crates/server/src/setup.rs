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

use axum::extract::{ConnectInfo, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Form, Json};
use serde::Deserialize;
use serde_json::{json, Value};
use vigie_store::{AuditVerdict, NewApiKey, Role, Scopes, StoreError};

use crate::auth::{
    hash_password, new_secret, secret_digest, verify_password, Permission, Principal,
};
use crate::error::ApiError;
use crate::web::{check_csrf, is_local_path, render, render_with_status, see_other, Page};
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

#[derive(askama::Template)]
#[template(path = "setup.html")]
struct SetupPage {
    page: Page,
    token: String,
}

/// The setup form: works without JavaScript, labels on every field.
pub async fn setup_page(page: Page, Query(params): Query<SetupParams>) -> Response {
    let token = params.token.unwrap_or_default();
    render(
        &page,
        &SetupPage {
            page: page.clone(),
            token,
        },
    )
}

#[derive(askama::Template)]
#[template(path = "setup_done.html")]
struct SetupDone {
    page: Page,
    name: String,
}

#[derive(Debug, Deserialize)]
pub struct SetupForm {
    token: String,
    name: String,
    password: String,
}

pub async fn create_first_admin(
    State(state): State<Arc<AppState>>,
    page: Page,
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
    let done = SetupDone {
        page: page.clone(),
        name: user.name,
    };
    let mut response = render_with_status(StatusCode::CREATED, &page, &done);
    response.headers_mut().append(header::SET_COOKIE, cookie);
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
    crate::web::cookie(headers, SESSION_COOKIE)
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    name: String,
    password: String,
}

/// The sign-in form's fields: the credentials, the page's CSRF token, and where to go next.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
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

#[derive(Debug, Deserialize)]
pub struct LoginParams {
    next: Option<String>,
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    error: Option<String>,
    name: String,
    next: String,
}

/// The sign-in page; `next` is where the form leads once signed in (a path on this server).
pub async fn login_page(page: Page, Query(params): Query<LoginParams>) -> Response {
    let next = params
        .next
        .filter(|next| is_local_path(next))
        .unwrap_or_else(|| "/triage".into());
    let form = LoginPage {
        page: page.clone(),
        error: None,
        name: String::new(),
        next,
    };
    render(&page, &form)
}

/// Why a sign-in was refused.
enum Refusal {
    RateLimited,
    BadCredentials,
}

/// Signs in from JSON (`{"name", "password"}`, answered with JSON, for scripts) or from the
/// sign-in form (answered with a redirect to `next`, or the form again with the reason).
pub async fn login(
    State(state): State<Arc<AppState>>,
    ConnectInfo(address): ConnectInfo<SocketAddr>,
    page: Page,
    request: Request,
) -> Result<Response, ApiError> {
    if !is_form(request.headers()) {
        let Json(credentials) = Json::<Credentials>::from_request(request, &())
            .await
            .map_err(|rejection| ApiError::invalid("invalid", rejection.body_text()))?;
        return match sign_in(&state, address.ip(), &credentials).await? {
            Ok((user, cookie)) => {
                let body = json!({"name": user.name, "role": user.role.as_str()});
                let mut response = Json(body).into_response();
                response.headers_mut().insert(header::SET_COOKIE, cookie);
                Ok(response)
            }
            Err(Refusal::RateLimited) => Err(ApiError::rate_limited()),
            Err(Refusal::BadCredentials) => Err(ApiError::invalid(
                "bad_credentials",
                "wrong name or password",
            )),
        };
    }
    let headers = request.headers().clone();
    let Form(form) = Form::<LoginForm>::from_request(request, &())
        .await
        .map_err(|rejection| ApiError::invalid("invalid", rejection.body_text()))?;
    check_csrf(&headers, &form.csrf)?;
    let credentials = Credentials {
        name: form.name,
        password: form.password,
    };
    let (status, key) = match sign_in(&state, address.ip(), &credentials).await? {
        Ok((_, cookie)) => {
            let next = if is_local_path(&form.next) {
                form.next.as_str()
            } else {
                "/triage"
            };
            let mut response = see_other(next);
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            return Ok(response);
        }
        Err(Refusal::RateLimited) => (StatusCode::TOO_MANY_REQUESTS, "login.rate_limited"),
        Err(Refusal::BadCredentials) => (StatusCode::BAD_REQUEST, "login.refused"),
    };
    let again = LoginPage {
        page: page.clone(),
        error: Some(page.t.get(key).to_string()),
        name: credentials.name,
        next: form.next,
    };
    Ok(render_with_status(status, &page, &again))
}

/// Whether a request's body is an HTML form.
fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"))
}

/// Checks credentials, audits the attempt and starts a session: the user and the session
/// cookie, or why not.
async fn sign_in(
    state: &AppState,
    address: IpAddr,
    credentials: &Credentials,
) -> Result<Result<(vigie_store::User, HeaderValue), Refusal>, ApiError> {
    if !state.login_limiter.allow(address) {
        return Ok(Err(Refusal::RateLimited));
    }
    let user = match state.store.user_by_name(&credentials.name).await {
        Ok(user) => user,
        Err(StoreError::NotFound(_)) => return Ok(Err(Refusal::BadCredentials)),
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
            state,
            &Principal::Anonymous,
            "user.login_failed",
            &credentials.name,
            json!({}),
        )
        .await?;
        return Ok(Err(Refusal::BadCredentials));
    }
    audit(
        state,
        &Principal::User(user.clone()),
        "user.login",
        &user.name,
        json!({}),
    )
    .await?;
    let cookie = start_session(state, user.id).await?;
    Ok(Ok((user, cookie)))
}

/// Ends the session. A form (the button on every page) must carry its CSRF token and is sent
/// back to the sign-in page; a script gets JSON.
pub async fn logout(
    State(state): State<Arc<AppState>>,
    request: Request,
) -> Result<Response, ApiError> {
    let headers = request.headers().clone();
    let form = is_form(&headers);
    if form {
        #[derive(Deserialize)]
        struct LogoutForm {
            #[serde(default)]
            csrf: String,
        }
        let Form(fields) = Form::<LogoutForm>::from_request(request, &())
            .await
            .map_err(|rejection| ApiError::invalid("invalid", rejection.body_text()))?;
        check_csrf(&headers, &fields.csrf)?;
    }
    if let Some(token) = session_cookie(&headers) {
        state.store.delete_session(&secret_digest(&token)).await?;
    }
    let mut response = if form {
        see_other("/login")
    } else {
        Json(json!({"message": "signed out"})).into_response()
    };
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
