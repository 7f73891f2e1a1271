//! The Raceway server's base URL and API key, each validated in this one place for every crate
//! that takes them (the std face's configuration, the HTTP client, the CLI).

use std::fmt;

use crate::client::HttpConfigError;

/// A validated `http://` or `https://` server base URL, without a trailing `/`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ServerUrl(String);

impl ServerUrl {
    /// Validates `url`: scheme `http` or `https`, a host (name, IPv4 or `[IPv6]`), an optional
    /// port, an optional path; no credentials, query, fragment or whitespace.
    pub fn parse(url: &str) -> Result<Self, InvalidUrl> {
        let (scheme, rest) = url.split_once("://").ok_or(InvalidUrl::Scheme)?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "http" && scheme != "https" {
            return Err(InvalidUrl::Scheme);
        }
        if rest.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(InvalidUrl::Characters);
        }
        if rest.contains(['?', '#']) {
            return Err(InvalidUrl::QueryOrFragment);
        }
        let (authority, path) = rest.find('/').map_or((rest, ""), |at| rest.split_at(at));
        if authority.contains('@') {
            return Err(InvalidUrl::Credentials);
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (address, after) = v6.split_once(']').ok_or(InvalidUrl::Host)?;
            let valid = !address.is_empty()
                && address
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
            if !valid {
                return Err(InvalidUrl::Host);
            }
            match after {
                "" => (authority, None),
                port => (
                    authority,
                    Some(port.strip_prefix(':').ok_or(InvalidUrl::Port)?),
                ),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let host_ok = host.starts_with('[')
            || (!host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_')));
        if !host_ok {
            return Err(InvalidUrl::Host);
        }
        if let Some(port) = port {
            let valid = !port.is_empty()
                && port.len() <= 5
                && port.bytes().all(|b| b.is_ascii_digit())
                && port.parse::<u16>().is_ok_and(|p| p != 0);
            if !valid {
                return Err(InvalidUrl::Port);
            }
        }
        let path = path.trim_end_matches('/');
        Ok(ServerUrl(format!("{scheme}://{authority}{path}")))
    }

    /// The URL text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https://")
    }

    /// The ingest endpoint, `{url}/events`.
    pub fn events_endpoint(&self) -> String {
        format!("{}/events", self.0)
    }
}

impl fmt::Display for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ServerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServerUrl({})", self.0)
    }
}

/// Why a server URL was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidUrl {
    /// It does not start with `http://` or `https://`.
    Scheme,
    /// It contains whitespace, control or non-ASCII characters.
    Characters,
    /// It has a query (`?`) or a fragment (`#`); give the server's base URL only.
    QueryOrFragment,
    /// It has credentials (`user:pass@`); use the API key option instead.
    Credentials,
    /// The host is missing or malformed.
    Host,
    /// The port is not a number from 1 to 65535.
    Port,
}

impl fmt::Display for InvalidUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InvalidUrl::Scheme => "it must start with http:// or https://",
            InvalidUrl::Characters => "it contains whitespace, control or non-ASCII characters",
            InvalidUrl::QueryOrFragment => "give the server's base URL without ?query or #fragment",
            InvalidUrl::Credentials => "credentials in the URL are not supported: set the API key",
            InvalidUrl::Host => "the host is missing or malformed",
            InvalidUrl::Port => "the port must be a number from 1 to 65535",
        })
    }
}

/// A Raceway API key. Its `Debug` output is `ApiKey(<redacted>)`, and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key. It must be non-empty visible ASCII (no spaces or control characters), as an
    /// HTTP header value token.
    pub fn new(key: impl Into<String>) -> Result<Self, HttpConfigError> {
        let key = key.into();
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(HttpConfigError::InvalidApiKey);
        }
        Ok(ApiKey(key))
    }

    /// The key itself, for the `Authorization` header. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_validated_and_normalised() {
        let ok = [
            ("http://localhost:8080", "http://localhost:8080"),
            (
                "HTTPS://raceway.example.com/",
                "https://raceway.example.com",
            ),
            ("http://10.0.0.1:80/base/", "http://10.0.0.1:80/base"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("http://[::1]", "http://[::1]"),
        ];
        for (input, normalised) in ok {
            assert_eq!(ServerUrl::parse(input).unwrap().as_str(), normalised);
        }
        let bad = [
            ("localhost:8080", InvalidUrl::Scheme),
            ("ftp://host", InvalidUrl::Scheme),
            ("http://", InvalidUrl::Host),
            ("http://:8080", InvalidUrl::Host),
            ("http://host:0", InvalidUrl::Port),
            ("http://host:99999", InvalidUrl::Port),
            ("http://host:", InvalidUrl::Port),
            ("http://host:80:80", InvalidUrl::Host),
            ("http://ho st", InvalidUrl::Characters),
            ("http://host/?q", InvalidUrl::QueryOrFragment),
            ("http://user:pw@host", InvalidUrl::Credentials),
            ("http://[zz]:1", InvalidUrl::Host),
            ("http://[::1]x", InvalidUrl::Port),
            ("http://hóst", InvalidUrl::Characters),
        ];
        for (input, reason) in bad {
            assert_eq!(ServerUrl::parse(input), Err(reason), "{input}");
        }
    }

    #[test]
    fn api_key_is_checked_and_redacted() {
        assert_eq!(ApiKey::new(""), Err(HttpConfigError::InvalidApiKey));
        assert_eq!(ApiKey::new("a b"), Err(HttpConfigError::InvalidApiKey));
        assert_eq!(
            ApiKey::new("k\r\nX: y"),
            Err(HttpConfigError::InvalidApiKey)
        );
        let key = ApiKey::new("s3cr3t").unwrap();
        assert!(!format!("{key:?}").contains("s3cr3t"));
    }
}
