//! What every web page shares: the layout (askama templates in `templates/`), the two
//! languages (`i18n/en.toml`, `i18n/fr.toml`), the CSRF token of forms, and the headers that
//! keep pages from being framed, cached by the wrong party or made to run script.
//!
//! Pages are rendered on the server and work without JavaScript: the public report form must
//! work on any phone, and the analysts' pages run no script at all (the Content-Security-Policy
//! forbids it), so that nothing a reported page or file contains can run in an analyst's
//! browser.
//!
//! # Language
//!
//! `?lang=fr` (the switch on every page) wins and is remembered in the `vigie_lang` cookie;
//! then that cookie; then the browser's `Accept-Language`; then English.
//!
//! # CSRF
//!
//! Forms use the double-submit pattern: a random token in the `vigie_csrf` cookie
//! (`SameSite=Strict`, `HttpOnly`) and the same token in a hidden `csrf` field. Another site can
//! make a browser send the cookie's session but can neither read the cookie nor set it, so it
//! cannot fill the field. It needs no server-side state, so any replica checks any form.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::LazyLock;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::auth::{new_secret, Principal};
use crate::error::ApiError;

/// The cookie holding a form's CSRF token.
const CSRF_COOKIE: &str = "vigie_csrf";

/// The cookie remembering the language chosen with the switch.
const LANG_COOKIE: &str = "vigie_lang";

/// What the pages allow the browser to do: load styles and images from this server, submit
/// forms to it, and nothing else (no script, no frames, no plugins, no outside requests).
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Fr,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Fr];

    /// The ISO 639-1 code, as in `lang=` attributes and the `?lang=` switch.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL
            .into_iter()
            .find(|lang| code.eq_ignore_ascii_case(lang.code()))
    }

    /// The other language, for the switch.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Fr,
            Lang::Fr => Lang::En,
        }
    }

    /// The first language of an `Accept-Language` header that the pages are written in, taking
    /// the weights into account (`fr-CA;q=0.9, en;q=0.8`).
    fn from_accept_language(header: &str) -> Option<Lang> {
        let mut ranked: Vec<(f32, Lang)> = header
            .split(',')
            .filter_map(|entry| {
                let mut parts = entry.trim().split(';');
                let tag = parts.next()?.trim();
                let primary = tag.split('-').next()?;
                let lang = Lang::from_code(primary)?;
                let weight = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .unwrap_or(1.0);
                (weight > 0.0).then_some((weight, lang))
            })
            .collect();
        // A stable sort keeps the header's order among equal weights.
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        ranked.first().map(|&(_, lang)| lang)
    }
}

/// The texts of one language, by key (`report.title`).
#[derive(Debug)]
pub struct Texts {
    entries: HashMap<String, String>,
}

impl Texts {
    fn parse(source: &str) -> Result<Texts, toml::de::Error> {
        Ok(Texts {
            entries: toml::from_str(source)?,
        })
    }

    /// The text of `key`. Both files have the same keys (a test checks it), so a missing key
    /// is a typo in a template; it shows as the key itself rather than breaking the page.
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.entries.get(key).map_or(key, String::as_str)
    }

    /// The words for a stored code of a vocabulary, under `prefix.code` (`triage.decision` and
    /// `law_enforcement` read `triage.decision.law_enforcement`). A code without words (written
    /// by a newer version, or by hand) shows as itself, never as a key.
    pub fn label(&self, prefix: &str, code: &str) -> String {
        self.entries
            .get(&format!("{prefix}.{code}"))
            .map_or(code, String::as_str)
            .to_owned()
    }
}

static TEXTS: LazyLock<[Texts; 2]> = LazyLock::new(|| {
    let parse = |source, file| {
        Texts::parse(source).unwrap_or_else(|error| panic!("{file} is not valid: {error}"))
    };
    [
        parse(include_str!("../i18n/en.toml"), "i18n/en.toml"),
        parse(include_str!("../i18n/fr.toml"), "i18n/fr.toml"),
    ]
});

/// The texts of a language.
pub fn texts(lang: Lang) -> &'static Texts {
    &TEXTS[lang as usize]
}

/// What a page needs to know about the request it answers. Extracted from any request;
/// [`render`] sets the cookies it decided on.
#[derive(Debug, Clone)]
pub struct Page {
    pub lang: Lang,
    pub t: &'static Texts,
    /// The CSRF token to put in every form's hidden `csrf` field.
    pub csrf: String,
    /// The signed-in person's name, if any.
    pub user: Option<String>,
    /// The path of the request, for the language switch.
    pub path: String,
    /// On analysts' pages, the items the signed-in analyst has revealed today, shown in the
    /// header of each (set by the page's handler: `triage::Analyst::page`).
    pub exposure: Option<i64>,
    /// Whether the CSRF cookie must be set (the browser has none yet).
    new_csrf: bool,
    /// Whether the language was chosen with the switch and must be remembered.
    chosen_lang: bool,
}

impl Page {
    /// The link that shows this page in the other language.
    pub fn switch_href(&self) -> String {
        format!("{}?lang={}", self.path, self.lang.other().code())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let chosen = parts.uri.query().and_then(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(name, _)| name == "lang")
                .and_then(|(_, value)| Lang::from_code(&value))
        });
        let lang = chosen
            .or_else(|| cookie(&parts.headers, LANG_COOKIE).and_then(|c| Lang::from_code(&c)))
            .or_else(|| {
                parts
                    .headers
                    .get(header::ACCEPT_LANGUAGE)
                    .and_then(|value| value.to_str().ok())
                    .and_then(Lang::from_accept_language)
            })
            .unwrap_or(Lang::En);
        let existing = cookie(&parts.headers, CSRF_COOKIE).filter(|token| is_token(token));
        let user = match parts.extensions.get::<Principal>() {
            Some(Principal::User(user)) => Some(user.name.clone()),
            _ => None,
        };
        Ok(Page {
            lang,
            t: texts(lang),
            new_csrf: existing.is_none(),
            csrf: existing.unwrap_or_else(new_secret),
            user,
            path: parts.uri.path().to_string(),
            exposure: None,
            chosen_lang: chosen.is_some(),
        })
    }
}

/// A rendered page with status 200.
pub fn render(page: &Page, template: &impl askama::Template) -> Response {
    render_with_status(StatusCode::OK, page, template)
}

/// A rendered page: the template's HTML with the page's cookies and the security headers.
pub fn render_with_status(
    status: StatusCode,
    page: &Page,
    template: &impl askama::Template,
) -> Response {
    let html = match template.render() {
        Ok(html) => html,
        Err(error) => return ApiError::internal(error).into_response(),
    };
    let mut response = (status, axum::response::Html(html)).into_response();
    let headers = response.headers_mut();
    secure_headers(headers);
    let mut cookies = Vec::new();
    if page.new_csrf {
        cookies.push(format!(
            "{CSRF_COOKIE}={}; Path=/; Secure; HttpOnly; SameSite=Strict",
            page.csrf
        ));
    }
    if page.chosen_lang {
        cookies.push(format!(
            "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; Secure; SameSite=Lax",
            page.lang.code()
        ));
    }
    for value in cookies {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The headers every page carries.
pub fn secure_headers(headers: &mut HeaderMap) {
    let set = |headers: &mut HeaderMap, name, value| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    // Pages name reports and items; no shared cache may keep them.
    set(headers, header::CACHE_CONTROL, "no-store");
}

/// Checks a submitted form's CSRF field against the request's cookie.
pub fn check_csrf(headers: &HeaderMap, submitted: &str) -> Result<(), ApiError> {
    let expected = cookie(headers, CSRF_COOKIE).filter(|token| is_token(token));
    match expected {
        Some(expected) if constant_time_eq(expected.as_bytes(), submitted.as_bytes()) => Ok(()),
        _ => Err(ApiError::csrf()),
    }
}

/// A redirect after a form was handled (303: the browser follows with a GET).
pub fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Whether `next` is a path on this server, safe to redirect to after a form: an absolute path
/// that is not a scheme-relative URL (`//elsewhere`) or a backslash trick (`/\elsewhere`).
pub fn is_local_path(next: &str) -> bool {
    next.starts_with('/') && !next.starts_with("//") && !next.contains('\\')
}

/// The value of the cookie `name` in the request, if any.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .find_map(|cookie| {
            cookie
                .trim()
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('='))
                .map(str::to_string)
        })
}

/// Whether a cookie value has the shape of the tokens we make (64 hex digits).
fn is_token(value: &str) -> bool {
    value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Compares without stopping at the first difference, so that timing tells nothing of where
/// a forged token went wrong.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The style sheet of every page (served by this server: the policy allows no other).
pub async fn stylesheet() -> Response {
    let mut response = (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/vigie.css"),
    )
        .into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(source: &str) -> Vec<String> {
        let mut keys: Vec<String> = Texts::parse(source).unwrap().entries.into_keys().collect();
        keys.sort();
        keys
    }

    #[test]
    fn both_languages_have_the_same_keys() {
        let english = keys(include_str!("../i18n/en.toml"));
        let french = keys(include_str!("../i18n/fr.toml"));
        let only_english: Vec<_> = english.iter().filter(|k| !french.contains(k)).collect();
        let only_french: Vec<_> = french.iter().filter(|k| !english.contains(k)).collect();
        assert!(
            only_english.is_empty() && only_french.is_empty(),
            "missing in fr.toml: {only_english:?}; missing in en.toml: {only_french:?}"
        );
    }

    #[test]
    fn accept_language_takes_the_best_weighted_language_we_have() {
        let pick = Lang::from_accept_language;
        assert_eq!(pick("fr-FR,fr;q=0.9,en;q=0.8"), Some(Lang::Fr));
        assert_eq!(pick("de-DE, en;q=0.5, fr;q=0.7"), Some(Lang::Fr));
        assert_eq!(pick("en-GB"), Some(Lang::En));
        assert_eq!(pick("de, it"), None);
        assert_eq!(pick("fr;q=0, en"), Some(Lang::En));
        assert_eq!(pick(""), None);
    }

    #[test]
    fn csrf_accepts_only_the_cookie_s_own_token() {
        let token = new_secret();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("other=1; {CSRF_COOKIE}={token}")).unwrap(),
        );
        assert!(check_csrf(&headers, &token).is_ok());
        assert!(check_csrf(&headers, &new_secret()).is_err());
        assert!(check_csrf(&headers, "").is_err());
        assert!(check_csrf(&HeaderMap::new(), &token).is_err());
    }

    #[test]
    fn only_local_paths_are_redirect_targets() {
        assert!(is_local_path("/triage"));
        assert!(is_local_path("/triage/items/3?x=1"));
        assert!(!is_local_path("//evil.example/"));
        assert!(!is_local_path("/\\evil.example/"));
        assert!(!is_local_path("https://evil.example/"));
        assert!(!is_local_path(""));
    }
}
