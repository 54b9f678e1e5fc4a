//! `Secret<T>` keeps passwords and tokens out of logs, errors and panics;
//! `redact_url` shows a connection string with its password removed, and
//! `redact_http_url` and `redact_path` do the same for service URLs whose
//! user name or path is the credential.

use std::fmt;

/// A value that must never be printed. `Debug` and `Display` show `***`;
/// read it with `expose()` only where it is handed to a client library or a
/// child's environment.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }

    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// clap value parser for secret arguments.
pub fn parse_secret(s: &str) -> Result<Secret<String>, std::convert::Infallible> {
    Ok(Secret::new(s.to_owned()))
}

/// The URL with any password replaced by `***`, and any query parameter that
/// looks like a credential removed. Unparseable input is not echoed back,
/// since it may be a secret itself.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return UNPARSEABLE.to_owned();
    };
    if url.password().is_some() {
        // set_password only fails for URLs that cannot have a password.
        let _ = url.set_password(Some("***"));
    }
    redact_query(&mut url);
    url.to_string()
}

/// An HTTP service's URL for messages (the AI gateway): as `redact_url`,
/// and the user name too, which for such services is usually a token
/// (`https://<token>@gateway.example`).
pub fn redact_http_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return UNPARSEABLE.to_owned();
    };
    if !url.username().is_empty() {
        let _ = url.set_username("***");
    }
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    redact_query(&mut url);
    url.to_string()
}

/// A URL whose path is the secret (healthchecks-style ping URLs carry
/// their token there): the scheme and host only.
pub fn redact_path(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(u) => format!("{}://{}/***", u.scheme(), u.host_str().unwrap_or("?")),
        Err(_) => UNPARSEABLE.to_owned(),
    }
}

const UNPARSEABLE: &str = "<unparseable URL>";

fn redact_query(url: &mut url::Url) {
    let sensitive = |k: &str| {
        let k = k.to_ascii_lowercase();
        ["password", "secret", "token", "key", "sig", "auth"]
            .iter()
            .any(|s| k.contains(s))
    };
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if sensitive(&k) {
                    "***".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(kept);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2".to_owned());
        assert_eq!(format!("{s} {s:?}"), "*** ***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn urls_lose_their_password() {
        let r = redact_url("postgres://k12:hunter2@db.example:5432/k12?sslmode=require&password=x");
        assert!(!r.contains("hunter2"), "{r}");
        assert!(!r.contains("password=x"), "{r}");
        assert!(r.contains("k12:***@db.example:5432/k12"), "{r}");
        assert!(r.contains("sslmode=require"), "{r}");
        assert_eq!(redact_url("not a url hunter2"), "<unparseable URL>");
    }

    #[test]
    fn service_urls_lose_user_names_tokens_and_paths() {
        let r = redact_http_url("https://tok3n:pw@gw.example/base?api_key=k3y&region=eu");
        assert!(
            !r.contains("tok3n") && !r.contains("pw@") && !r.contains("k3y"),
            "{r}"
        );
        assert!(
            r.contains("gw.example/base") && r.contains("region=eu"),
            "{r}"
        );
        let p = redact_path("https://hc-ping.com/5f8a7b2c-token");
        assert_eq!(p, "https://hc-ping.com/***");
    }
}
