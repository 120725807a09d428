//! Where a webhook may send: URL rules and the SSRF guard (DESIGN *SSRF*).
//!
//! IP-literal URLs are judged directly (they never reach a resolver). Hostnames are judged by
//! name, then every address they resolve to is judged — at create/update time, and again at
//! each attempt through [`FilteringResolver`], the HTTP client's only resolver, so a name that
//! turns internal after it was accepted (DNS rebinding) fails the attempt. The resolver is
//! injectable so tests can map names to addresses without touching real DNS.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use signalbox_core::ssrf::{DestinationPolicy, Forbidden};
use url::{Host, Url};

/// Longest accepted URL, in bytes.
pub const MAX_URL_BYTES: usize = 2048;
/// Longest wait for a name to resolve.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(2);

pub type Lookup = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Turns a host name into addresses.
pub trait NameResolver: Send + Sync + 'static {
    fn lookup(&self, host: &str) -> Lookup;
}

/// The operating system's resolver.
#[derive(Debug, Default)]
pub struct SystemResolver;

impl NameResolver for SystemResolver {
    fn lookup(&self, host: &str) -> Lookup {
        let host = host.to_owned();
        Box::pin(async move {
            let addresses = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addresses.map(|a| a.ip()).collect())
        })
    }
}

/// A fixed map of names to addresses, changeable at run time: for tests, which must never
/// resolve real names. Unknown names do not resolve.
#[derive(Debug, Default)]
pub struct StaticResolver(Mutex<HashMap<String, Vec<IpAddr>>>);

impl StaticResolver {
    pub fn set(&self, host: &str, addresses: Vec<IpAddr>) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(host.to_ascii_lowercase(), addresses);
    }
}

impl NameResolver for StaticResolver {
    fn lookup(&self, host: &str) -> Lookup {
        let found = self.0.lock().unwrap_or_else(|e| e.into_inner()).get(&host.to_ascii_lowercase()).cloned();
        let host = host.to_owned();
        Box::pin(async move {
            found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("{host} does not resolve")))
        })
    }
}

/// Why a URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlProblem {
    #[error("must be an absolute http:// or https:// URL")]
    NotHttp,
    #[error("must not contain a user name or password")]
    UserInfo,
    #[error("must be at most {MAX_URL_BYTES} bytes")]
    TooLong,
    #[error("is not allowed: {0} (operators can allow internal networks with --webhook-allow-cidr)")]
    Forbidden(Forbidden),
}

/// Why a delivery could not reach its destination.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{0}")]
    Forbidden(Forbidden),
    #[error("{host} did not resolve: {message}")]
    Unresolved { host: String, message: String },
}

/// The policy and the resolver, shared by validation and the HTTP client.
#[derive(Clone)]
pub struct Destinations {
    policy: DestinationPolicy,
    resolver: Arc<dyn NameResolver>,
}

impl Destinations {
    pub fn new(policy: DestinationPolicy, resolver: Arc<dyn NameResolver>) -> Self {
        Self { policy, resolver }
    }

    /// Parses a webhook URL (WHATWG rules: `2130706433`, `0x7f.1` and `127.1` all become
    /// 127.0.0.1) and applies the URL rules, without resolving.
    pub fn parse_url(&self, text: &str) -> Result<Url, UrlProblem> {
        if text.len() > MAX_URL_BYTES {
            return Err(UrlProblem::TooLong);
        }
        let url = Url::parse(text).map_err(|_| UrlProblem::NotHttp)?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(UrlProblem::NotHttp);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlProblem::UserInfo);
        }
        if url.as_str().len() > MAX_URL_BYTES {
            return Err(UrlProblem::TooLong);
        }
        Ok(url)
    }

    /// The create/update check: the URL rules, then the host. A name that does not resolve
    /// (now) is accepted; its deliveries fail until it does.
    pub async fn check(&self, text: &str) -> Result<Url, UrlProblem> {
        let url = self.parse_url(text)?;
        match url.host() {
            Some(Host::Ipv4(ip)) => self.policy.check_ip(IpAddr::V4(ip)).map_err(UrlProblem::Forbidden)?,
            Some(Host::Ipv6(ip)) => self.policy.check_ip(IpAddr::V6(ip)).map_err(UrlProblem::Forbidden)?,
            Some(Host::Domain(name)) => match self.resolve(name).await {
                Ok(_) | Err(ResolveError::Unresolved { .. }) => {}
                Err(ResolveError::Forbidden(forbidden)) => return Err(UrlProblem::Forbidden(forbidden)),
            },
            None => return Err(UrlProblem::NotHttp),
        }
        Ok(url)
    }

    /// The check before an attempt for IP-literal URLs (names are checked as they resolve).
    pub fn check_literal(&self, url: &Url) -> Result<(), Forbidden> {
        match url.host() {
            Some(Host::Ipv4(ip)) => self.policy.check_ip(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => self.policy.check_ip(IpAddr::V6(ip)),
            _ => Ok(()),
        }
    }

    /// Resolves a name (bounded in time) and judges the name and every address; one
    /// forbidden address refuses the name.
    pub async fn resolve(&self, name: &str) -> Result<Vec<IpAddr>, ResolveError> {
        self.policy.check_host_name(name).map_err(ResolveError::Forbidden)?;
        let unresolved = |message: String| ResolveError::Unresolved { host: name.to_owned(), message };
        let addresses = tokio::time::timeout(RESOLVE_TIMEOUT, self.resolver.lookup(name))
            .await
            .map_err(|_| unresolved(format!("no answer within {RESOLVE_TIMEOUT:?}")))?
            .map_err(|e| unresolved(e.to_string()))?;
        if addresses.is_empty() {
            return Err(unresolved("no addresses".to_owned()));
        }
        for ip in &addresses {
            self.policy.check_ip(*ip).map_err(ResolveError::Forbidden)?;
        }
        Ok(addresses)
    }
}

/// The HTTP client's resolver: [`Destinations::resolve`], so every connection to a name is
/// judged by the addresses it actually goes to.
#[derive(Clone)]
pub struct FilteringResolver(pub Destinations);

impl reqwest::dns::Resolve for FilteringResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let destinations = self.0.clone();
        Box::pin(async move {
            let addresses = destinations.resolve(name.as_str()).await?;
            let addrs: reqwest::dns::Addrs = Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destinations(allowed: &[&str]) -> (Destinations, Arc<StaticResolver>) {
        let resolver = Arc::new(StaticResolver::default());
        let policy = DestinationPolicy::new(allowed.iter().map(|c| c.parse().unwrap()).collect());
        (Destinations::new(policy, resolver.clone()), resolver)
    }

    #[tokio::test]
    async fn odd_spellings_of_loopback_are_canonicalised_and_refused() {
        let (destinations, _) = destinations(&[]);
        for url in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://127.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://0.0.0.0/",
            "http://localhost:8080/",
            "http://LOCALHOST./",
            "http://api.localhost/",
            "http://printer.local/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00::1]/",
        ] {
            assert!(matches!(destinations.check(url).await, Err(UrlProblem::Forbidden(_))), "{url} was accepted");
        }
    }

    #[tokio::test]
    async fn the_url_rules_come_before_the_network_rules() {
        let (destinations, _) = destinations(&[]);
        assert_eq!(destinations.check("ftp://example.invalid/").await, Err(UrlProblem::NotHttp));
        assert_eq!(destinations.check("/relative").await, Err(UrlProblem::NotHttp));
        assert_eq!(destinations.check("https://user:pw@hooks.invalid/").await, Err(UrlProblem::UserInfo));
        let long = format!("https://hooks.invalid/{}", "a".repeat(MAX_URL_BYTES));
        assert_eq!(destinations.check(&long).await, Err(UrlProblem::TooLong));
    }

    #[tokio::test]
    async fn names_are_judged_by_every_address_they_resolve_to() {
        let (destinations, resolver) = destinations(&[]);
        resolver.set("public.invalid", vec!["93.184.216.34".parse().unwrap()]);
        resolver.set("mixed.invalid", vec!["93.184.216.34".parse().unwrap(), "10.0.0.1".parse().unwrap()]);
        assert!(destinations.check("https://public.invalid/hook").await.is_ok());
        assert!(matches!(destinations.check("https://mixed.invalid/").await, Err(UrlProblem::Forbidden(_))));
        // Not resolving now is accepted; the attempts will fail until it does.
        assert!(destinations.check("https://nowhere.invalid/").await.is_ok());
        assert!(matches!(destinations.resolve("nowhere.invalid").await, Err(ResolveError::Unresolved { .. })));
    }

    #[tokio::test]
    async fn the_allow_list_opens_internal_ranges() {
        let (destinations, _) = destinations(&["127.0.0.1/32"]);
        assert!(destinations.check("http://127.0.0.1:9000/hook").await.is_ok());
        assert!(destinations.check("http://127.0.0.2/").await.is_err());
    }
}
