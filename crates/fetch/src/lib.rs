//! Vigie's one outbound HTTP client: every URL the project fetches goes through [`Fetcher`].
//!
//! # Threat model
//!
//! The URLs Vigie fetches come from reports and API callers, so they are hostile input. The
//! danger is server-side request forgery (SSRF): a URL that makes Vigie, from inside its own
//! network, talk to something the submitter cannot reach (the cloud metadata service that hands
//! out credentials, a database's admin port, a router's page) and perhaps show them the answer.
//! A fetch is therefore allowed to reach public addresses only, as [`check_address`] defines
//! them, and everything below exists so that no path leads around that rule.
//!
//! - **Resolve, vet, then connect to what was vetted.** Checking a name's addresses and then
//!   letting the HTTP stack resolve it again would leave a gap: a DNS server answering a public
//!   address to the check and `127.0.0.1` to the connection (DNS rebinding) walks through it. The
//!   fetcher's own resolver (a `reqwest::dns::Resolve`) drops refused addresses from the answer
//!   and reqwest connects only to the ones it returns, so what is checked is what is connected to.
//! - **Literal addresses are checked before any request.** reqwest does not resolve a host that
//!   is already an address, so those are checked from the parsed URL, after the `url` crate has
//!   normalised the odd spellings (`http://2130706433/`, `http://0x7f.1/`, `http://127.1/` are
//!   all `127.0.0.1`).
//! - **Redirects are followed by hand and each hop is checked like the first.** A public server
//!   answering `302 Location: http://169.254.169.254/` is the oldest way around a guard that only
//!   looks at the URL it was given. A POST ([`Fetcher::post`], how signed webhook notices
//!   leave) follows none: its 3xx is the answer, so a notice never lands where no one sent it.
//! - **No proxy.** A proxy from the environment (`HTTPS_PROXY`, ...) would resolve and connect on
//!   our behalf, out of the resolver's sight; the client never uses one.
//! - **Bounded work.** The URL length, the number of redirects, the body size (announced and
//!   read) and the total time (every hop and the body) are bounded by the [`Policy`], so a
//!   hostile server can neither fill memory nor hold a worker forever. The body limit counts
//!   the bytes as reqwest hands them over: bodies are not decompressed today (its compression
//!   features are off), and were they turned on, the limit would bound the decompressed size.
//!
//! **Architecture invariant:** every outbound HTTP request of the project goes through this
//! crate, which knows HTTP as a client only (serving is the server crate's business).
//! `crates/vigie/tests/architecture.rs` keeps reqwest out of every other crate's dependencies.

mod address;
mod error;
pub mod page;
mod resolve;

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, LOCATION};
use url::{Host, Url};

pub use address::{check_address, Embedding, Forbidden};
pub use error::FetchError;
pub use page::{extract_media, sniff_body, BodyKind, MediaLink};
pub use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use resolve::{GuardedResolver, LookupFailed, RefusedAnswers, SystemResolver};

/// The longest URL fetched, in bytes. Real URLs are far shorter; longer ones are attacks on
/// whatever logs or stores them.
pub const MAX_URL_BYTES: usize = 8 * 1024;

/// The limits of a fetch. `Policy::default()` is what production uses.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The longest body read, in bytes (default 32 MiB). Longer is [`FetchError::TooLarge`].
    pub max_body_bytes: u64,
    /// The time the whole fetch may take, every redirect and the body included (default 20 s).
    pub total_timeout: Duration,
    /// The time one connection may take to open, TLS excluded (default 5 s).
    pub connect_timeout: Duration,
    /// How many redirects are followed (default 5); one more is
    /// [`FetchError::TooManyRedirects`].
    pub max_redirects: usize,
    /// The `User-Agent` header sent.
    pub user_agent: String,
    /// **For tests only; never set it in production.** When true, loopback addresses
    /// (`127.0.0.0/8`, `::1`) may be fetched, so tests can serve on `127.0.0.1`; every other
    /// refused address stays refused, `::ffff:127.0.0.1` included. Default false.
    pub allow_loopback: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            max_body_bytes: 32 * 1024 * 1024,
            total_timeout: Duration::from_secs(20),
            connect_timeout: Duration::from_secs(5),
            max_redirects: 5,
            user_agent: concat!("vigie/", env!("CARGO_PKG_VERSION")).to_string(),
            allow_loopback: false,
        }
    }
}

/// A response, whatever its status: the takedown checker needs to see 404 and 410.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL that gave this response, after redirects.
    pub url: Url,
    /// The HTTP status of the final response.
    pub status: u16,
    /// The `Content-Type` header of the final response, if any and readable as text.
    pub content_type: Option<String>,
    /// The body, as sent (not decompressed).
    pub body: Bytes,
    /// The URLs that answered with a redirect, in order: the URL asked for first. Empty when
    /// there was no redirect.
    pub redirects: Vec<Url>,
    /// The address the final response came from.
    pub address: Option<std::net::SocketAddr>,
}

/// How many media links of one page are fetched at once by [`Fetcher::fetch_page_media`].
pub const MEDIA_CONCURRENCY: usize = 4;

/// A reported page and the media found on it, each fetched or failed on its own.
#[derive(Debug)]
pub struct PageMedia {
    /// The page as fetched (any status).
    pub page: Fetched,
    /// What the page's body is, by [`sniff_body`].
    pub kind: BodyKind,
    /// The media, in the page's order: for an HTML page, its media links (none unless the
    /// status was 2xx: an error page's logo is not the reported content); for an image or a
    /// video served directly, the page itself (`found_in` is `page`); otherwise none.
    pub media: Vec<MediaFetch>,
}

/// One media link of a page and what fetching it gave.
#[derive(Debug)]
pub struct MediaFetch {
    pub link: MediaLink,
    /// The response (any status), or why there was none: a refused address, a timeout...
    pub result: Result<Fetched, FetchError>,
}

/// The guarded HTTP client. Cheap to clone; clones share one connection pool.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: Policy,
}

impl Fetcher {
    /// A fetcher resolving names with the operating system's resolver.
    pub fn new(policy: Policy) -> Result<Fetcher, FetchError> {
        Fetcher::with_resolver(policy, Arc::new(SystemResolver))
    }

    /// A fetcher resolving names with `resolver`, whose answers are vetted like the system's:
    /// tests use it to make a name point inside without a DNS server.
    pub fn with_resolver(
        policy: Policy,
        resolver: Arc<dyn Resolve>,
    ) -> Result<Fetcher, FetchError> {
        let guarded = GuardedResolver {
            inner: resolver,
            allow_loopback: policy.allow_loopback,
        };
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(guarded))
            .connect_timeout(policy.connect_timeout)
            .user_agent(policy.user_agent.as_str())
            .build()
            .map_err(|error| FetchError::InvalidPolicy {
                reason: error_chain(&error),
            })?;
        Ok(Fetcher { client, policy })
    }

    /// The policy this fetcher applies.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Fetches `url` with GET, following redirects, and reads the body.
    ///
    /// Any status is a [`Fetched`]; an error means there was no response to give (see
    /// [`FetchError`]).
    pub async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        let start = self.check_url(url)?;
        let after = self.policy.total_timeout;
        match tokio::time::timeout(after, self.follow(start)).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::TimedOut { after }),
        }
    }

    /// POSTs `body` to `url` with `headers` (the caller's `Content-Type` among them), as a
    /// signed webhook notice is sent, and reads the answer's body.
    ///
    /// The guard is `get`'s: literal addresses are checked before anything is sent, names are
    /// resolved by the guarded resolver, and the policy's time limit (the whole exchange) and
    /// body limit (the answer's) hold. A redirect, however, is never followed: a 3xx answer is
    /// returned as it is, its status visible to the caller. Following it would send the body
    /// (a notice naming reported content) to a place nobody vetted as its recipient, and a POST
    /// is not idempotent, so re-sending it elsewhere could deliver the notice twice.
    ///
    /// A header name or value that cannot be sent (a line break in a value, say) is
    /// [`FetchError::InvalidHeader`], before any connection.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<Fetched, FetchError> {
        let url = self.check_url(url)?;
        let headers = header_map(headers)?;
        let after = self.policy.total_timeout;
        let exchange = async {
            tracing::debug!(%url, "posting");
            let response = self
                .client
                .post(url.clone())
                .headers(headers)
                .body(body)
                .send()
                .await
                .map_err(|error| request_error(&url, &error))?;
            self.read(url, Vec::new(), response).await
        };
        match tokio::time::timeout(after, exchange).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::TimedOut { after }),
        }
    }

    /// Fetches a reported page and the media on it: the page with [`Fetcher::get`], then, if its
    /// bytes are HTML, at most `limit` of the media links [`extract_media`] finds in it, each
    /// with [`Fetcher::get`] too (so each is checked, redirects included, like any URL), at
    /// most [`MEDIA_CONCURRENCY`] at a time. A page that is itself an image or a video is its
    /// one media and is not fetched twice.
    ///
    /// The error is the page's: a media link that fails is that link's `result`, and never
    /// fails the page. Each fetch has the policy's own limits, so the whole takes at most
    /// `1 + ceil(limit / MEDIA_CONCURRENCY)` times its `total_timeout`.
    pub async fn fetch_page_media(
        &self,
        page_url: &str,
        limit: usize,
    ) -> Result<PageMedia, FetchError> {
        let page = self.get(page_url).await?;
        let kind = sniff_body(&page.body, page.content_type.as_deref());
        let media = match kind {
            BodyKind::Media if limit > 0 => vec![MediaFetch {
                link: MediaLink {
                    url: page.url.clone(),
                    found_in: "page",
                },
                result: Ok(page.clone()),
            }],
            BodyKind::Html if (200..300).contains(&page.status) => {
                let html = String::from_utf8_lossy(&page.body);
                let links = extract_media(&html, &page.url, limit);
                self.fetch_all(links).await
            }
            _ => Vec::new(),
        };
        Ok(PageMedia { page, kind, media })
    }

    /// Fetches every link, [`MEDIA_CONCURRENCY`] at a time, keeping the links' order.
    async fn fetch_all(&self, links: Vec<MediaLink>) -> Vec<MediaFetch> {
        let mut results: Vec<Option<Result<Fetched, FetchError>>> =
            links.iter().map(|_| None).collect();
        let mut running = tokio::task::JoinSet::new();
        let mut next = 0;
        loop {
            while running.len() < MEDIA_CONCURRENCY && next < links.len() {
                let fetcher = self.clone();
                let url = links[next].url.to_string();
                let index = next;
                running.spawn(async move { (index, fetcher.get(&url).await) });
                next += 1;
            }
            match running.join_next().await {
                Some(Ok((index, result))) => results[index] = Some(result),
                // A fetch that panicked is a bug; its link is left without a result below.
                Some(Err(error)) => tracing::error!(%error, "a media fetch failed to finish"),
                None => break,
            }
        }
        links
            .into_iter()
            .zip(results)
            .map(|(link, result)| MediaFetch {
                result: result.unwrap_or_else(|| {
                    Err(FetchError::Unreachable {
                        url: link.url.to_string(),
                        reason: "the fetch did not finish".to_string(),
                    })
                }),
                link,
            })
            .collect()
    }

    /// Checks `url` without fetching it: its length, scheme, that it has no user name or
    /// password, and its host if that is an address. A host name is checked when resolved.
    pub fn check_url(&self, url: &str) -> Result<Url, FetchError> {
        if url.len() > MAX_URL_BYTES {
            return Err(invalid(url, format!("longer than {MAX_URL_BYTES} bytes")));
        }
        let parsed = Url::parse(url).map_err(|error| invalid(url, error.to_string()))?;
        self.check_parsed(parsed, url)
    }

    /// The checks of `check_url` on a parsed URL; `given` is what to name it by in errors.
    fn check_parsed(&self, url: Url, given: &str) -> Result<Url, FetchError> {
        if url.as_str().len() > MAX_URL_BYTES {
            return Err(invalid(given, format!("longer than {MAX_URL_BYTES} bytes")));
        }
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(
                given,
                format!("the scheme {:?} is not http or https", url.scheme()),
            ));
        }
        // Credentials in a reported URL are someone's, or a trick to make the host unreadable
        // (`http://bank.example@10.0.0.1/`); neither is for us to send.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                given,
                "a user name or password in the URL".to_string(),
            ));
        }
        let address = match url.host() {
            Some(Host::Ipv4(v4)) => std::net::IpAddr::V4(v4),
            Some(Host::Ipv6(v6)) => std::net::IpAddr::V6(v6),
            Some(Host::Domain(_)) => return Ok(url),
            None => return Err(invalid(given, "no host".to_string())),
        };
        match check_address(address, self.policy.allow_loopback) {
            Ok(()) => Ok(url),
            Err(reason) => Err(FetchError::Forbidden {
                host: url.host_str().unwrap_or_default().to_string(),
                address,
                reason,
                others: Vec::new(),
            }),
        }
    }

    /// Requests `url`, then each redirect's target, until a response that is not a redirect.
    async fn follow(&self, mut url: Url) -> Result<Fetched, FetchError> {
        let mut redirects = Vec::new();
        loop {
            tracing::debug!(%url, "fetching");
            let response = self
                .client
                .get(url.clone())
                .send()
                .await
                .map_err(|error| request_error(&url, &error))?;
            let status = response.status();
            let location = response.headers().get(LOCATION);
            let next = match (is_followed_redirect(status.as_u16()), location) {
                (true, Some(location)) => location,
                // A redirect without a Location has nowhere to go: it is the answer.
                _ => return self.read(url, redirects, response).await,
            };
            if redirects.len() >= self.policy.max_redirects {
                return Err(FetchError::TooManyRedirects {
                    limit: self.policy.max_redirects,
                });
            }
            let text = String::from_utf8_lossy(next.as_bytes()).into_owned();
            let next = next.to_str().map_err(|_| {
                invalid(&text, format!("redirect from {url}: Location is not ASCII"))
            })?;
            if next.len() > MAX_URL_BYTES {
                return Err(invalid(next, format!("longer than {MAX_URL_BYTES} bytes")));
            }
            let target = url
                .join(next)
                .map_err(|error| invalid(next, format!("redirect from {url}: {error}")))?;
            let target = self.check_parsed(target, next)?;
            tracing::debug!(from = %url, to = %target, "following a redirect");
            redirects.push(std::mem::replace(&mut url, target));
        }
    }

    /// Reads the body of the final response within the size limit.
    async fn read(
        &self,
        url: Url,
        redirects: Vec<Url>,
        mut response: reqwest::Response,
    ) -> Result<Fetched, FetchError> {
        let limit = self.policy.max_body_bytes;
        let too_large = FetchError::TooLarge { limit };
        let announced = response.content_length();
        if announced.is_some_and(|length| length > limit) {
            return Err(too_large);
        }
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string);
        let address = response.remote_addr();
        // The announced length sizes the buffer only up to a megabyte: it may be a lie.
        let capacity = announced.unwrap_or(0).min(1 << 20);
        let mut body = Vec::with_capacity(usize::try_from(capacity).unwrap_or(0));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|error| request_error(&url, &error))?
        {
            if (body.len() as u64).saturating_add(chunk.len() as u64) > limit {
                return Err(too_large);
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched {
            url,
            status,
            content_type,
            body: Bytes::from(body),
            redirects,
            address,
        })
    }
}

/// The caller's headers as reqwest takes them, or the first one that cannot be sent.
fn header_map(headers: &[(&str, String)]) -> Result<HeaderMap, FetchError> {
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let invalid = |reason: &str| FetchError::InvalidHeader {
            name: name.chars().take(100).collect(),
            reason: reason.to_string(),
        };
        let name = HeaderName::try_from(*name).map_err(|_| invalid("not a valid header name"))?;
        let value = HeaderValue::try_from(value.as_str())
            .map_err(|_| invalid("the value has a control character or a line break"))?;
        map.append(name, value);
    }
    Ok(map)
}

/// The statuses whose `Location` is followed. 300 (multiple choices) and 304 (not modified) are
/// answers, not redirects.
fn is_followed_redirect(status: u16) -> bool {
    matches!(status, 301 | 302 | 303 | 307 | 308)
}

/// A URL error, naming the URL by at most its first 200 characters.
fn invalid(url: &str, reason: String) -> FetchError {
    let shown = match url.char_indices().nth(200) {
        Some((end, _)) => format!("{}...", &url[..end]),
        None => url.to_string(),
    };
    FetchError::InvalidUrl { url: shown, reason }
}

/// Turns reqwest's error into ours, finding the resolver's refusal if that is what it carries.
fn request_error(url: &Url, error: &reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<RefusedAnswers>() {
            if let Some((&(address, reason), others)) = refused.refused.split_first() {
                return FetchError::Forbidden {
                    host: refused.host.clone(),
                    address,
                    reason,
                    others: others.to_vec(),
                };
            }
        }
        if let Some(failed) = cause.downcast_ref::<LookupFailed>() {
            return FetchError::NameNotFound {
                host: failed.host.clone(),
                reason: failed.reason.clone(),
            };
        }
        source = cause.source();
    }
    let reason = if error.is_timeout() {
        format!("timed out: {}", error_chain(error))
    } else {
        error_chain(error)
    };
    FetchError::Unreachable {
        url: url.to_string(),
        reason,
    }
}

/// The messages of an error's causes, joined: reqwest's own message says little
/// ("error sending request"), its causes say what happened ("connection refused").
fn error_chain(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = cause.source();
    }
    if parts.is_empty() {
        error.to_string()
    } else {
        parts.join(": ")
    }
}
