//! `/api/v1`: the resources mirror the CLI (integrations, attempts, handoffs, stats, health,
//! tests, retries, exports), plus jobs (progress of long work) and the demo workspace.

use super::error::{ApiError, unauthorized};
use super::{ApiState, token};
use crate::error::AppError;
use crate::ids::{AttemptId, HandoffId};
use crate::integrations::{self, SecretSlot};
use crate::service::requests::{
    HandoffsQuery, HealthRunRequest, HistoryQuery, IntegrationsQuery, RetryRequest, SendRequest,
    StatsQuery, TestRunRequest,
};
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, ApiError>;

pub fn api(state: ApiState) -> Router {
    let v1 = Router::new()
        .route("/info", get(info))
        .route(
            "/integrations",
            get(list_integrations).post(add_integration),
        )
        .route("/integrations/check", post(check_integration))
        .route(
            "/integrations/{id}",
            get(show_integration)
                .put(update_integration)
                .delete(remove_integration),
        )
        .route("/integrations/{id}/secrets/{name}", put(set_secret))
        .route("/attempts", get(history))
        .route("/attempts/{id}", get(show_attempt))
        .route("/handoffs", get(handoffs).post(send))
        .route("/handoffs/{id}/reveal", post(reveal))
        .route("/stats", get(stats))
        .route("/health", get(last_health).post(run_health))
        .route("/tests", post(run_test))
        .route("/retries", post(retry))
        .route("/jobs/{id}", get(job))
        .route("/demo", post(create_demo))
        .merge(super::testing::routes())
        .merge(super::health::routes())
        .merge(super::integrations::routes())
        .merge(super::history_files::routes(&state))
        .merge(super::history::routes())
        .merge(super::exports::routes())
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_token,
        ))
        .with_state(state);
    Router::new().nest("/api/v1", v1)
}

async fn require_token(
    State(state): State<ApiState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    let given = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(t) if token::matches(&state.token, t.trim()) => next.run(request).await,
        _ => unauthorized(),
    }
}

/// A JSON body whose problems are `invalid` errors naming the field (`config.api.endpoint`; a
/// missing field is named itself, not its parent).
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de)
            .map(Body)
            .map_err(|e| ApiError(body_error(&e.path().to_string(), &e.inner().to_string())))
    }
}

/// A text body (a config file's text), with the same error shape as every other error.
pub struct Text(pub String);

impl<S: Send + Sync> FromRequest<S> for Text {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        String::from_utf8(bytes.to_vec())
            .map(Text)
            .map_err(|_| ApiError(AppError::invalid("body", "is not UTF-8 text")))
    }
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

/// Query parameters whose problems are `invalid` errors.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|e| ApiError(query_error(&e.body_text())))
    }
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

fn parse_id<T: std::str::FromStr>(what: &str, s: &str) -> Result<T> {
    s.parse()
        .map_err(|_| ApiError(AppError::invalid(what, format!("'{s}' is not an id"))))
}

async fn info(State(s): State<ApiState>) -> Json<Value> {
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "dataDir": s.app.data_dir(),
        "readOnly": false,
    }))
}

async fn list_integrations(
    State(s): State<ApiState>,
    Query(q): Query<IntegrationsQuery>,
) -> Result<impl IntoResponse> {
    Ok(Json(s.app.integrations_query(&q).await?))
}

/// A config: an envelope, or a bare seed APIConfig/DatabaseConfig (named by `?name=`), as read
/// with its problems (the service reports them together with validation's).
async fn config_from(body: String, name: Option<String>) -> Result<integrations::ConfigDraft> {
    Ok(crate::service::read_config_text(body, name, "body").await?)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NameQuery {
    name: Option<String>,
}

async fn add_integration(
    State(s): State<ApiState>,
    Query(q): Query<NameQuery>,
    Text(body): Text,
) -> Result<impl IntoResponse> {
    let config = config_from(body, q.name).await?;
    let saved = s.app.add_integration_from(config).await?;
    Ok((axum::http::StatusCode::CREATED, Json(saved)))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckQuery {
    /// The integration being edited (its stored secrets and its own name are allowed).
    id: Option<String>,
    name: Option<String>,
}

/// Checks a config as a save would, saving nothing (the editor's "every problem at once").
async fn check_integration(
    State(s): State<ApiState>,
    Query(q): Query<CheckQuery>,
    Text(body): Text,
) -> Result<impl IntoResponse> {
    // A bare seed config checked for an integration being edited takes its name, as its
    // update would.
    let name = match (q.name, &q.id) {
        (Some(n), _) => Some(n),
        (None, Some(id)) => Some(s.app.integration(id).await?.name),
        (None, None) => None,
    };
    let config = config_from(body, name).await?;
    Ok(Json(
        s.app
            .check_integration_from(q.id.as_deref(), config)
            .await?,
    ))
}

async fn show_integration(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse> {
    Ok(Json(s.app.integration(&id).await?))
}

async fn update_integration(
    State(s): State<ApiState>,
    Path(id): Path<String>,
    Text(body): Text,
) -> Result<impl IntoResponse> {
    let current = s.app.integration(&id).await?;
    let config = config_from(body, Some(current.name)).await?;
    Ok(Json(s.app.update_integration_from(&id, config).await?))
}

async fn remove_integration(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse> {
    Ok(Json(s.app.remove_integration(&id).await?))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretValue {
    value: String,
}

async fn set_secret(
    State(s): State<ApiState>,
    Path((id, name)): Path<(String, String)>,
    Body(body): Body<SecretValue>,
) -> Result<impl IntoResponse> {
    let slot = SecretSlot::named(&name, "name")?;
    s.app.set_integration_secret(&id, slot, body.value).await?;
    Ok(Json(json!({"ok": true})))
}

async fn history(
    State(s): State<ApiState>,
    Query(q): Query<HistoryQuery>,
) -> Result<impl IntoResponse> {
    Ok(Json(s.app.history_query(&q).await?))
}

async fn show_attempt(
    State(s): State<ApiState>,
    Path(id): Path<String>,
) -> Result<impl IntoResponse> {
    let id: AttemptId = parse_id("id", &id)?;
    // `{attempt, retryChain, maskedData}` (see `AttemptView`).
    Ok(Json(s.app.attempt_view(id).await?))
}

async fn handoffs(
    State(s): State<ApiState>,
    Query(q): Query<HandoffsQuery>,
) -> Result<impl IntoResponse> {
    Ok(Json(s.app.handoffs_query(&q).await?))
}

async fn send(State(s): State<ApiState>, Body(r): Body<SendRequest>) -> Result<impl IntoResponse> {
    Ok(Json(s.app.send_request(r).await?))
}

async fn reveal(State(s): State<ApiState>, Path(id): Path<String>) -> Result<impl IntoResponse> {
    let id: HandoffId = parse_id("id", &id)?;
    let data = s.app.reveal(id).await?;
    Ok(Json(json!({ "handoffId": id, "data": data })))
}

async fn stats(
    State(s): State<ApiState>,
    Query(q): Query<StatsQuery>,
) -> Result<impl IntoResponse> {
    Ok(Json(s.app.stats_query(&q).await?))
}

async fn last_health(State(s): State<ApiState>) -> Result<impl IntoResponse> {
    Ok(Json(s.app.last_health().await?))
}

async fn run_health(
    State(s): State<ApiState>,
    Body(r): Body<HealthRunRequest>,
) -> Result<impl IntoResponse> {
    Ok(Json(s.app.start_health(&s.jobs, r)?))
}

async fn run_test(
    State(s): State<ApiState>,
    Body(r): Body<TestRunRequest>,
) -> Result<impl IntoResponse> {
    Ok(Json(s.app.test_request(r).await?))
}

async fn retry(
    State(s): State<ApiState>,
    Body(r): Body<RetryRequest>,
) -> Result<impl IntoResponse> {
    Ok(Json(s.app.retry_request(&s.jobs, r).await?))
}

async fn job(State(s): State<ApiState>, Path(id): Path<String>) -> Result<impl IntoResponse> {
    Ok(Json(s.jobs.status(parse_id("id", &id)?)?))
}

async fn create_demo(State(s): State<ApiState>) -> Result<impl IntoResponse> {
    Ok(Json(s.app.create_demo().await?))
}
