//! The media on a reported page: which URLs of an HTML page point at images and videos.
//!
//! A report names a page; the abuse material is the images and videos it shows. This module
//! finds their URLs the way a browser with scripting off would see them, and nothing here
//! touches the network: [`crate::Fetcher::fetch_page_media`] does the fetching, through the
//! same guarded [`crate::Fetcher::get`] as every other URL.
//!
//! - **What counts as media**: `img` `src` and every `srcset` candidate (and the `data-src` /
//!   `data-srcset` lazy loaders put there for their script), `picture > source` `srcset`,
//!   `video` `poster` and `src`, `video > source` `src`, the preview images of `meta`
//!   (`og:image`, `og:image:url`, `og:image:secure_url`, `twitter:image`, `twitter:image:src`)
//!   and of `link rel="image_src"`, and anchors whose target ends in an image or video
//!   extension ([`MEDIA_EXTENSIONS`]).
//! - **Resolved like a browser**: against the first `<base href>` of the document (wherever it
//!   stands), else the page's URL; fragments dropped (they are never sent), duplicates kept
//!   once, in document order. Only `http` and `https` URLs are kept: `data:`, `javascript:`,
//!   `blob:` and the rest are not fetched (a `data:` image is in the page already, and what it
//!   shows is not hosted anywhere a notice could reach).
//! - **Hostile markup**: the parser is `lol_html`, a streaming HTML tokenizer made for
//!   untrusted pages at the edge of a CDN. It builds no tree, so memory stays at the size of
//!   the body (which the fetcher's [`crate::Policy`] already bounds) and work at one pass
//!   (two for the content of `<noscript>`, which is markup when scripts are off, as here);
//!   `script`, `style`, comments and other raw text are text to it, never markup, and no
//!   script is ever run. The work is bounded further by [`MAX_ELEMENTS`] elements examined and
//!   [`MAX_CANDIDATES`] URLs collected: past either, what was found so far is the answer.
//!   Being a tokenizer, it may place an element differently from a browser in markup that is
//!   ambiguous without a tree (`<select><xmp>` ...); it is run non-strict, so it keeps going
//!   with its best reading rather than giving up on the page.

use std::cell::RefCell;
use std::collections::HashSet;

use lol_html::{element, text, HtmlRewriter, MemorySettings, Settings};
use url::Url;

use crate::MAX_URL_BYTES;

/// The most elements of a page examined; the rest of the page is not read.
pub const MAX_ELEMENTS: usize = 100_000;

/// The most media URLs collected from a page before resolving and deduplicating them.
pub const MAX_CANDIDATES: usize = 10_000;

/// The extensions that make an anchor's target a media link (compared in lower case).
pub const MEDIA_EXTENSIONS: [&str; 14] = [
    "jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff", "avif", "mp4", "webm", "mov", "m4v",
    "jfif",
];

/// One media URL found on a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLink {
    /// The absolute URL, without its fragment.
    pub url: Url,
    /// Where it was found: `img`, `srcset`, `poster`, `video`, `og:image`, `twitter:image`,
    /// `link`, `anchor`; and `page` for a URL that is itself an image or video.
    pub found_in: &'static str,
}

/// What a fetched body is, by its bytes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// An HTML page: its media are to be found in it.
    Html,
    /// An image or a video served directly: the body is the one media.
    Media,
    /// Anything else (text, JSON, an archive, an empty body).
    Other,
}

/// Says what `body` is: its magic bytes first (an image served as `text/html` is an image),
/// then markup near its start, and only then the `Content-Type` the server claims.
pub fn sniff_body(body: &[u8], content_type: Option<&str>) -> BodyKind {
    if is_media(body) {
        return BodyKind::Media;
    }
    if looks_like_html(body) {
        return BodyKind::Html;
    }
    let essence = content_type
        .and_then(|value| value.split(';').next())
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match essence.as_str() {
        "text/html" | "application/xhtml+xml" if !body.is_empty() => BodyKind::Html,
        _ => BodyKind::Other,
    }
}

/// The magic numbers of the image and video formats a hotline meets.
fn is_media(body: &[u8]) -> bool {
    let starts = |magic: &[u8]| body.starts_with(magic);
    starts(b"\xFF\xD8\xFF") // JPEG
        || starts(b"\x89PNG\r\n\x1A\n")
        || starts(b"GIF87a")
        || starts(b"GIF89a")
        || (starts(b"RIFF") && body.get(8..12) == Some(b"WEBP"))
        || starts(b"BM")
            && body.len() >= 26
            && body.get(14..18).is_some_and(|size| {
                // A BMP info header is 12 to 124 bytes long: "BM" alone starts much text.
                let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]);
                (12..=124).contains(&size)
            })
        || starts(b"II*\0") // TIFF, little-endian
        || starts(b"MM\0*") // TIFF, big-endian
        || body.get(4..8) == Some(b"ftyp") // MP4, MOV, AVIF, HEIF
        || starts(b"\x1A\x45\xDF\xA3") // Matroska, WebM
}

/// Markup near the start: after whitespace (and a byte-order mark) the body opens with a tag
/// or comment as WHATWG's sniffing rules list them, or one of the tags a page surely has
/// appears in its first kilobyte.
fn looks_like_html(body: &[u8]) -> bool {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = body
        .iter()
        .position(|byte| !byte.is_ascii_whitespace())
        .unwrap_or(body.len());
    let head: Vec<u8> = body[start..body.len().min(start + 1024)]
        .iter()
        .map(u8::to_ascii_lowercase)
        .collect();
    const OPENINGS: [&[u8]; 17] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<script",
        b"<iframe",
        b"<h1",
        b"<div",
        b"<font",
        b"<table",
        b"<a",
        b"<style",
        b"<title",
        b"<b",
        b"<body",
        b"<br",
        b"<p",
        b"<!--",
    ];
    let opens = OPENINGS.iter().any(|tag| {
        head.starts_with(tag)
            && (tag == b"<!--"
                || head.get(tag.len()).is_some_and(|&next| {
                    next == b' '
                        || next == b'>'
                        || next == b'\t'
                        || next == b'\n'
                        || next == b'\r'
                        || next == b'/'
                }))
    });
    const ANYWHERE: [&[u8]; 5] = [b"<!doctype html", b"<html", b"<head", b"<body", b"<img"];
    opens
        || ANYWHERE
            .iter()
            .any(|tag| head.windows(tag.len()).any(|window| window == *tag))
}

/// A media URL as written in the page, before resolution.
struct Candidate {
    raw: String,
    found_in: &'static str,
}

/// What the parser's handlers gather.
#[derive(Default)]
struct Gathered {
    candidates: Vec<Candidate>,
    base: Option<String>,
    elements: usize,
}

impl Gathered {
    fn push(&mut self, raw: Option<String>, found_in: &'static str) {
        if let Some(raw) = raw {
            if self.candidates.len() < MAX_CANDIDATES {
                self.candidates.push(Candidate { raw, found_in });
            }
        }
    }

    fn push_srcset(&mut self, srcset: Option<String>) {
        if let Some(srcset) = srcset {
            for url in srcset_urls(&srcset) {
                self.push(Some(url.to_string()), "srcset");
            }
        }
    }

    fn full(&self) -> bool {
        self.candidates.len() >= MAX_CANDIDATES
    }
}

/// The media of an HTML page, in document order, each once, at most `limit`; see the module
/// documentation for what is looked at. Never fails: a page that cannot be parsed to the end
/// gives what was found before the point where parsing stopped.
pub fn extract_media(html: &str, page_url: &Url, limit: usize) -> Vec<MediaLink> {
    if limit == 0 {
        return Vec::new();
    }
    let gathered = RefCell::new(Gathered::default());
    gather(html, &gathered, true);
    resolve(gathered.into_inner(), page_url, limit)
}

/// Reads `html` once, adding what it finds to `gathered`. With `noscript`, the text of each
/// `<noscript>` (raw text to the tokenizer, which parses as a browser running scripts would)
/// is read again as markup, where it stands: with scripting off, as we fetch, it is the
/// page, and lazy-loading galleries put their real `<img>` there.
fn gather(html: &str, gathered: &RefCell<Gathered>, noscript: bool) {
    let stop = || -> Box<dyn std::error::Error + Send + Sync> { "enough of this page".into() };
    let noscript_text = RefCell::new(String::new());
    {
        let settings = Settings::new()
            .append_element_content_handler(element!("*", |el| {
                let mut gathered = gathered.borrow_mut();
                gathered.elements += 1;
                if gathered.elements > MAX_ELEMENTS || gathered.full() {
                    return Err(stop());
                }
                match el.tag_name().as_str() {
                    // The first base with an href sets the document's base URL.
                    "base" if gathered.base.is_none() => {
                        gathered.base = el.get_attribute("href");
                    }
                    "img" => {
                        gathered.push(el.get_attribute("src"), "img");
                        gathered.push_srcset(el.get_attribute("srcset"));
                        gathered.push(el.get_attribute("data-src"), "img");
                        gathered.push_srcset(el.get_attribute("data-srcset"));
                    }
                    "video" => {
                        gathered.push(el.get_attribute("poster"), "poster");
                        gathered.push(el.get_attribute("src"), "video");
                    }
                    "meta" => {
                        let key = el
                            .get_attribute("property")
                            .or_else(|| el.get_attribute("name"))
                            .map(|key| key.trim().to_ascii_lowercase());
                        let found_in = match key.as_deref() {
                            Some("og:image" | "og:image:url" | "og:image:secure_url") => {
                                Some("og:image")
                            }
                            Some("twitter:image" | "twitter:image:src") => Some("twitter:image"),
                            _ => None,
                        };
                        if let Some(found_in) = found_in {
                            gathered.push(el.get_attribute("content"), found_in);
                        }
                    }
                    "link" => {
                        let rel = el.get_attribute("rel").unwrap_or_default();
                        if rel
                            .split_ascii_whitespace()
                            .any(|token| token.eq_ignore_ascii_case("image_src"))
                        {
                            gathered.push(el.get_attribute("href"), "link");
                        }
                    }
                    "a" => gathered.push(el.get_attribute("href"), "anchor"),
                    _ => {}
                }
                Ok(())
            }))
            .append_element_content_handler(element!("picture > source", |el| {
                gathered
                    .borrow_mut()
                    .push_srcset(el.get_attribute("srcset"));
                Ok(())
            }))
            .append_element_content_handler(element!("video > source", |el| {
                gathered.borrow_mut().push(el.get_attribute("src"), "video");
                Ok(())
            }))
            // One write of the whole page: the parser buffers nothing beyond it, but a
            // ceiling costs nothing should that change.
            .with_memory_settings(
                MemorySettings::new().with_max_allowed_memory_usage(64 * 1024 * 1024),
            )
            .with_strict(false);
        let settings = if noscript {
            settings.append_element_content_handler(text!("noscript", |chunk| {
                let mut text = noscript_text.borrow_mut();
                text.push_str(chunk.as_str());
                if chunk.last_in_text_node() {
                    let markup = std::mem::take(&mut *text);
                    drop(text);
                    // Once only: there is no noscript inside a noscript's text.
                    gather(&markup, gathered, false);
                }
                Ok(())
            }))
        } else {
            settings
        };
        let mut rewriter = HtmlRewriter::new(settings, |_: &[u8]| {});
        // An error is a handler saying "enough" or the parser giving up: either way, what was
        // gathered until then is the answer.
        if rewriter.write(html.as_bytes()).is_ok() {
            let _ = rewriter.end();
        }
    }
}

/// Turns the gathered candidates into absolute http(s) URLs, each once, at most `limit`.
fn resolve(gathered: Gathered, page_url: &Url, limit: usize) -> Vec<MediaLink> {
    let base = gathered
        .base
        .as_deref()
        .and_then(|href| page_url.join(href.trim()).ok())
        .unwrap_or_else(|| page_url.clone());
    let mut seen = HashSet::new();
    let mut links = Vec::new();
    for candidate in gathered.candidates {
        let raw = candidate
            .raw
            .trim_matches(|c: char| c.is_ascii_whitespace());
        // An empty URL is the page itself; an overlong one could never be fetched.
        if raw.is_empty() || raw.len() > MAX_URL_BYTES {
            continue;
        }
        let Ok(mut url) = base.join(raw) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") {
            continue;
        }
        url.set_fragment(None);
        if candidate.found_in == "anchor" && !has_media_extension(&url) {
            continue;
        }
        if seen.insert(url.as_str().to_string()) {
            links.push(MediaLink {
                url,
                found_in: candidate.found_in,
            });
            if links.len() == limit {
                break;
            }
        }
    }
    links
}

/// Whether the last segment of the URL's path ends in one of [`MEDIA_EXTENSIONS`].
fn has_media_extension(url: &Url) -> bool {
    let name = url.path().rsplit('/').next().unwrap_or_default();
    match name.rsplit_once('.') {
        Some((_, extension)) => MEDIA_EXTENSIONS
            .iter()
            .any(|known| extension.eq_ignore_ascii_case(known)),
        None => false,
    }
}

/// The URLs of a `srcset` attribute, as HTML's "parse a srcset attribute" splits it: candidates
/// are separated by commas, each a URL then optional descriptors (`640w`, `2x`); a comma inside
/// the URL (as in `data:` URLs) or inside parentheses in the descriptors does not split.
pub fn srcset_urls(srcset: &str) -> Vec<&str> {
    let bytes = srcset.as_bytes();
    let mut urls = Vec::new();
    let mut position = 0;
    loop {
        while position < bytes.len()
            && (bytes[position].is_ascii_whitespace() || bytes[position] == b',')
        {
            position += 1;
        }
        if position >= bytes.len() {
            return urls;
        }
        let start = position;
        while position < bytes.len() && !bytes[position].is_ascii_whitespace() {
            position += 1;
        }
        let url = &srcset[start..position];
        // A URL ending in commas ends its candidate, with no descriptors.
        let trimmed = url.trim_end_matches(',');
        if trimmed.len() < url.len() {
            if !trimmed.is_empty() {
                urls.push(trimmed);
            }
            continue;
        }
        urls.push(url);
        let mut in_parentheses = false;
        while position < bytes.len() {
            match bytes[position] {
                b'(' => in_parentheses = true,
                b')' => in_parentheses = false,
                b',' if !in_parentheses => {
                    position += 1;
                    break;
                }
                _ => {}
            }
            position += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Url {
        Url::parse("https://site.example/gallery/page.html?id=3").unwrap()
    }

    /// The URLs and where they were found, as strings.
    fn found(html: &str, limit: usize) -> Vec<(String, &'static str)> {
        extract_media(html, &page(), limit)
            .into_iter()
            .map(|link| (link.url.to_string(), link.found_in))
            .collect()
    }

    fn urls(html: &str) -> Vec<String> {
        found(html, 100).into_iter().map(|(url, _)| url).collect()
    }

    #[test]
    fn every_kind_of_media_is_found_in_document_order() {
        let html = r#"<!doctype html><html><head>
            <meta property="og:image" content="/og.jpg">
            <meta property="og:image:secure_url" content="https://cdn.example/og-secure.jpg">
            <meta name="twitter:image" content="tw.png">
            <link rel="preload image_src" href="link.gif">
            <link rel="stylesheet" href="style.css">
            </head><body>
            <img src="a.jpg" srcset="a-2x.jpg 2x, a-640.jpg 640w">
            <picture><source srcset="p.avif 1x, p-2x.avif 2x" type="image/avif"><img src="p.jpg"></picture>
            <video poster="poster.jpg" src="clip.mp4"><source src="clip.webm" type="video/webm"></video>
            <audio><source src="sound.ogg"></audio>
            <a href="full/b.JPEG?size=large">a photo</a>
            <a href="other-page.html">not media</a>
            <a href="movie.mov#t=10">a film</a>
            </body></html>"#;
        let expected = [
            ("https://site.example/og.jpg", "og:image"),
            ("https://cdn.example/og-secure.jpg", "og:image"),
            ("https://site.example/gallery/tw.png", "twitter:image"),
            ("https://site.example/gallery/link.gif", "link"),
            ("https://site.example/gallery/a.jpg", "img"),
            ("https://site.example/gallery/a-2x.jpg", "srcset"),
            ("https://site.example/gallery/a-640.jpg", "srcset"),
            ("https://site.example/gallery/p.avif", "srcset"),
            ("https://site.example/gallery/p-2x.avif", "srcset"),
            ("https://site.example/gallery/p.jpg", "img"),
            ("https://site.example/gallery/poster.jpg", "poster"),
            ("https://site.example/gallery/clip.mp4", "video"),
            ("https://site.example/gallery/clip.webm", "video"),
            (
                "https://site.example/gallery/full/b.JPEG?size=large",
                "anchor",
            ),
            ("https://site.example/gallery/movie.mov", "anchor"),
        ];
        let expected: Vec<(String, &str)> = expected
            .iter()
            .map(|(url, found_in)| (url.to_string(), *found_in))
            .collect();
        assert_eq!(found(html, 100), expected);
    }

    #[test]
    fn relative_urls_resolve_against_the_first_base_href_wherever_it_is() {
        let html = r#"<img src="one.jpg"><base href="https://images.example/set/">
            <base href="https://ignored.example/"><img src="../two.png"><img src="//cdn.example/three.gif">
            <img src="/four.webp"><img src="?q=five"><img src="http://plain.example/six.jpg">"#;
        assert_eq!(
            urls(html),
            [
                "https://images.example/set/one.jpg",
                "https://images.example/two.png",
                "https://cdn.example/three.gif",
                "https://images.example/four.webp",
                "https://images.example/set/?q=five",
                "http://plain.example/six.jpg",
            ]
        );
        // A relative base resolves against the page.
        assert_eq!(
            urls(r#"<base href="../media/"><img src="x.jpg">"#),
            ["https://site.example/media/x.jpg"]
        );
    }

    #[test]
    fn srcset_candidates_split_as_html_splits_them() {
        assert_eq!(
            srcset_urls("a.jpg 480w, b.jpg 800w,c.jpg 2x , d.jpg"),
            ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
        );
        assert_eq!(
            srcset_urls("a.jpg,b.jpg"),
            ["a.jpg,b.jpg"],
            "no space: one URL"
        );
        assert_eq!(
            srcset_urls("a.jpg, b.jpg,, c.jpg,"),
            ["a.jpg", "b.jpg", "c.jpg"]
        );
        assert_eq!(
            srcset_urls("data:image/png;base64,AAAA 1x, real.png 2x"),
            ["data:image/png;base64,AAAA", "real.png"]
        );
        assert_eq!(
            srcset_urls("odd.jpg (x, y) 2x, next.jpg 1.5x"),
            ["odd.jpg", "next.jpg"]
        );
        assert_eq!(srcset_urls("  \n ,  "), Vec::<&str>::new());
        assert_eq!(
            urls(
                r#"<img srcset="
                small.jpg 320w,
                medium.jpg 800w,
                large.jpg 1.5x">"#
            ),
            [
                "https://site.example/gallery/small.jpg",
                "https://site.example/gallery/medium.jpg",
                "https://site.example/gallery/large.jpg",
            ]
        );
    }

    #[test]
    fn duplicates_are_kept_once_where_first_seen() {
        let html = r#"<meta property="og:image" content="https://site.example/gallery/a.jpg">
            <img src="a.jpg" srcset="a.jpg 1x, b.jpg 2x"><img src="./a.jpg#top">
            <a href="b.jpg">b</a><img src="b.jpg">"#;
        assert_eq!(
            found(html, 100),
            [
                ("https://site.example/gallery/a.jpg".to_string(), "og:image"),
                ("https://site.example/gallery/b.jpg".to_string(), "srcset"),
            ]
        );
    }

    #[test]
    fn at_most_limit_links_are_returned() {
        let html: String = (0..50).map(|i| format!("<img src=\"{i}.jpg\">")).collect();
        let links = urls(&html);
        assert_eq!(links.len(), 50);
        let first = found(&html, 3);
        assert_eq!(first.len(), 3);
        assert_eq!(first[2].0, "https://site.example/gallery/2.jpg");
        assert!(found(&html, 0).is_empty());
    }

    #[test]
    fn only_http_and_https_urls_are_kept() {
        let html = r#"<img src="data:image/png;base64,iVBORw0KGgo=">
            <img src="javascript:alert(1)"><img src="blob:https://site.example/1234">
            <img src="ftp://files.example/x.jpg"><img src="file:///etc/passwd">
            <img src=" JaVaScRiPt:alert(1) "><img src="mailto:a@b.example"><img src="">
            <img src="   "><a href="data:image/jpeg;base64,AAAA">x.jpg</a>
            <base href="data:text/html,x">
            <img src="kept.png">"#;
        // A base that is not http(s) makes relative URLs unresolvable: nothing is kept.
        assert_eq!(urls(html), Vec::<String>::new());
        let html = html.replace(r#"<base href="data:text/html,x">"#, "");
        assert_eq!(urls(&html), ["https://site.example/gallery/kept.png"]);
    }

    #[test]
    fn script_style_comments_and_text_are_not_markup() {
        let html = r#"<script>document.write('<img src="from-script.jpg">');
            var s = "</scr" + "ipt><img src=still-script.jpg>";</script>
            <style>img { background: url(from-style.png) } </style><!-- <img src="commented.jpg"> -->
            <title><img src="in-title.jpg"></title><textarea><img src="in-textarea.jpg"></textarea>
            <noscript><img src="noscript.jpg"></noscript>
            <img src="real.jpg">"#;
        let links = urls(html);
        // With scripting off, as we fetch, a noscript's content is markup.
        assert_eq!(
            links,
            [
                "https://site.example/gallery/noscript.jpg",
                "https://site.example/gallery/real.jpg"
            ]
        );
        for hidden in [
            "from-script",
            "still-script",
            "from-style",
            "commented",
            "in-title",
            "in-textarea",
        ] {
            assert!(
                !links.iter().any(|url| url.contains(hidden)),
                "{hidden}: {links:?}"
            );
        }
    }

    #[test]
    fn hostile_markup_gives_what_it_can_and_never_panics() {
        // Unclosed tags and attributes, stray end tags, odd case and quoting.
        let html = r#"<div><p><IMG SRC=one.jpg><img src='two.jpg' <img src="three.jpg"
            </b></i></table><img src=four.jpg alt="unclosed><img src="five.jpg">"#;
        let links = urls(html);
        assert!(links.contains(&"https://site.example/gallery/one.jpg".to_string()));
        assert!(links.contains(&"https://site.example/gallery/two.jpg".to_string()));
        // A megabyte-long attribute before an image does not hide it.
        let huge = format!(
            r#"<img alt="{}" src="after-huge.jpg"><img src="next.jpg">"#,
            "x".repeat(1 << 20)
        );
        assert_eq!(
            urls(&huge),
            [
                "https://site.example/gallery/after-huge.jpg",
                "https://site.example/gallery/next.jpg"
            ]
        );
        // A URL too long to fetch is dropped, and the next one kept.
        let long = format!(
            r#"<img src="{}.jpg"><img src="short.jpg">"#,
            "a".repeat(MAX_URL_BYTES)
        );
        assert_eq!(urls(&long), ["https://site.example/gallery/short.jpg"]);
        // Truncated input, binary garbage, nesting a thousand deep.
        for input in [
            "<img src=\"x.jpg".to_string(),
            "<".to_string(),
            "<img src".to_string(),
            String::from_utf8_lossy(&[0xff, 0x00, b'<', 0xfe, b'>', 0x3c, 0x21]).into_owned(),
            "<div>".repeat(1000) + "<img src=deep.jpg>",
            "<svg><image href=\"svg.png\"/></svg><math><img src=math.jpg></math>".to_string(),
            "<select><xmp><img src=xmp.jpg></select>".to_string(),
        ] {
            let _ = urls(&input);
        }
        assert_eq!(
            urls(&("<div>".repeat(1000) + "<img src=deep.jpg>")),
            ["https://site.example/gallery/deep.jpg"]
        );
    }

    #[test]
    fn the_number_of_elements_examined_is_bounded() {
        let mut html = "<b></b>".repeat(MAX_ELEMENTS);
        html.push_str("<img src=\"too-far.jpg\">");
        assert!(urls(&html).is_empty());
        let mut html = "<img src=\"first.jpg\">".to_string();
        html.push_str(&"<i></i>".repeat(MAX_ELEMENTS));
        html.push_str("<img src=\"too-far.jpg\">");
        assert_eq!(urls(&html), ["https://site.example/gallery/first.jpg"]);
    }

    #[test]
    fn bodies_are_sniffed_by_their_bytes_first() {
        let html = Some("text/html; charset=utf-8");
        assert_eq!(
            sniff_body(b"\xFF\xD8\xFF\xE0\0\x10JFIF", html),
            BodyKind::Media
        );
        assert_eq!(sniff_body(b"\x89PNG\r\n\x1A\n....", None), BodyKind::Media);
        assert_eq!(
            sniff_body(b"GIF89a...", Some("text/plain")),
            BodyKind::Media
        );
        assert_eq!(sniff_body(b"RIFF\0\0\0\0WEBPVP8 ", None), BodyKind::Media);
        assert_eq!(sniff_body(b"\0\0\0\x20ftypisom", None), BodyKind::Media);
        assert_eq!(sniff_body(b"\x1A\x45\xDF\xA3", None), BodyKind::Media);
        for page in [
            &b"<!DOCTYPE html><title>x</title>"[..],
            b"\xEF\xBB\xBF\n  <html lang=fr>",
            b"<HEAD>",
            b"<!-- a comment --><p>text",
            b"<?xml version=\"1.0\"?>\n<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0//EN\">",
            b"some text then <img src=a.jpg>",
        ] {
            assert_eq!(
                sniff_body(page, Some("application/octet-stream")),
                BodyKind::Html,
                "{}",
                String::from_utf8_lossy(page)
            );
        }
        assert_eq!(sniff_body(b"<p>hello", None), BodyKind::Html);
        assert_eq!(
            sniff_body(b"just words", html),
            BodyKind::Html,
            "trusted last"
        );
        assert_eq!(
            sniff_body(b"just words", Some("text/plain")),
            BodyKind::Other
        );
        assert_eq!(sniff_body(b"{\"json\": true}", None), BodyKind::Other);
        assert_eq!(sniff_body(b"BMW is a car", None), BodyKind::Other);
        assert_eq!(sniff_body(b"<pre>", None), BodyKind::Other);
        assert_eq!(sniff_body(b"", html), BodyKind::Other);
    }
}
