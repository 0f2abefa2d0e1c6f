//! What can go wrong with a fetch, named for what the caller decides.

use std::fmt::Write as _;
use std::net::IpAddr;
use std::time::Duration;

use crate::address::Forbidden;

/// Why a fetch gave no response. A response with any status, 404 included, is not an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL (the one asked for, or a redirect's `Location`) cannot be fetched as written:
    /// unparsable, too long, not http or https, or carrying a user name or password.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given, cut to a readable length.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The host is, or resolves only to, an address the rule refuses (loopback, private,
    /// metadata...).
    #[error("{host} is forbidden: {address} is {reason}{}", others_text(others))]
    Forbidden {
        /// The host as in the URL.
        host: String,
        /// The first address refused.
        address: IpAddr,
        /// Why it was refused.
        reason: Forbidden,
        /// The other addresses the name resolved to, all refused too.
        others: Vec<(IpAddr, Forbidden)>,
    },
    /// A header given to [`Fetcher::post`](crate::Fetcher::post) cannot be sent: its name is not
    /// a header name, or its value holds a control character (a line break would let it smuggle
    /// in headers of its own).
    #[error("the header {name:?} cannot be sent: {reason}")]
    InvalidHeader {
        /// The header's name, cut to a readable length.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// More redirects than the policy follows (a loop, or a chain too long to be honest).
    #[error("more than {limit} redirects")]
    TooManyRedirects {
        /// The policy's limit.
        limit: usize,
    },
    /// The body is longer than the policy allows (announced or read so far).
    #[error("the response body is larger than {limit} bytes")]
    TooLarge {
        /// The policy's limit, in bytes.
        limit: u64,
    },
    /// The whole fetch (resolution, every hop, the body) took longer than the policy allows.
    #[error("the fetch took longer than {after:?}")]
    TimedOut {
        /// The policy's limit.
        after: Duration,
    },
    /// The host's name does not resolve (no such name, or no address): for a takedown, the
    /// site is gone, which a refused connection does not say.
    #[error("{host} does not resolve: {reason}")]
    NameNotFound {
        /// The host as in the URL (or a redirect's).
        host: String,
        /// What the resolver said.
        reason: String,
    },
    /// No answer from the host: connection refused or timed out, TLS
    /// failed, the connection broke.
    #[error("{url} is unreachable: {reason}")]
    Unreachable {
        /// The URL being fetched when it failed (a redirect's target, maybe).
        url: String,
        /// What failed, as the network stack says it.
        reason: String,
    },
    /// The policy cannot make a client (a user agent that is not a valid header, say).
    #[error("invalid fetch policy: {reason}")]
    InvalidPolicy {
        /// What is wrong.
        reason: String,
    },
}

fn others_text(others: &[(IpAddr, Forbidden)]) -> String {
    let mut text = String::new();
    for (address, reason) in others {
        let _ = write!(text, "; {address} is {reason}");
    }
    text
}
