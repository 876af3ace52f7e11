//! An operation's input read from an HTTP request (path parameters, the query string, a JSON or
//! text body), each problem an `invalid` error naming its field as the other adapters name it.

use super::error::ApiError;
use crate::error::AppError;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

type Result<T> = std::result::Result<T, ApiError>;

/// The path parameters, in the path's order (none when the path has none).
pub async fn path_params(parts: &mut Parts, names: &[&str]) -> Result<Vec<String>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let raw = RawPathParams::from_request_parts(parts, &())
        .await
        .map_err(|e| ApiError(AppError::invalid("path", e.body_text())))?;
    let values: Vec<(String, String)> = raw
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    names
        .iter()
        .map(|name| {
            values
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
                .ok_or_else(|| ApiError(AppError::invalid(*name, "is missing from the path")))
        })
        .collect()
}

/// A path parameter as its type: an id that does not parse is an `invalid` error naming it.
pub fn param<T: std::str::FromStr>(name: &str, value: String) -> Result<T> {
    value.parse().map_err(|_| {
        let field = crate::service::operations::camel_case(name);
        ApiError(AppError::invalid(field, format!("'{value}' is not an id")))
    })
}

/// The query string as the request.
pub fn query<T: DeserializeOwned>(parts: &Parts) -> Result<T> {
    axum::extract::Query::<T>::try_from_uri(&parts.uri)
        .map(|q| q.0)
        .map_err(|e| ApiError(query_error(&e.body_text())))
}

/// The JSON body as the request.
pub async fn json<T: DeserializeOwned>(parts: Parts, body: Body) -> Result<T> {
    let bytes = bytes(parts, body).await?;
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(de)
        .map_err(|e| ApiError(body_error(&e.path().to_string(), &e.inner().to_string())))
}

/// The raw body (text) as the request's `field`, its other fields from the query string.
pub async fn text<T: DeserializeOwned>(parts: Parts, body: Body, field: &str) -> Result<T> {
    let mut fields = serde_json::Map::new();
    for (k, v) in url::form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes()) {
        if k == field {
            return Err(ApiError(AppError::invalid(
                k.to_string(),
                "is the request's body, not a query parameter",
            )));
        }
        fields.insert(k.into_owned(), serde_json::Value::String(v.into_owned()));
    }
    let bytes = bytes(parts, body).await?;
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|_| ApiError(AppError::invalid("body", "is not UTF-8 text")))?;
    fields.insert(field.to_string(), serde_json::Value::String(text));
    serde_path_to_error::deserialize(serde_json::Value::Object(fields))
        .map_err(|e| ApiError(body_error(&e.path().to_string(), &e.inner().to_string())))
}

async fn bytes(parts: Parts, body: Body) -> Result<Bytes> {
    Bytes::from_request(Request::from_parts(parts, body), &())
        .await
        .map_err(body_rejection)
}

/// A body too large is `invalid` (the UI shows the message) with the limit in words.
fn body_rejection(e: axum::extract::rejection::BytesRejection) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError(AppError::invalid(
            "body",
            "larger than the 2 MiB a request may carry",
        ));
    }
    ApiError(AppError::invalid("body", e.body_text()))
}

/// serde's message at its path: "missing field `x`" names `<path>.x`, and the position in the
/// text ("at line 1 column 9") is dropped (the field says where).
fn body_error(path: &str, message: &str) -> AppError {
    let message = match message.rfind(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    let parent = if path == "." || path.is_empty() {
        None
    } else {
        Some(path)
    };
    if let Some(name) = message
        .strip_prefix("missing field `")
        .and_then(|r| r.split_once('`'))
        .map(|(n, _)| n)
    {
        let field = parent.map_or_else(|| name.to_string(), |p| format!("{p}.{name}"));
        return AppError::invalid(field, "is required");
    }
    AppError::invalid(parent.unwrap_or("body"), message)
}

/// A query-string problem as an error naming its parameter: axum says "Failed to deserialize
/// query string: limit: invalid digit..." or "...: missing field `integration`".
fn query_error(text: &str) -> AppError {
    let reason = text
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(text);
    let is_name = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    if let Some((name, why)) = reason.split_once(": ").filter(|(n, _)| is_name(n)) {
        return AppError::invalid(name, why);
    }
    if let Some(name) = reason
        .strip_prefix("missing field `")
        .and_then(|r| r.split_once('`'))
        .map(|(n, _)| n)
        .filter(|n| is_name(n))
    {
        return AppError::invalid(name, "is required");
    }
    AppError::invalid("query", reason)
}

/// Query parameters as an extractor, for the routes that are not operations.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self> {
        query(parts).map(Query)
    }
}
