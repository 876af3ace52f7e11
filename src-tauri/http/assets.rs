//! The embedded web UI: its files by path, `index.html` for the UI's own routes (`/stats`,
//! `/health`...), and the security headers every response carries.

use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

include!(concat!(env!("OUT_DIR"), "/ui_assets.rs"));

/// Scripts and styles only from the console itself, no framing, no plugins; `connect-src`
/// 'self' is the API.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; \
    connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

fn find(path: &str) -> Option<(&'static str, &'static [u8])> {
    UI_ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, ct, bytes)| (*ct, *bytes))
}

pub async fn serve_ui(method: Method, uri: Uri) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let path = uri.path().trim_start_matches('/');
    if path.starts_with("api/") {
        return super::ApiError(crate::error::AppError::not_found(
            "API resource",
            uri.path(),
        ))
        .into_response();
    }
    let (path, found) = match find(path) {
        Some(found) => (path, found),
        // A missing bundle file is a 404 (a stale tab must not get HTML for a script).
        None if path.starts_with("assets/") => return StatusCode::NOT_FOUND.into_response(),
        // Everything else is one of the UI's own routes (`/tests/Clinic.v2`): the app.
        None => (
            "index.html",
            find("index.html").unwrap_or(("text/plain", b"")),
        ),
    };
    let (content_type, bytes) = found;
    // Vite names bundled files by content hash, so they never change; index.html does.
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response()
}

pub async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if api {
        // Answers carry patient data (masked, or revealed): never kept by a browser cache.
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    for (name, value) in [
        ("content-security-policy", CONTENT_SECURITY_POLICY),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
