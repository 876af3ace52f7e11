//! What the console never shows or records of a secret: the mask that replaces it, which
//! headers and query parameters carry credentials, a URL without its credentials.

/// What a redacted secret looks like in recorded requests.
pub const REDACTED: &str = "[redacted]";

/// Custom headers that carry credentials are not recorded: the usual auth headers, and any
/// whose name says token, secret, key, password, auth, cookie or session. (The audit trail's
/// redaction builds on it.)
pub fn is_secret_header(name: &str) -> bool {
    // Judged word by word (split at - _ . and spaces), so `X-Author` or `X-Api-Version` are
    // not taken for credentials while `X-Auth-Token`, `api_key` or `accessToken` are.
    const WORDS: [&str; 18] = [
        "authorization",
        "auth",
        "token",
        "secret",
        "password",
        "passwd",
        "pwd",
        "key",
        "apikey",
        "cookie",
        "credential",
        "credentials",
        "signature",
        "sig",
        "session",
        "sessionid",
        "jwt",
        "bearer",
    ];
    const ENDINGS: [&str; 4] = ["token", "secret", "password", "apikey"];
    name.to_ascii_lowercase()
        .split(['-', '_', '.', ' '])
        .filter(|w| !w.is_empty())
        .any(|w| WORDS.contains(&w) || ENDINGS.iter().any(|e| w.ends_with(e)))
}

/// A URL as the console shows and records it: no user info, and the values of query
/// parameters whose names look like credentials (`api_key`, `token`, `secret`…) hidden, for a
/// key written into the endpoint itself.
pub fn redact_url_credentials(url: &mut url::Url) {
    if !url.username().is_empty() || url.password().is_some() {
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    redact_query_where(url, is_secret_header);
}

pub fn redact_query_where(url: &mut url::Url, secret: impl Fn(&str) -> bool) {
    if url.query().is_none() {
        return;
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if secret(&k) {
                REDACTED.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
}
