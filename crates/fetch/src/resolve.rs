//! Name resolution that only ever hands the connector addresses the rule allows.
//!
//! reqwest connects to whatever its resolver returns, so vetting the answers here, and nowhere
//! else, closes the gap between checking a name and connecting to it: there is no second lookup
//! for a rebinding DNS server to answer differently.

use std::error::Error;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::address::{check_address, Forbidden};

/// The operating system's resolver (`getaddrinfo`, through tokio), used unless a test injects
/// its own.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            // Port 0: reqwest puts the URL's port (or the scheme's) on every address.
            let addresses = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let addresses: Vec<SocketAddr> = addresses.collect();
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

/// Wraps a resolver and drops every answer the address rule refuses; fails when none is left.
pub(crate) struct GuardedResolver {
    pub(crate) inner: Arc<dyn Resolve>,
    pub(crate) allow_loopback: bool,
}

impl fmt::Debug for GuardedResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GuardedResolver")
            .field("allow_loopback", &self.allow_loopback)
            .finish_non_exhaustive()
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let lookup = self.inner.resolve(name);
        let allow_loopback = self.allow_loopback;
        Box::pin(async move {
            let answers: Vec<SocketAddr> = match lookup.await {
                Ok(answers) => answers.collect(),
                Err(error) => {
                    return Err(Box::new(LookupFailed {
                        host,
                        reason: error.to_string(),
                    }) as Box<dyn Error + Send + Sync>)
                }
            };
            let (allowed, refused) = vet(&answers, allow_loopback);
            if allowed.is_empty() {
                if refused.is_empty() {
                    return Err(Box::new(LookupFailed {
                        host,
                        reason: "no address".to_string(),
                    }) as Box<dyn Error + Send + Sync>);
                }
                return Err(Box::new(RefusedAnswers { host, refused }));
            }
            if !refused.is_empty() {
                // A name with both outside and inside addresses is served from the outside ones
                // only; the inside ones are worth a look, they are how rebinding attacks start.
                tracing::warn!(%host, ?refused, "dropped forbidden addresses from a DNS answer");
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Splits resolved addresses into those allowed and those refused, with the reason for each.
fn vet(
    answers: &[SocketAddr],
    allow_loopback: bool,
) -> (Vec<SocketAddr>, Vec<(IpAddr, Forbidden)>) {
    let mut allowed = Vec::new();
    let mut refused = Vec::new();
    for answer in answers {
        match check_address(answer.ip(), allow_loopback) {
            Ok(()) => allowed.push(*answer),
            Err(reason) => refused.push((answer.ip(), reason)),
        }
    }
    (allowed, refused)
}

/// Every address a name resolved to was refused. Travels through reqwest's error chain and is
/// turned back into `FetchError::Forbidden` by the fetcher.
#[derive(Debug)]
pub(crate) struct RefusedAnswers {
    pub(crate) host: String,
    /// Never empty.
    pub(crate) refused: Vec<(IpAddr, Forbidden)>,
}

impl fmt::Display for RefusedAnswers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} resolves only to forbidden addresses", self.host)
    }
}

impl Error for RefusedAnswers {}

/// The name could not be resolved at all.
#[derive(Debug)]
pub(crate) struct LookupFailed {
    pub(crate) host: String,
    pub(crate) reason: String,
}

impl fmt::Display for LookupFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot resolve {}: {}", self.host, self.reason)
    }
}

impl Error for LookupFailed {}
