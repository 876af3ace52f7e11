//! The OpenAPI 3.1 documents `serve` answers, generated from the declarations the routes are
//! built from: `GET /api/v1/openapi.json` from the operation list
//! (`service/operation_list.rs`, expanded here as `operations.rs` expands it into routes), and
//! `GET /intake/v1/openapi.json` from the intake route table (`intake_routes.rs`). Each is
//! built once per process.
//!
//! Schemas are the Rust types' own (schemars, from the same serde attributes the wire uses).
//! A request is described as it is read (deserialized: a field with a default may be left out)
//! and an answer as it is written (serialized: an `Option` is always there, maybe `null`); a
//! type whose two descriptions differ appears twice, the request's named `<Type>Input`.

#[allow(unused_imports)] // Each type is used by the expansion below.
use crate::service::operations::types::*;
use crate::service::operations::{Input, Operation, all, camel_case, operations};
use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// The OpenAPI version the documents follow.
pub const OPENAPI_VERSION: &str = "3.1.0";

/// Where the request schemas wait until [`Schemas::finish`] gives them their final names.
const REQUEST_DEFS: &str = "/components/requestSchemas";
const ANSWER_DEFS: &str = "/components/schemas";

/// The schemas one document uses: requests and answers from generators of their own contract.
pub struct Schemas {
    requests: SchemaGenerator,
    answers: SchemaGenerator,
}

impl Default for Schemas {
    fn default() -> Self {
        Self::new()
    }
}

impl Schemas {
    pub fn new() -> Self {
        let settings = |path: &'static str| {
            SchemaSettings::draft2020_12().with(|s| {
                s.definitions_path = path.into();
                s.meta_schema = None;
            })
        };
        Self {
            requests: settings(REQUEST_DEFS).for_deserialize().into_generator(),
            answers: settings(ANSWER_DEFS).for_serialize().into_generator(),
        }
    }

    /// `T` as a request reads it: a `$ref` (or an inline schema for a plain type).
    pub fn request<T: JsonSchema + ?Sized>(&mut self) -> Value {
        self.requests.subschema_for::<T>().to_value()
    }

    /// `T` as an answer writes it.
    pub fn answer<T: JsonSchema + ?Sized>(&mut self) -> Value {
        self.answers.subschema_for::<T>().to_value()
    }

    /// A request type's fields (each property's schema, and whether it must be there): what
    /// the query string or a text body's other fields carry. A request that is not an object
    /// of named fields has none.
    pub fn request_fields<T: JsonSchema + ?Sized>(&mut self) -> Vec<(String, Value, bool)> {
        let reference = self.request::<T>();
        let object = match reference.get("$ref").and_then(Value::as_str) {
            Some(r) => r
                .strip_prefix(&format!("#{REQUEST_DEFS}/"))
                .and_then(|name| self.requests.definitions().get(name))
                .cloned()
                .unwrap_or(Value::Null),
            None => reference,
        };
        let required: BTreeSet<&str> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        object
            .get("properties")
            .and_then(Value::as_object)
            .map(|props| {
                props
                    .iter()
                    .map(|(name, schema)| {
                        (
                            name.clone(),
                            schema.clone(),
                            required.contains(name.as_str()),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Puts every schema under `components.schemas` and points each request `$ref` at its
    /// final name: the answer's own when both read the same, `<Type>Input` when not.
    pub fn finish(mut self, document: &mut Value) {
        let requests = self.requests.take_definitions(true);
        let mut schemas = self.answers.take_definitions(true);
        // A request schema that differs from the answer of the same name only through a
        // reference to a renamed one differs too: repeat until nothing more is renamed.
        let mut renamed: BTreeSet<String> = BTreeSet::new();
        loop {
            let before = renamed.len();
            for (name, schema) in &requests {
                if renamed.contains(name) {
                    continue;
                }
                let mut mine = schema.clone();
                point_refs(&mut mine, &renamed, &schemas);
                if schemas.get(name).is_some_and(|theirs| *theirs != mine) {
                    renamed.insert(name.clone());
                }
            }
            if renamed.len() == before {
                break;
            }
        }
        let mut moved = Map::new();
        for (name, mut schema) in requests {
            point_refs(&mut schema, &renamed, &schemas);
            if renamed.contains(&name) {
                moved.insert(input_name(&name, &schemas), schema);
            } else if !schemas.contains_key(&name) {
                moved.insert(name, schema);
            }
        }
        point_refs(document, &renamed, &schemas);
        schemas.extend(moved);
        document["components"]["schemas"] = Value::Object(schemas);
    }
}

/// The name a request schema takes when its answer namesake differs.
fn input_name(name: &str, answers: &Map<String, Value>) -> String {
    let mut input = format!("{name}Input");
    while answers.contains_key(&input) {
        input.push_str("Input");
    }
    input
}

/// Rewrites every request `$ref` in `value` to the schema's final place.
fn point_refs(value: &mut Value, renamed: &BTreeSet<String>, answers: &Map<String, Value>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(r) if key == "$ref" => {
                        if let Some(name) = r.strip_prefix(&format!("#{REQUEST_DEFS}/")) {
                            // Names in a `$ref` are JSON-pointer encoded; ours have no `/` or `~`.
                            let name = if renamed.contains(name) {
                                input_name(name, answers)
                            } else {
                                name.to_string()
                            };
                            *r = format!("#{ANSWER_DEFS}/{name}");
                        }
                    }
                    _ => point_refs(v, renamed, answers),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| point_refs(v, renamed, answers)),
        _ => {}
    }
}

/// A `///` doc as the document shows it: its first sentence (the summary) and all of it.
pub fn summary_and_description(doc: &str) -> (String, String) {
    let text = doc
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let summary = match text.find(". ") {
        Some(end) => text[..=end].to_string(),
        None => text.clone(),
    };
    (summary, text)
}

/// An optional field's schema as a query parameter's: a parameter is left out, never `null`.
fn never_null(mut schema: Value) -> Value {
    let null = json!({ "type": "null" });
    if schema.get("default") == Some(&Value::Null) {
        schema.as_object_mut().map(|s| s.remove("default"));
    }
    if let Some(Value::Array(types)) = schema.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            schema["type"] = only.clone();
        }
    }
    let any_of = schema.get("anyOf").and_then(Value::as_array).cloned();
    if let Some(mut options) = any_of {
        options.retain(|o| *o != null);
        if let [only] = options.as_slice() {
            let rest = schema.as_object_mut().expect("an anyOf is in an object");
            rest.remove("anyOf");
            let mut merged = only.clone();
            if let (Value::Object(m), false) = (&mut merged, rest.is_empty()) {
                m.extend(rest.clone());
            }
            return merged;
        }
        schema["anyOf"] = options.into();
    }
    schema
}

/// One operation's types as the document needs them, from the list's expansion.
struct Described {
    op: Operation,
    params: Vec<Value>,
    /// The request's fields (query parameters), or its body's schema.
    fields: Vec<(String, Value, bool)>,
    body: Option<Value>,
    answer: Value,
}

macro_rules! openapi_operations {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident $([$($flag:ident),*])? : $method:ident $path:literal
        ($($param:ident : $pty:ty),*) $input:ident $(($text:ident))? $(: $req:ty)? => $resp:ty;
    )*) => {
        /// Every operation HTTP has (not the window's own), with its schemas.
        fn described(schemas: &mut Schemas) -> Vec<Described> {
            let mut list = all().into_iter();
            let mut out = Vec::new();
            $({
                let op = list.next().expect("one operation per entry");
                if !op.desktop_only {
                    let params = vec![$(schemas.request::<$pty>()),*];
                    #[allow(unused_mut)] // An operation without a request sets neither.
                    let (mut fields, mut body) = (Vec::new(), None);
                    $(match op.input {
                        Input::Query | Input::Text(_) => fields = schemas.request_fields::<$req>(),
                        Input::Json => body = Some(schemas.request::<$req>()),
                        Input::None => {}
                    })?
                    let answer = schemas.answer::<$resp>();
                    out.push(Described { op, params, fields, body, answer });
                }
            })*
            out
        }
    };
}
operations!(openapi_operations);

/// The answers every admin route may give besides its own: the token refused, and the console's
/// error shape for the rest.
fn admin_error_responses() -> Value {
    json!({
        "401": { "$ref": "#/components/responses/Unauthorized" },
        "4XX": { "$ref": "#/components/responses/Error" },
        "5XX": { "$ref": "#/components/responses/Error" },
    })
}

/// `{"error": AppError}`, the body of every error but a refused token.
pub fn error_body(schemas: &mut Schemas) -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": { "error": schemas.answer::<crate::error::AppError>() },
        "additionalProperties": false,
    })
}

/// `{"error": {"kind": <kind>, "message"}}`: a refusal that says nothing more.
pub fn plain_error_body(kinds: &[&str]) -> Value {
    json!({
        "type": "object",
        "required": ["error"],
        "properties": { "error": {
            "type": "object",
            "required": ["kind", "message"],
            "properties": {
                "kind": { "type": "string", "enum": kinds },
                "message": { "type": "string" },
            },
            "additionalProperties": false,
        }},
        "additionalProperties": false,
    })
}

/// The admin API's document (`/api/v1/openapi.json`).
pub fn admin_document() -> Value {
    let mut schemas = Schemas::new();
    let mut paths = Map::new();
    for d in described(&mut schemas) {
        let op = &d.op;
        let (summary, description) = summary_and_description(op.doc);
        let mut parameters: Vec<Value> = op
            .params
            .iter()
            .zip(d.params)
            .map(|(name, schema)| {
                json!({ "name": name, "in": "path", "required": true, "schema": schema })
            })
            .collect();
        for (name, schema, required) in &d.fields {
            if matches!(op.input, Input::Text(field) if field == name) {
                continue;
            }
            let mut schema = schema.clone();
            let mut parameter = json!({ "name": name, "in": "query", "required": required });
            if let Some(text) = schema.as_object_mut().and_then(|s| s.remove("description")) {
                parameter["description"] = text;
            }
            parameter["schema"] = never_null(schema);
            parameters.push(parameter);
        }
        let mut operation = json!({
            "operationId": camel_case(op.name),
            "summary": summary,
            "tags": [op.path.split('/').nth(1).unwrap_or_default()],
        });
        if description != summary {
            operation["description"] = description.into();
        }
        if !parameters.is_empty() {
            operation["parameters"] = parameters.into();
        }
        match op.input {
            Input::Json => {
                operation["requestBody"] = json!({
                    "required": true,
                    "content": { "application/json": { "schema": d.body.unwrap_or(Value::Bool(true)) } },
                });
            }
            Input::Text(field) => {
                let about = d
                    .fields
                    .iter()
                    .find(|(name, _, _)| name == field)
                    .and_then(|(_, schema, _)| schema.get("description")?.as_str())
                    .unwrap_or("The request's text.");
                operation["requestBody"] = json!({
                    "required": true,
                    "description": about,
                    "content": { "text/plain": { "schema": { "type": "string" } } },
                });
            }
            Input::None | Input::Query => {}
        }
        let status = if op.created { "201" } else { "200" };
        let mut responses = json!({ status: {
            "description": if op.created { "Created." } else { "OK." },
            "content": { "application/json": { "schema": d.answer } },
        }});
        responses.as_object_mut().expect("an object").extend(
            admin_error_responses()
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        operation["responses"] = responses;
        let path = paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}));
        path[op.method.to_ascii_lowercase()] = operation;
    }
    let error = error_body(&mut schemas);
    let mut document = json!({
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Handoff Console admin API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The console's JSON API, as `serve` answers it (docs/web-api.md). \
                Generated from the operation list; the file transfers (`POST /history-files`, \
                `GET /attempts.csv`, `GET /exports/{fileName}`) are not operations and are not \
                described here. Every route, this document's included, needs the console's \
                token (`handoff-console token` prints it).",
        },
        "servers": [{ "url": "/api/v1" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The console's token (`handoff-console token`).",
                },
            },
            "responses": {
                "Error": {
                    "description": "The console's error: its kind says the status (docs/web-api.md, \"Errors\").",
                    "content": { "application/json": { "schema": error } },
                },
                "Unauthorized": {
                    "description": "No token, or a wrong one.",
                    "headers": { "WWW-Authenticate": { "schema": { "type": "string", "const": "Bearer" } } },
                    "content": { "application/json": { "schema": plain_error_body(&["unauthorized"]) } },
                },
            },
        },
    });
    schemas.finish(&mut document);
    document
}

/// The admin document's text, made on first use.
pub fn admin_json() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| admin_document().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_doc_splits_into_its_summary_and_all_of_it() {
        let (summary, all) =
            summary_and_description(" Retries one attempt. Or counts\n a bulk retry.\n");
        assert_eq!(summary, "Retries one attempt.");
        assert_eq!(all, "Retries one attempt. Or counts a bulk retry.");
        let (summary, all) = summary_and_description(" The last health results.\n");
        assert_eq!(summary, all);
    }

    #[test]
    fn every_http_operation_is_in_the_admin_document() {
        let document = admin_document();
        for op in all() {
            let found = &document["paths"][op.path][op.method.to_ascii_lowercase()];
            if op.desktop_only {
                assert!(found.is_null(), "{} is the window's alone", op.name);
            } else {
                assert_eq!(found["operationId"], camel_case(op.name), "{}", op.name);
            }
        }
    }

    #[test]
    fn every_reference_points_at_a_schema_of_the_document() {
        let document = admin_document();
        let mut refs = Vec::new();
        collect_refs(&document, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r.strip_prefix('#').expect("a local reference");
            assert!(document.pointer(pointer).is_some(), "{r} points nowhere");
        }
    }

    #[test]
    fn a_request_and_an_answer_of_one_type_differ_where_their_wire_does() {
        // `Verification` is read with `prefix` optional (it has a default) and written always.
        let document = admin_document();
        let schemas = &document["components"]["schemas"];
        let required = |name: &str| schemas[name]["oneOf"].to_string();
        assert_ne!(required("Verification"), required("VerificationInput"));
        // A query's fields are parameters with their own schemas.
        let inbox = &document["paths"]["/inbox"]["get"]["parameters"];
        let names: Vec<_> = inbox
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["status", "source", "search", "limit", "offset"]);
    }

    fn collect_refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    match v {
                        Value::String(r) if k == "$ref" => out.push(r.clone()),
                        _ => collect_refs(v, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}
