//! The intake listener's routes, declared once: `intake::router` serves each entry of
//! [`ROUTES`], and `GET /intake/v1/openapi.json` describes each from the same entry (its
//! method, path, body and answers), with how a sender signs (one security scheme per
//! verification mode).
//!
//! A new route is one entry here: its method and path (axum's `{param}` syntax, which is
//! OpenAPI's), the `IntakeEndpoint` `App::accept_intake` takes it as, its summary and
//! description, its body's schema (a type deriving `schemars::JsonSchema`, or any JSON), and the
//! refusals it can answer. tests/openapi.rs checks every entry is served and described, and
//! provokes the refusals to check the document says what the listener answers.

use super::openapi::{OPENAPI_VERSION, Schemas, error_body, plain_error_body};
use crate::intake::inbox::IntakeEndpoint;
use crate::intake::sources::MAX_SOURCE_NAME_LEN;
use crate::intake::verify::{IDEMPOTENCY_KEY, Verification, WEBHOOK_ID, WEBHOOK_TIMESTAMP};
use crate::intake::{MAX_INTAKE_BODY, verify};
use crate::service::{
    HandoffBody, IntakeAccepted, SeedDatabaseBody, SeedPushBody, SeedTestAnswer, SeedTestBody,
};
use axum::http::Method;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

/// Where the listener answers its own document (no credentials: it says how to sign, and
/// nothing about any source).
pub const OPENAPI_PATH: &str = "/intake/v1/openapi.json";

/// One route of the intake listener.
pub struct IntakeRoute {
    pub method: Method,
    /// With `{source}` (the source's name) and any other `{param}`.
    pub path: &'static str,
    /// What the route does with a message.
    pub action: Action,
    /// The document's `operationId`.
    pub name: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    pub body: Body,
    /// What it answers besides 202 (`IntakeAccepted`), as `intake::refusal` answers it.
    pub refusals: &'static [Refusal],
}

/// What a route does with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `App::accept_intake` takes it as this endpoint's message: 202 `IntakeAccepted`.
    Accept(IntakeEndpoint),
    /// `App::test_database_intake` (the seed's database test): 200 `SeedTestAnswer`, nothing
    /// kept.
    TestDatabase,
}

/// A route's body as the document describes it.
pub enum Body {
    /// Any JSON, as the sender sends it.
    AnyJson,
    /// A type the route reads (`Schemas::request::<T>`).
    Schema(fn(&mut Schemas) -> Value),
}

/// A refusal the listener answers (`intake::refusal` decides it; tests/openapi.rs checks the
/// two agree).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such source, or the message does not verify (nothing more is said).
    Unauthorized,
    /// The source is disabled, or names an integration it may not.
    Forbidden,
    /// The body is over `MAX_INTAKE_BODY`.
    TooLarge,
    /// The body is not what the route reads.
    Invalid,
    /// Over the source's rate (`Retry-After`).
    RateLimited,
    /// The store or the secrets backend cannot be used now (`Retry-After`).
    Unavailable,
}

use Refusal::*;

pub const ROUTES: &[IntakeRoute] = &[
    IntakeRoute {
        method: Method::POST,
        path: "/intake/v1/{source}",
        action: Action::Accept(IntakeEndpoint::Webhook),
        name: "webhook",
        summary: "A webhook or push from a source.",
        description: "Any JSON, as the sender sends it; committed to the inbox before the \
            answer, then mapped by the source's mappings.",
        body: Body::AnyJson,
        refusals: &[Unauthorized, Forbidden, TooLarge, RateLimited, Unavailable],
    },
    IntakeRoute {
        method: Method::POST,
        path: "/intake/v1/{source}/handoffs",
        action: Action::Accept(IntakeEndpoint::Handoff),
        name: "handoff",
        summary: "A voice platform's collected data, naming its integration.",
        description: "Committed to the inbox with the handoff it becomes before the answer; \
            the handoff is then delivered with the usual retries.",
        body: Body::Schema(Schemas::request::<HandoffBody>),
        refusals: &[
            Unauthorized,
            Forbidden,
            TooLarge,
            Invalid,
            RateLimited,
            Unavailable,
        ],
    },
    IntakeRoute {
        method: Method::POST,
        path: "/intake/v1/{source}/api/data-handoff/database",
        action: Action::Accept(IntakeEndpoint::Database),
        name: "seedDatabaseHandoff",
        summary: "The seed's database handoff, on a source.",
        description: "The seed's `{dbConfig, data}`: `dbConfig` (type, hostname, port, database, \
            table) names one of the database integrations the source may name; its username \
            and password are ignored, never used. Committed to the inbox, then delivered.",
        body: Body::Schema(Schemas::request::<SeedDatabaseBody>),
        refusals: &[
            Unauthorized,
            Forbidden,
            TooLarge,
            Invalid,
            RateLimited,
            Unavailable,
        ],
    },
    IntakeRoute {
        method: Method::POST,
        path: "/intake/v1/{source}/api/data-handoff/test-database",
        action: Action::TestDatabase,
        name: "seedTestDatabase",
        summary: "The seed's database test, on a source.",
        description: "The seed's `{dbConfig, testOnly}`: the database integration `dbConfig` \
            names (one the source may name) is checked as the health check checks it (login, \
            table, columns, privilege, an insert rolled back); nothing is written or kept.",
        body: Body::Schema(Schemas::request::<SeedTestBody>),
        refusals: &[
            Unauthorized,
            Forbidden,
            TooLarge,
            Invalid,
            RateLimited,
            Unavailable,
        ],
    },
    IntakeRoute {
        method: Method::POST,
        path: "/intake/v1/{source}/api/integrations/push",
        action: Action::Accept(IntakeEndpoint::Push),
        name: "seedPush",
        summary: "The seed's push, on a source.",
        description: "The seed's `{system, mapping, data}`: `system` is the source's name, \
            `mapping` one of its mappings, which maps `data` whatever its event. Committed to \
            the inbox, then mapped and delivered.",
        body: Body::Schema(Schemas::request::<SeedPushBody>),
        refusals: &[
            Unauthorized,
            Forbidden,
            TooLarge,
            Invalid,
            RateLimited,
            Unavailable,
        ],
    },
];

impl Refusal {
    pub fn status(self) -> u16 {
        match self {
            Unauthorized => 401,
            Forbidden => 403,
            TooLarge => 413,
            Invalid => 422,
            RateLimited => 429,
            Unavailable => 503,
        }
    }

    /// The error's `kind`.
    pub fn kind(self) -> &'static str {
        match self {
            Unauthorized => "unauthorized",
            Forbidden => "forbidden",
            TooLarge => "tooLarge",
            Invalid => "invalid",
            RateLimited => "rateLimited",
            Unavailable => "unavailable",
        }
    }

    /// Its name under `components.responses`.
    fn response_name(self) -> String {
        format!("{self:?}")
    }

    fn response(self, schemas: &mut Schemas) -> Value {
        let description = match self {
            Unauthorized => {
                "No such source, or the signature, key, secret or timestamp does not verify; \
                 nothing more is said (the console's log has the reason)."
                    .to_string()
            }
            Forbidden => {
                "The source is disabled, or the message names an integration the source may \
                 not name."
                    .to_string()
            }
            TooLarge => format!(
                "The body is over {MAX_INTAKE_BODY} bytes (told by Content-Length, or counted \
                 as it streams)."
            ),
            Invalid => {
                "The body is not what the route reads: the console's `invalid` error naming \
                 the field."
                    .to_string()
            }
            RateLimited => "Over the source's rate: send it again after `Retry-After`.".into(),
            Unavailable => {
                "The console cannot take messages right now (its store or secrets backend): \
                 send it again after `Retry-After`."
                    .to_string()
            }
        };
        let body = match self {
            Invalid => error_body(schemas),
            _ => plain_error_body(&[self.kind()]),
        };
        let mut response = json!({
            "description": description,
            "content": { "application/json": { "schema": body } },
        });
        if matches!(self, RateLimited | Unavailable) {
            response["headers"] = json!({ "Retry-After": {
                "description": "Seconds to wait before sending it again.",
                "required": true,
                "schema": { "type": "integer", "minimum": 1 },
            }});
        }
        response
    }
}

/// One example of each verification mode (the header names a source chooses are examples).
fn modes() -> [Verification; 4] {
    [
        Verification::StandardWebhooks,
        Verification::HmacHex {
            header: "X-Signature".into(),
            prefix: "sha256=".into(),
            timestamp_header: None,
        },
        Verification::SharedSecret {
            header: "X-Webhook-Secret".into(),
        },
        Verification::IntakeKey,
    ]
}

/// A verification mode as a security scheme: its name (the mode's) and how to sign.
fn security_scheme(mode: &Verification) -> (String, Value) {
    let name = serde_json::to_value(mode)
        .ok()
        .and_then(|v| Some(v.get("mode")?.as_str()?.to_string()))
        .unwrap_or_default();
    let scheme = match mode {
        Verification::StandardWebhooks => json!({
            "type": "apiKey", "in": "header", "name": verify::WEBHOOK_SIGNATURE,
            "description": format!(
                "Standard Webhooks (https://www.standardwebhooks.com/): `{WEBHOOK_ID}`, \
                 `{WEBHOOK_TIMESTAMP}` (Unix seconds, at most {} s from the console's clock) and \
                 `{}: v1,<base64 HMAC-SHA256 of \"id.timestamp.body\">` (several \
                 space-separated signatures allowed), keyed with the decoded `whsec_` secret.",
                verify::TOLERANCE_SECS,
                verify::WEBHOOK_SIGNATURE
            ),
        }),
        Verification::HmacHex { header, .. } => json!({
            "type": "apiKey", "in": "header", "name": header,
            "description": "The hex HMAC-SHA256 of the raw body, keyed with the secret's text, \
                after the source's `prefix` (e.g. `sha256=`), in the header the source's \
                `header` names (`X-Signature` here is an example). With `timestampHeader`, the \
                HMAC covers \"<timestamp>.<body>\" and that header holds the timestamp (Unix \
                seconds).",
        }),
        Verification::SharedSecret { header } => json!({
            "type": "apiKey", "in": "header", "name": header,
            "description": "The secret itself, in the header the source's `header` names \
                (`X-Webhook-Secret` here is an example).",
        }),
        Verification::IntakeKey => json!({
            "type": "http", "scheme": "bearer",
            "description": "The source's intake key (`hik_…`): `Authorization: Bearer <key>`.",
        }),
    };
    (name, scheme)
}

/// The header parameters a route reads beside its security scheme's.
fn header_parameters() -> Value {
    json!([
        {
            "name": WEBHOOK_ID, "in": "header", "required": false,
            "description": "Standard Webhooks: the message id (required in that mode); a \
                repeat from the same source gets the first message's answer.",
            "schema": { "type": "string", "maxLength": verify::MAX_MESSAGE_ID_CHARS },
        },
        {
            "name": WEBHOOK_TIMESTAMP, "in": "header", "required": false,
            "description": "Standard Webhooks: Unix seconds (required in that mode).",
            "schema": { "type": "string", "pattern": "^[0-9]+$" },
        },
        {
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": format!(
                "The other modes' message id (`{IDEMPOTENCY_KEY}`): a repeat from the same \
                 source gets the first message's answer."
            ),
            "schema": { "type": "string", "maxLength": verify::MAX_MESSAGE_ID_CHARS },
        },
    ])
}

/// The intake listener's document (`/intake/v1/openapi.json`).
pub fn intake_document() -> Value {
    let mut schemas = Schemas::new();
    let accepted = schemas.answer::<IntakeAccepted>();
    let tested = schemas.answer::<SeedTestAnswer>();
    let security: Vec<(String, Value)> = modes().iter().map(security_scheme).collect();
    let mut refusals: Vec<Refusal> = Vec::new();
    let mut paths = Map::new();
    for route in ROUTES {
        let mut parameters: Vec<Value> = route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| {
                let schema = if name == "source" {
                    json!({
                        "type": "string",
                        "pattern": "^[a-z0-9][a-z0-9_-]*$",
                        "maxLength": MAX_SOURCE_NAME_LEN,
                        "description": "The source's name.",
                    })
                } else {
                    json!({ "type": "string" })
                };
                json!({ "name": name, "in": "path", "required": true, "schema": schema })
            })
            .collect();
        parameters.extend(header_parameters().as_array().cloned().unwrap_or_default());
        let body = match &route.body {
            Body::AnyJson => json!({ "description": "Any JSON." }),
            Body::Schema(schema) => schema(&mut schemas),
        };
        let mut responses = match route.action {
            Action::Accept(_) => json!({ "202": {
                "description": "Accepted: committed to the inbox. A repeated message id gets the \
                    first message's answer (its status now), with `Idempotent-Replayed: true`.",
                "headers": { "Idempotent-Replayed": {
                    "description": "`true` when this answers a message id seen before.",
                    "schema": { "type": "string", "const": "true" },
                }},
                "content": { "application/json": { "schema": accepted } },
            }}),
            Action::TestDatabase => json!({ "200": {
                "description": "The test's outcome (`success: false` is an answer, not an error).",
                "content": { "application/json": { "schema": tested } },
            }}),
        };
        for refusal in route.refusals {
            responses[refusal.status().to_string()] = json!({
                "$ref": format!("#/components/responses/{}", refusal.response_name()),
            });
            if !refusals.contains(refusal) {
                refusals.push(*refusal);
            }
        }
        let operation = json!({
            "operationId": route.name,
            "summary": route.summary,
            "description": route.description,
            "parameters": parameters,
            "requestBody": {
                "required": true,
                "content": { "application/json": { "schema": body } },
            },
            "responses": responses,
            "security": security.iter().map(|(name, _)| json!({ name: [] })).collect::<Vec<_>>(),
        });
        let path = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        path[route.method.as_str().to_ascii_lowercase()] = operation;
    }
    let responses: Map<String, Value> = refusals
        .iter()
        .map(|r| (r.response_name(), r.response(&mut schemas)))
        .collect();
    let mut document = json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Handoff Console intake listener",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Where voice platforms and EHRs push data in (`serve --intake-bind`; \
                docs/intake.md). Each sender is a source, posting to its own name and proving \
                each message its own as its verification mode says (the security schemes: one \
                applies, the source's). Anything else on this listener is a 404.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": security.into_iter().collect::<Map<_, _>>(),
            "responses": responses,
        },
    });
    schemas.finish(&mut document);
    document
}

/// The intake document's text, made on first use.
pub fn intake_json() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| intake_document().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_in_the_document_with_its_refusals() {
        let document = intake_document();
        for route in ROUTES {
            let op = &document["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
            assert_eq!(op["operationId"], route.name);
            let answer = match route.action {
                Action::Accept(_) => "202",
                Action::TestDatabase => "200",
            };
            assert!(op["responses"][answer].is_object(), "{}", route.path);
            for r in route.refusals {
                let reference = op["responses"][r.status().to_string()]["$ref"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{}: no {}", route.path, r.status()));
                let pointer = reference.strip_prefix('#').unwrap();
                assert!(document.pointer(pointer).is_some(), "{reference}");
            }
        }
    }

    #[test]
    fn each_verification_mode_is_a_security_scheme() {
        let document = intake_document();
        let schemes = document["components"]["securitySchemes"]
            .as_object()
            .unwrap();
        let names: Vec<_> = schemes.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            ["standardWebhooks", "hmacHex", "sharedSecret", "intakeKey"]
        );
    }

    #[test]
    fn routes_are_unique_and_name_their_source() {
        let mut seen = Vec::new();
        for route in ROUTES {
            // The listener takes the source from the path, and answers only under /intake/v1.
            assert!(route.path.starts_with("/intake/v1/"), "{}", route.path);
            assert!(route.path.contains("{source}"), "{}", route.path);
            assert!(
                !seen
                    .iter()
                    .any(|(m, p, _)| *m == route.method && *p == route.path)
            );
            assert!(
                !seen.iter().any(|(_, _, n)| *n == route.name),
                "{}",
                route.name
            );
            seen.push((route.method.clone(), route.path, route.name));
        }
    }
}
