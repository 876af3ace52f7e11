//! API targets: one reqwest client per integration (rustls, reused across handoffs), bearer /
//! basic / api-key authentication, `Idempotency-Key: <handoff id>` on every try, connect and
//! total timeouts, the response checked against the integration's expectations, and a bounded
//! read of the body.

use super::{
    Delivery, DeliveryDetails, ErrorCategory, HandoffContext, REDACTED, ResolvedIntegration,
    Wording,
};
use crate::ids::{HandoffId, IntegrationId};
use crate::integrations::{
    ApiConfig, AuthKind, HealthCheckRequest, HealthMethod, HttpMethod, SecretSlot,
};
use crate::secrets::Secret;
use crate::secrets::redact::{is_secret_header, redact_query_where, redact_url_credentials};
use crate::templating::{self, RenderContext};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

/// How much of a response body is read (to find the submission id and check expectations).
const MAX_BODY_READ: usize = 1024 * 1024;
/// How much of it is kept with the attempt.
pub const MAX_EXCERPT: usize = 16 * 1024;
/// `Retry-After` is honoured up to this.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The HTTP clients, one per integration, keyed by the settings a client is built with.
#[derive(Default)]
pub struct ApiClients {
    clients: Mutex<HashMap<IntegrationId, (Duration, reqwest::Client)>>,
}

/// rustls needs one process-wide crypto provider; ring is the one the crate builds with.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another part of the process installed one already, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

impl ApiClients {
    fn client(&self, id: IntegrationId, api: &ApiConfig) -> Result<reqwest::Client, String> {
        let connect_timeout = api.connect_timeout();
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((t, c)) = clients.get(&id)
            && *t == connect_timeout
        {
            return Ok(c.clone());
        }
        let client = build_client(connect_timeout, None)?;
        clients.insert(id, (connect_timeout, client.clone()));
        Ok(client)
    }

    /// As [`Self::deliver`], for a configuration test: over a client of its own, so the
    /// connection is new and its opening (DNS, TCP, TLS) is timed.
    #[tracing::instrument(skip_all, fields(integration = %integration.id, handoff_id = %handoff.handoff_id))]
    pub async fn deliver_test(
        &self,
        integration: &ResolvedIntegration,
        handoff: &HandoffContext<'_>,
        data: &Map<String, Value>,
    ) -> Delivery {
        let timer = ConnectTimer::default();
        let mut delivery = self
            .deliver_over(integration, handoff, data, |api| {
                build_client(api.connect_timeout(), Some(timer.clone()))
            })
            .await;
        delivery.details.connect_ms = timer.elapsed_ms();
        delivery
    }

    pub fn forget(&self, id: IntegrationId) {
        self.clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    #[tracing::instrument(skip_all, fields(integration = %integration.id, handoff_id = %handoff.handoff_id))]
    pub async fn deliver(
        &self,
        integration: &ResolvedIntegration,
        handoff: &HandoffContext<'_>,
        data: &Map<String, Value>,
    ) -> Delivery {
        self.deliver_over(integration, handoff, data, |api| {
            self.client(integration.id, api)
        })
        .await
    }

    /// Renders the request and sends it over the client `client` gives.
    async fn deliver_over(
        &self,
        integration: &ResolvedIntegration,
        handoff: &HandoffContext<'_>,
        data: &Map<String, Value>,
        client: impl FnOnce(&ApiConfig) -> Result<reqwest::Client, String>,
    ) -> Delivery {
        let Some(api) = integration.config.api.as_ref() else {
            return Delivery::refused(
                ErrorCategory::Configuration,
                "the integration has no api section",
            );
        };
        let prepared = match prepare(integration, api, handoff, data) {
            Ok(p) => p,
            Err(msg) => return Delivery::refused(ErrorCategory::Configuration, msg),
        };
        let client = match client(api) {
            Ok(c) => c,
            Err(msg) => return Delivery::refused(ErrorCategory::Configuration, msg),
        };
        send(&client, api, prepared).await
    }
}

fn build_client(
    connect_timeout: Duration,
    timer: Option<ConnectTimer>,
) -> Result<reqwest::Client, String> {
    install_crypto_provider();
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        // No redirects: reqwest keeps custom headers (an api key) and the body on a hop to
        // another host. A 3xx is reported as a configuration problem instead.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("handoff-console/", env!("CARGO_PKG_VERSION")));
    if let Some(timer) = timer {
        builder = builder.connector_layer(timer);
    }
    builder
        .build()
        .map_err(|e| format!("cannot build an HTTP client: {e}"))
}

/// Times how long the client's connector takes to open a connection (DNS, TCP and, for https,
/// TLS): a tower layer around reqwest's connector, which exposes no timing of its own.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnectTimer(Arc<Mutex<Option<Duration>>>);

impl ConnectTimer {
    /// The last connection's opening time, if one was opened.
    pub fn elapsed_ms(&self) -> Option<u64> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map(|d| d.as_millis() as u64)
    }
}

impl<S> tower::Layer<S> for ConnectTimer {
    type Service = TimedConnect<S>;
    fn layer(&self, inner: S) -> Self::Service {
        TimedConnect {
            inner,
            timer: self.clone(),
        }
    }
}

/// The connector wrapped by [`ConnectTimer`].
#[derive(Debug, Clone)]
pub(crate) struct TimedConnect<S> {
    inner: S,
    timer: ConnectTimer,
}

impl<S, R> tower::Service<R> for TimedConnect<S>
where
    S: tower::Service<R>,
    S::Future: Send + 'static,
    S::Response: 'static,
    S::Error: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> Self::Future {
        let started = std::time::Instant::now();
        let timer = self.timer.clone();
        let connecting = self.inner.call(request);
        Box::pin(async move {
            let connected = connecting.await;
            if connected.is_ok() {
                *timer.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(started.elapsed());
            }
            connected
        })
    }
}

/// A rendered request: what goes on the wire, and its redacted summary.
pub struct PreparedRequest {
    method: reqwest::Method,
    url: url::Url,
    headers: reqwest::header::HeaderMap,
    body: Option<Vec<u8>>,
    /// What is sent, secrets redacted (a preview and a configuration test show it).
    pub summary: Value,
    /// What an attempt records: the summary with each collected field's mask in its place.
    pub recorded: Value,
    /// The credentials as they go on the wire, to blank out if the target echoes them back.
    sent_secrets: Vec<Secret<String>>,
}

/// Renders the request for one handoff. Failures here are the config's (category
/// `configuration`), found before sending.
///
/// The request an attempt records is rendered by the same code from stand-ins: each collected
/// value is replaced by a word of its own that no encoding changes, so that wherever the
/// template puts a field (the body, inside a longer text, a path segment, a query parameter,
/// the host) its stand-in is found there and replaced by the field's mask. Built-ins stay as
/// they are.
pub fn prepare(
    integration: &ResolvedIntegration,
    api: &ApiConfig,
    handoff: &HandoffContext<'_>,
    data: &Map<String, Value>,
) -> Result<PreparedRequest, String> {
    let mut prepared = render_request(integration, api, handoff, data)?;
    let (stand_ins, masks) = stand_ins(&integration.config.fields, data);
    prepared.recorded = match render_request(integration, api, handoff, &stand_ins) {
        Ok(shown) => unstand(&shown.summary, &masks),
        // Stand-ins are plain words: if they cannot be rendered (a host label made longer than
        // DNS allows), nothing of the request is recorded rather than anything raw.
        Err(_) => Value::Null,
    };
    Ok(prepared)
}

/// Each collected value replaced by a stand-in (letters and digits, so no URL or JSON
/// encoding changes it, in lower case as a host keeps it, with a random part no template
/// holds), and each stand-in with the field's mask. Nulls stay null: they render as nothing.
fn stand_ins(
    fields: &[crate::integrations::FieldSpec],
    data: &Map<String, Value>,
) -> (Map<String, Value>, Vec<(String, Value)>) {
    let nonce = format!("{:016x}", rand::random::<u64>());
    let mut out = Map::new();
    let mut masks = Vec::new();
    for (i, (name, value)) in data.iter().enumerate() {
        if value.is_null() {
            out.insert(name.clone(), Value::Null);
            continue;
        }
        // The closing `x` keeps one stand-in from being the start of another (`…n1x`, `…n12x`).
        let stand_in = format!("hcv{nonce}n{i}x");
        masks.push((
            stand_in.clone(),
            crate::masking::mask_field(fields, name, value),
        ));
        out.insert(name.clone(), Value::String(stand_in));
    }
    (out, masks)
}

/// A summary rendered from stand-ins, with the masks in their place: a string that is one
/// stand-in takes the mask's JSON value (a kept number stays a number, as the field's value
/// would have); stand-ins inside text (a longer string, the URL, a key) take the mask as text.
fn unstand(v: &Value, masks: &[(String, Value)]) -> Value {
    let in_text = |s: &str| {
        let mut out = s.to_string();
        for (stand_in, masked) in masks {
            if out.contains(stand_in.as_str()) {
                out = out.replace(stand_in.as_str(), &crate::masking::masked_text(masked));
            }
        }
        out
    };
    match v {
        Value::String(s) => match masks.iter().find(|(stand_in, _)| stand_in == s) {
            Some((_, masked)) => masked.clone(),
            None => Value::String(in_text(s)),
        },
        Value::Array(items) => Value::Array(items.iter().map(|i| unstand(i, masks)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (in_text(k), unstand(v, masks)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Renders the request from `data` (the collected values, or their stand-ins).
fn render_request(
    integration: &ResolvedIntegration,
    api: &ApiConfig,
    handoff: &HandoffContext<'_>,
    data: &Map<String, Value>,
) -> Result<PreparedRequest, String> {
    use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
    let ctx = RenderContext {
        data,
        timestamp: handoff.timestamp.clone(),
        session_id: handoff.session_id,
        handoff_id: handoff.handoff_id.to_string(),
    };
    let rendered = match &api.payload_structure {
        Some(template) => templating::render(template, &ctx),
        None => Value::Object(data.clone()),
    };
    let rendered_url = templating::render_url(&api.endpoint, &ctx);
    let mut url = url::Url::parse(&rendered_url).map_err(|_| {
        let why = crate::integrations::endpoint_problem(&rendered_url)
            .unwrap_or_else(|| "not a valid URL".into());
        format!("api.endpoint, with this handoff's values filled in: {why}")
    })?;

    let mut headers = HeaderMap::new();
    let mut shown_headers = Map::new();
    // Credential headers' values live in the secrets backend (the config holds the mask).
    let header_secrets: Map<String, Value> = integration
        .secret(SecretSlot::ApiHeaders)
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default();
    let mut sent_secrets: Vec<Secret<String>> = Vec::new();
    for (name, value) in &api.headers {
        let secret = is_secret_header(name);
        let value = match header_secrets.get(name).and_then(Value::as_str) {
            Some(stored) if secret => stored,
            _ if secret && value == crate::integrations::SECRET_MASK => {
                return Err(format!(
                    "api.headers.{name}: no secret is stored for it; set it again"
                ));
            }
            _ => value.as_str(),
        };
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            return Err(format!("api.headers.{name}: not a valid header"));
        };
        let shown = if secret {
            // Very short values would blank out every match of them in what is recorded.
            if value.chars().count() >= 4 {
                sent_secrets.push(Secret::new(value.to_string()));
            }
            headers.insert(n, sensitive(v));
            REDACTED.to_string()
        } else {
            headers.insert(n, v);
            value.to_string()
        };
        shown_headers.insert(name.clone(), Value::String(shown));
    }
    // Query parameters whose values must not be recorded.
    let mut secret_query: Option<String> = None;
    if let Some(auth) = &api.authentication {
        let secret = |slot: SecretSlot| {
            integration.secret(slot).ok_or_else(|| {
                format!(
                    "{}: no secret is stored for it; set it again",
                    slot.config_path()
                )
            })
        };
        match auth.kind {
            AuthKind::Bearer => {
                let token = secret(SecretSlot::ApiToken)?;
                let v = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
                    "api.authentication.credentials.token: not valid in a header".to_string()
                })?;
                headers.insert(AUTHORIZATION, sensitive(v));
                shown_headers.insert(
                    "Authorization".into(),
                    Value::String(format!("Bearer {REDACTED}")),
                );
                sent_secrets.push(Secret::new(token.to_string()));
            }
            AuthKind::Basic => {
                let user = auth
                    .credentials
                    .get("username")
                    .map(String::as_str)
                    .unwrap_or_default();
                let password = secret(SecretSlot::ApiPassword)?;
                let encoded = base64_encode(format!("{user}:{password}").as_bytes());
                let v = HeaderValue::from_str(&format!("Basic {encoded}")).map_err(|_| {
                    "api.authentication.credentials: not valid in a header".to_string()
                })?;
                headers.insert(AUTHORIZATION, sensitive(v));
                shown_headers.insert(
                    "Authorization".into(),
                    Value::String(format!("Basic {REDACTED} (user {user})")),
                );
                sent_secrets.push(Secret::new(password.to_string()));
                sent_secrets.push(Secret::new(encoded));
            }
            AuthKind::ApiKey => {
                let key = secret(SecretSlot::ApiKey)?;
                sent_secrets.push(Secret::new(key.to_string()));
                if let Some(param) = auth.credentials.get("query") {
                    url.query_pairs_mut().append_pair(param, key);
                    secret_query = Some(param.clone());
                    // As it appears in the URL (an echo of the URL shows it encoded).
                    let encoded: String =
                        url::form_urlencoded::byte_serialize(key.as_bytes()).collect();
                    sent_secrets.push(Secret::new(encoded.replace('+', "%20")));
                    sent_secrets.push(Secret::new(encoded));
                } else {
                    let name = auth
                        .credentials
                        .get("header")
                        .map(String::as_str)
                        .unwrap_or("X-API-Key");
                    let n = HeaderName::from_bytes(name.as_bytes()).map_err(|_| -> String {
                        "api.authentication.credentials.header: not a header name".into()
                    })?;
                    let v = HeaderValue::from_str(key).map_err(|_| -> String {
                        "api.authentication.credentials.key: not valid in a header".into()
                    })?;
                    headers.insert(n, sensitive(v));
                    shown_headers.insert(name.to_string(), Value::String(REDACTED.into()));
                }
            }
        }
    }
    let idempotency = HeaderValue::from_str(&handoff.handoff_id.to_string())
        .map_err(|_| "handoff id is not a valid header value".to_string())?;
    headers.insert("idempotency-key", idempotency);
    shown_headers.insert(
        "Idempotency-Key".into(),
        Value::String(handoff.handoff_id.to_string()),
    );

    let body = if api.method.sends_query() {
        if let Value::Object(fields) = &rendered {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in fields {
                match v {
                    Value::Null => {}
                    Value::String(s) => {
                        pairs.append_pair(k, s);
                    }
                    other => {
                        pairs.append_pair(k, &other.to_string());
                    }
                }
            }
        }
        None
    } else {
        if !headers.contains_key(CONTENT_TYPE) {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            shown_headers.insert(
                "Content-Type".into(),
                Value::String("application/json".into()),
            );
        }
        Some(serde_json::to_vec(&rendered).map_err(|e| format!("cannot encode the body: {e}"))?)
    };

    let mut shown_url = url.clone();
    if let Some(param) = &secret_query {
        redact_query(&mut shown_url, param);
    }
    redact_url_credentials(&mut shown_url);
    let summary = serde_json::json!({
        "method": api.method.as_str(),
        "url": shown_url.as_str(),
        "headers": shown_headers,
        "body": if body.is_some() { rendered } else { Value::Null },
    });
    let method = match api.method {
        HttpMethod::Get => reqwest::Method::GET,
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Delete => reqwest::Method::DELETE,
    };
    Ok(PreparedRequest {
        method,
        url,
        headers,
        body,
        summary,
        recorded: Value::Null,
        sent_secrets,
    })
}

fn sensitive(mut v: reqwest::header::HeaderValue) -> reqwest::header::HeaderValue {
    v.set_sensitive(true);
    v
}

fn redact_query(url: &mut url::Url, param: &str) {
    redact_query_where(url, |name| name == param);
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The category of a finished HTTP exchange's status, `None` when it is a success.
pub fn classify_status(status: u16) -> Option<ErrorCategory> {
    match status {
        200..=299 => None,
        401 | 403 | 407 => Some(ErrorCategory::Authentication),
        408 => Some(ErrorCategory::Timeout),
        429 => Some(ErrorCategory::Server),
        400 | 409 | 412 | 413 | 415 | 422 => Some(ErrorCategory::Validation),
        500..=599 => Some(ErrorCategory::Server),
        // 3xx left after redirects, 404, 405, 410 and other 4xx: the config points at the
        // wrong place or uses the wrong method.
        _ => Some(ErrorCategory::Configuration),
    }
}

fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    let d = if let Ok(secs) = v.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(d.min(MAX_RETRY_AFTER))
}

/// The message of a transport error without its URL (which may carry an api key), with the
/// underlying cause (e.g. "Connection refused").
pub(crate) fn transport_message(e: &reqwest::Error, shown_url: &str) -> String {
    transport_wording(e, shown_url).text
}

/// As [`transport_message`], with the cause (the transport's own words) quoted: `shown_url` is
/// the console's (a delivery gives the URL as recorded, with the masks in it).
fn transport_wording(e: &reqwest::Error, shown_url: &str) -> Wording {
    use std::error::Error as _;
    let mut causes = Vec::new();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !causes.contains(&text) {
            causes.push(text);
        }
        source = s.source();
    }
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let wording = Wording::new(format!("{what} ({shown_url})"));
    match causes.last() {
        Some(cause) => wording.own(": ").quote(cause),
        None => wording,
    }
}

/// `text` with every secret in `secrets` replaced by [`REDACTED`].
fn redact_echoes(text: &str, secrets: &[Secret<String>]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        let s = s.expose();
        if !s.is_empty() && out.contains(s.as_str()) {
            out = out.replace(s.as_str(), REDACTED);
        }
    }
    out
}

/// Sends the request and classifies the outcome. A target may echo a credential back (an error
/// message quoting the token, an echo service returning the headers); it is blanked out of the
/// message and the response excerpt that are recorded.
async fn send(client: &reqwest::Client, api: &ApiConfig, mut req: PreparedRequest) -> Delivery {
    let secrets = std::mem::take(&mut req.sent_secrets);
    let mut delivery = exchange(client, api, req, &secrets).await;
    // Only the target's words can hold an echo: the console's name no secret.
    let wording = delivery
        .wording()
        .map_quoted(|q| redact_echoes(q, &secrets));
    delivery.say(wording);
    delivery
}

async fn exchange(
    client: &reqwest::Client,
    api: &ApiConfig,
    req: PreparedRequest,
    secrets: &[Secret<String>],
) -> Delivery {
    // Messages name the URL as recorded (with the masks), never with the collected values.
    let shown_url = req.recorded["url"].as_str().unwrap_or_default().to_string();
    let mut builder = client
        .request(req.method, req.url)
        .headers(req.headers)
        .timeout(api.timeout());
    if let Some(body) = req.body {
        builder = builder.body(body);
    }
    let mut delivery = Delivery {
        failure: None,
        status_code: None,
        message: String::new(),
        quoted: Vec::new(),
        submission_id: None,
        request: req.summary,
        recorded_request: req.recorded,
        converted: Vec::new(),
        response_excerpt: None,
        retry_after: None,
        details: DeliveryDetails::default(),
    };
    let started = std::time::Instant::now();
    let mut resp = match builder.send().await {
        Ok(r) => r,
        Err(e) => {
            let e = e.without_url();
            delivery.failure = Some(if e.is_timeout() {
                ErrorCategory::Timeout
            } else if e.is_builder() {
                ErrorCategory::Configuration
            } else {
                ErrorCategory::Network
            });
            delivery.say(transport_wording(&e, &shown_url));
            return delivery;
        }
    };
    // `send` returns once the status line and headers are in: the time to first byte.
    delivery.details.first_byte_ms = Some(started.elapsed().as_millis() as u64);
    delivery.details.headers = Some(shown_headers(resp.headers(), secrets));
    let status = resp.status().as_u16();
    delivery.status_code = Some(status);
    delivery.retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);

    let mut body = Vec::new();
    let mut truncated = false;
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_BODY_READ - body.len();
                if chunk.len() > room {
                    body.extend_from_slice(&chunk[..room]);
                    truncated = true;
                    break;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) => {
                let e = e.without_url();
                delivery.failure = Some(if e.is_timeout() {
                    ErrorCategory::Timeout
                } else {
                    ErrorCategory::Network
                });
                delivery.say(
                    Wording::new(format!("status {status}, then reading the body "))
                        .then(transport_wording(&e, &shown_url)),
                );
                return delivery;
            }
        }
    }
    // Redacted before it is cut, so that no part of a secret survives at the cut.
    let shown = redact_echoes(&String::from_utf8_lossy(&body), secrets);
    let cut = shown.floor_char_boundary(MAX_EXCERPT);
    let mut excerpt = shown[..cut].to_string();
    if truncated || cut < shown.len() {
        excerpt.push_str("…[truncated]");
    }
    delivery.response_excerpt = (!body.is_empty()).then_some(excerpt);
    let json: Option<Value> = if truncated {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };

    let expect = api.expect.clone().unwrap_or_default();
    let required_pointer = expect.require_pointer.as_deref().filter(|p| !p.is_empty());
    delivery.details.body_is_json = json.is_some();
    delivery.details.body_truncated = truncated;
    delivery.details.has_required_pointer =
        required_pointer.map(|ptr| json.as_ref().and_then(|j| j.pointer(ptr)).is_some());
    let status_ok = if expect.status.is_empty() {
        (200..300).contains(&status)
    } else {
        expect.status.contains(&status)
    };
    if !status_ok {
        let category = classify_status(status).unwrap_or(ErrorCategory::Configuration);
        let reason = reason_text(status);
        delivery.failure = Some(category);
        let wording = if classify_status(status).is_none() {
            Wording::new(format!(
                "status {status} is not one of the expected {:?}",
                expect.status
            ))
        } else {
            let said = Wording::new(format!("{status} {reason}"));
            match server_message(json.as_ref()) {
                Some(m) => said.own(": ").quote(&m),
                None => said,
            }
        };
        delivery.say(wording);
        return delivery;
    }
    if let Some(ptr) = required_pointer
        && delivery.details.has_required_pointer == Some(false)
    {
        delivery.failure = Some(ErrorCategory::Configuration);
        delivery.say(Wording::new(if truncated {
            format!(
                "status {status}, but the response is larger than {} KiB, so {ptr} was not \
                 looked for (api.expect.requirePointer)",
                MAX_BODY_READ / 1024
            )
        } else {
            format!("status {status}, but the response has no {ptr} (api.expect.requirePointer)")
        }));
        return delivery;
    }
    delivery.submission_id = json
        .as_ref()
        .and_then(|j| submission_id(j, expect.submission_id_pointer.as_deref()));
    let said = Wording::new(format!("{status} {}", reason_text(status)));
    let wording = match &delivery.submission_id {
        Some(id) => said.own(": submission ").quote(id),
        None => said,
    };
    delivery.say(wording);
    delivery
}

/// Response headers as a configuration test shows them: credential-looking ones (e.g.
/// `Set-Cookie`) redacted, and any credential the target echoes blanked out.
fn shown_headers(
    headers: &reqwest::header::HeaderMap,
    secrets: &[Secret<String>],
) -> Map<String, Value> {
    let mut shown = Map::new();
    for (name, value) in headers {
        let text = if is_secret_header(name.as_str()) {
            REDACTED.to_string()
        } else {
            redact_echoes(&String::from_utf8_lossy(value.as_bytes()), secrets)
        };
        match shown.get_mut(name.as_str()) {
            Some(Value::String(earlier)) => {
                earlier.push_str(", ");
                earlier.push_str(&text);
            }
            _ => {
                shown.insert(name.as_str().to_string(), Value::String(text));
            }
        }
    }
    shown
}

fn reason_text(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("")
}

/// A short error message the target put in its body, if any (`message`, `error`, `detail`).
fn server_message(json: Option<&Value>) -> Option<String> {
    let j = json?;
    ["/message", "/error/message", "/error", "/detail", "/title"]
        .iter()
        .find_map(|p| j.pointer(p).and_then(Value::as_str))
        .map(|s| s.chars().take(300).collect())
}

fn submission_id(json: &Value, pointer: Option<&str>) -> Option<String> {
    let as_id = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.chars().take(200).collect()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    match pointer.filter(|p| !p.is_empty()) {
        Some(p) => json.pointer(p).and_then(as_id),
        None => json
            .pointer("/id")
            .and_then(as_id)
            .or_else(|| json.pointer("/submissionId").and_then(as_id)),
    }
}

/// The health check's request (`api.healthCheck`): its method and path on the endpoint's host,
/// with the integration's headers and credentials, and nothing of a delivery: no body, no
/// collected data, no idempotency key. Health checks never deliver.
pub fn health_request(
    client: &reqwest::Client,
    integration: &ResolvedIntegration,
    api: &ApiConfig,
    check: &HealthCheckRequest,
) -> Result<reqwest::RequestBuilder, String> {
    // The credentials go on exactly as a delivery puts them; the rest of it is dropped.
    let handoff = HandoffContext {
        handoff_id: HandoffId::new(),
        session_id: "health-check",
        timestamp: chrono::Utc::now().to_rfc3339(),
    };
    let prepared = prepare(integration, api, &handoff, &Map::new())?;
    let mut headers = prepared.headers;
    headers.remove("idempotency-key");
    headers.remove(reqwest::header::CONTENT_TYPE);
    let key_param = api
        .authentication
        .as_ref()
        .filter(|a| a.kind == AuthKind::ApiKey)
        .and_then(|a| a.credentials.get("query"));
    let mut url = prepared.url;
    let key: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| key_param.is_some_and(|p| p == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let (path, query) = check.path.split_once('?').unwrap_or((&check.path, ""));
    url.set_path(path);
    url.set_query((!query.is_empty()).then_some(query));
    if !key.is_empty() {
        url.query_pairs_mut().extend_pairs(key);
    }
    let method = match check.method {
        HealthMethod::Get => reqwest::Method::GET,
        HealthMethod::Head => reqwest::Method::HEAD,
        HealthMethod::Options => reqwest::Method::OPTIONS,
        HealthMethod::Post => reqwest::Method::POST,
    };
    Ok(client.request(method, url).headers(headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(base64_encode(b""), "");
        assert_eq!(base64_encode(b"f"), "Zg==");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
        assert_eq!(base64_encode(b"foo"), "Zm9v");
        assert_eq!(base64_encode(b"user:pa ss"), "dXNlcjpwYSBzcw==");
    }

    #[test]
    fn statuses_map_to_categories() {
        assert_eq!(classify_status(201), None);
        assert_eq!(classify_status(401), Some(ErrorCategory::Authentication));
        assert_eq!(classify_status(403), Some(ErrorCategory::Authentication));
        assert_eq!(classify_status(404), Some(ErrorCategory::Configuration));
        assert_eq!(classify_status(400), Some(ErrorCategory::Validation));
        assert_eq!(classify_status(422), Some(ErrorCategory::Validation));
        assert_eq!(classify_status(429), Some(ErrorCategory::Server));
        assert_eq!(classify_status(503), Some(ErrorCategory::Server));
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        let later = chrono::Utc::now() + chrono::Duration::seconds(120);
        let d = parse_retry_after(&later.to_rfc2822()).unwrap();
        assert!(
            d > Duration::from_secs(100) && d <= Duration::from_secs(120),
            "{d:?}"
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn submission_id_defaults_to_id_then_submission_id() {
        let j = serde_json::json!({"submissionId": "s-9", "data": {"ref": 5}});
        assert_eq!(submission_id(&j, None).as_deref(), Some("s-9"));
        assert_eq!(submission_id(&j, Some("/data/ref")).as_deref(), Some("5"));
        assert_eq!(
            submission_id(&serde_json::json!({"id": 12}), None).as_deref(),
            Some("12")
        );
    }

    #[test]
    fn credential_headers_are_recognised() {
        for name in [
            "Authorization",
            "X-Api-Key",
            "X-Auth-Token",
            "Cookie",
            "X-Client-Secret",
        ] {
            assert!(is_secret_header(name), "{name}");
        }
        for name in [
            "X-Access-Token",
            "api_key",
            "accessToken",
            "X-Client-Credential",
            "X-Signature",
        ] {
            assert!(is_secret_header(name), "{name}");
        }
        for name in [
            "Content-Type",
            "X-API-Version",
            "Accept",
            "X-Author",
            "X-Monkey-Count",
        ] {
            assert!(!is_secret_header(name), "{name}");
        }
    }

    /// A connector that takes 30 ms, then fails or succeeds as told.
    #[derive(Clone)]
    struct SlowConnector(bool);

    impl tower::Service<&'static str> for SlowConnector {
        type Response = ();
        type Error = ();
        type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), ()>> + Send>>;
        fn poll_ready(
            &mut self,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Result<(), ()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn call(&mut self, _: &'static str) -> Self::Future {
            let ok = self.0;
            Box::pin(async move {
                tokio::time::sleep(Duration::from_millis(30)).await;
                if ok { Ok(()) } else { Err(()) }
            })
        }
    }

    #[tokio::test]
    async fn the_connect_timer_measures_successful_connections_only() {
        use tower::{Layer, Service};
        let timer = ConnectTimer::default();
        assert_eq!(timer.elapsed_ms(), None);
        let mut failing = timer.layer(SlowConnector(false));
        assert!(failing.call("h").await.is_err());
        assert_eq!(
            timer.elapsed_ms(),
            None,
            "a failed connect is not a connect time"
        );
        let mut connecting = timer.layer(SlowConnector(true));
        connecting.call("h").await.unwrap();
        let ms = timer.elapsed_ms().unwrap();
        assert!((30..1000).contains(&ms), "{ms}");
    }

    fn masked_integration(api: Value) -> ResolvedIntegration {
        let config: crate::integrations::IntegrationConfig = serde_json::from_value(serde_json::json!({
            "name": "t", "kind": "api", "api": api,
            "fields": [{"name": "clinic", "type": "text"}, {"name": "last", "type": "last_name"},
                       {"name": "first", "type": "first_name"}, {"name": "age", "type": "integer"},
                       {"name": "ok", "type": "boolean"}, {"name": "addr", "type": "address"}]
        }))
        .unwrap();
        ResolvedIntegration {
            id: IntegrationId::new(),
            config,
            secrets: Default::default(),
        }
    }

    fn masked_data() -> Map<String, Value> {
        serde_json::json!({"clinic": "north", "last": "Li", "first": "Ann", "age": 42, "ok": true,
                           "addr": {"street": "1 Elm"}})
        .as_object()
        .unwrap()
        .clone()
    }

    fn handoff() -> HandoffContext<'static> {
        HandoffContext {
            handoff_id: HandoffId::new(),
            session_id: "s-1",
            timestamp: "2026-01-02T03:04:05Z".into(),
        }
    }

    #[test]
    fn the_recorded_request_has_each_fields_mask_where_the_field_went() {
        use serde_json::json;
        let i = masked_integration(json!({
            "endpoint": "https://{{clinic}}.example.org/p/{{last}}?q={{age}}", "method": "POST",
            "payloadStructure": {"{{last}}": {"age": "{{age}}", "ok": "{{ok}}", "addr": "{{addr}}",
                                 "note": "{{first}} {{last}} for {{sessionId}}", "none": "{{missing}}"}}
        }));
        let api = i.config.api.clone().unwrap();
        let p = prepare(&i, &api, &handoff(), &masked_data()).unwrap();
        // Sent (and previewed) as collected.
        assert_eq!(
            p.summary["url"],
            json!("https://north.example.org/p/Li?q=42")
        );
        assert_eq!(
            p.summary["body"],
            json!({"Li": {"age": 42, "ok": true, "addr": {"street": "1 Elm"},
                          "note": "Ann Li for s-1", "none": null}})
        );
        // Recorded with the masks, wherever the template put the fields; kept types keep their
        // JSON type, built-ins stay.
        assert_eq!(
            p.recorded["url"],
            json!("https://***.example.org/p/L***?q=42")
        );
        assert_eq!(
            p.recorded["body"],
            json!({"L***": {"age": 42, "ok": true, "addr": "***",
                            "note": "A*** L*** for s-1", "none": null}})
        );
        assert_eq!(p.recorded["headers"], p.summary["headers"]);
        assert!(!p.recorded.to_string().contains("hcv"), "{}", p.recorded);
    }

    #[test]
    fn a_get_records_its_query_with_the_masks() {
        use serde_json::json;
        let i = masked_integration(json!({"endpoint": "https://h.example/p?x=1", "method": "GET"}));
        let api = i.config.api.clone().unwrap();
        let p = prepare(&i, &api, &handoff(), &masked_data()).unwrap();
        assert_eq!(
            p.recorded["url"],
            json!(
                "https://h.example/p?x=1&clinic=***&last=L***&first=A***&age=42&ok=true&addr=***"
            )
        );
        assert_eq!(p.recorded["body"], Value::Null);
        assert!(
            p.summary["url"]
                .as_str()
                .unwrap()
                .contains("last=Li&first=Ann")
        );
    }

    #[test]
    fn api_key_query_values_are_redacted() {
        let mut u = url::Url::parse("http://h/p?a=1&api_key=s3cret").unwrap();
        redact_query(&mut u, "api_key");
        assert!(!u.as_str().contains("s3cret"));
        assert!(u.as_str().contains("a=1"));
    }
}
