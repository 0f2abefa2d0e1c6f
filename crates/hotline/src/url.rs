//! The deduplication key of a reported URL.
//!
//! The same page is reported many times, by people who copy it from different places: with the
//! host in capitals, with `:443`, with a `#fragment`, with the `utm_source` a newsletter added,
//! or with its query parameters in another order. [`normalise_url`] turns all of those into one
//! string, so that a new report joins the item already in the queue and counts one more
//! reporter instead of putting the same page in front of an analyst twice.
//!
//! What changes, and why each is safe (no two different resources get the same key):
//! - the scheme and the host are lower-cased, and an internationalised host is turned into its
//!   ASCII (punycode) form by the `url` crate's IDNA processing, as browsers and DNS see it;
//! - a port that is the scheme's default (80 for http, 443 for https) is dropped;
//! - the fragment is dropped: it is never sent to the server;
//! - a trailing dot of the host (`example.com.`, the fully-qualified form) is dropped;
//! - tracking parameters (`utm_*`, `fbclid`, `gclid`, `dclid`, `msclkid`, `mc_eid`, `mc_cid`,
//!   `igshid`, `yclid`, `_ga`, `ref_src`) are dropped: they say who shared the link, not what
//!   it points to;
//! - the remaining query parameters are sorted, and an empty query is dropped.
//!
//! What is kept as it is: the path (after the `url` crate's own parsing, which resolves `.` and
//! `..` segments and percent-encodes what must be), because on most servers paths are case- and
//! slash-sensitive; the user information; the percent-encoding of query parameters, which are
//! sorted as written rather than decoded and re-encoded. `http` and `https` stay two keys: a
//! server may serve different content on each.

use url::{Host, Url};

/// Why a reported URL has no deduplication key: the caller refuses that URL (and says which).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// The text is not a URL at all.
    #[error("not a URL: {0}")]
    Invalid(String),
    /// A URL, but not one a hotline can check: only `http` and `https` are fetched.
    #[error("only http and https URLs can be reported, not {0}:")]
    UnsupportedScheme(String),
}

/// Query parameters that only say how a link was shared, dropped from the key.
const TRACKING_PARAMETERS: [&str; 10] = [
    "fbclid", "gclid", "dclid", "msclkid", "mc_eid", "mc_cid", "igshid", "yclid", "_ga", "ref_src",
];

/// The deduplication key of a reported URL: two reports name the same resource when their keys
/// are equal. The key is itself a valid URL, the one to show and to fetch.
pub fn normalise_url(text: &str) -> Result<String, UrlError> {
    let mut url = Url::parse(text.trim()).map_err(|e| UrlError::Invalid(e.to_string()))?;
    // The url crate has already lower-cased the scheme and the host, applied IDNA, and left
    // out a default port (it never keeps `:80` on http nor `:443` on https).
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(UrlError::UnsupportedScheme(other.to_string())),
    }
    if let Some(Host::Domain(domain)) = url.host() {
        if domain.ends_with('.') {
            let trimmed = domain.trim_end_matches('.').to_string();
            url.set_host(Some(&trimmed))
                .map_err(|e| UrlError::Invalid(format!("host {trimmed}.: {e}")))?;
        }
    }
    url.set_fragment(None);
    let query = url.query().map(sorted_query_without_tracking);
    url.set_query(query.as_deref().filter(|q| !q.is_empty()));
    Ok(url.into())
}

/// The query's parameters less the tracking ones, sorted, joined again with `&`. Parameters are
/// compared and sorted as written (percent-encoded), so nothing is re-encoded.
fn sorted_query_without_tracking(query: &str) -> String {
    let mut parameters: Vec<&str> = query
        .split('&')
        .filter(|parameter| !parameter.is_empty())
        .filter(|parameter| !is_tracking(parameter))
        .collect();
    parameters.sort_unstable();
    parameters.join("&")
}

fn is_tracking(parameter: &str) -> bool {
    let name = parameter.split('=').next().unwrap_or_default();
    let name = percent_decode_lossy(name).to_ascii_lowercase();
    name.starts_with("utm_") || TRACKING_PARAMETERS.contains(&name.as_str())
}

/// Decodes `%XX` escapes (and `+`, a space in a query) so that `utm%5Fsource` is recognised as
/// `utm_source`; invalid escapes are kept as written.
fn percent_decode_lossy(text: &str) -> String {
    url::form_urlencoded::parse(format!("{text}=").as_bytes())
        .next()
        .map(|(name, _)| name.into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> String {
        normalise_url(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn the_same_page_copied_differently_has_one_key() {
        let expected = "https://example.com/a/Page.html?id=7&lang=fr";
        for copy in [
            "https://example.com/a/Page.html?id=7&lang=fr",
            "HTTPS://EXAMPLE.COM/a/Page.html?lang=fr&id=7",
            "https://example.com:443/a/Page.html?id=7&lang=fr#comments",
            "https://example.com./a/Page.html?id=7&lang=fr",
            "https://example.com/a/Page.html?utm_source=news&id=7&utm_medium=mail&lang=fr",
            "https://example.com/a/Page.html?id=7&fbclid=abc&lang=fr&gclid=x&_ga=1.2",
            "  https://example.com/a/Page.html?id=7&&lang=fr  ",
            "https://example.com/a/Page.html?id=7&lang=fr&UTM_Campaign=spring",
            "https://example.com/a/Page.html?id=7&lang=fr&utm%5Fterm=x",
        ] {
            assert_eq!(key(copy), expected, "{copy}");
        }
    }

    #[test]
    fn every_tracking_parameter_is_dropped_and_an_empty_query_goes() {
        for parameter in TRACKING_PARAMETERS {
            assert_eq!(
                key(&format!("http://example.org/p?{parameter}=1")),
                "http://example.org/p",
                "{parameter}"
            );
        }
        assert_eq!(key("http://example.org/p?"), "http://example.org/p");
        assert_eq!(key("http://example.org/p?utm_x=1&"), "http://example.org/p");
    }

    #[test]
    fn default_ports_go_and_other_ports_stay() {
        assert_eq!(key("http://example.org:80/"), "http://example.org/");
        assert_eq!(key("http://example.org:8080/"), "http://example.org:8080/");
        assert_eq!(key("https://example.org:80/"), "https://example.org:80/");
    }

    #[test]
    fn internationalised_hosts_take_their_ascii_form() {
        assert_eq!(
            key("http://BÜCHER.example/x"),
            "http://xn--bcher-kva.example/x"
        );
        assert_eq!(
            key("http://xn--bcher-kva.example/x"),
            "http://xn--bcher-kva.example/x"
        );
    }

    #[test]
    fn the_path_and_other_parameters_are_kept_as_written() {
        assert_eq!(key("http://example.org/A/b/"), "http://example.org/A/b/");
        assert_ne!(key("http://example.org/A"), key("http://example.org/a"));
        assert_ne!(key("http://example.org/a"), key("http://example.org/a/"));
        assert_eq!(
            key("http://example.org/?q=a%20b&Ref=1"),
            "http://example.org/?Ref=1&q=a%20b"
        );
        // A parameter that merely looks like a tracking one stays.
        assert_eq!(
            key("http://example.org/?ref=x&gclid_like=1"),
            "http://example.org/?gclid_like=1&ref=x"
        );
        assert_ne!(key("http://example.org/"), key("https://example.org/"));
    }

    #[test]
    fn addresses_are_hosts_too() {
        assert_eq!(key("http://192.0.2.1:80/x#y"), "http://192.0.2.1/x");
        assert_eq!(key("http://[2001:DB8::1]/"), "http://[2001:db8::1]/");
    }

    #[test]
    fn only_http_and_https_urls_have_a_key() {
        assert_eq!(
            normalise_url("ftp://example.org/file"),
            Err(UrlError::UnsupportedScheme("ftp".into()))
        );
        assert!(matches!(
            normalise_url("javascript:alert(1)"),
            Err(UrlError::UnsupportedScheme(_))
        ));
        for text in [
            "",
            "example.org/page",
            "http://",
            "http://exa mple.org/",
            "http://./",
        ] {
            assert!(
                matches!(normalise_url(text), Err(UrlError::Invalid(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn a_key_is_its_own_key() {
        for text in [
            "HTTPS://Example.COM.:443/x/../y?b=2&a=1&utm_id=3#top",
            "http://BÜCHER.example/?z&y=&x=1",
            "http://example.org../",
        ] {
            let once = key(text);
            assert_eq!(key(&once), once, "{text}");
        }
    }
}
