//! The operation list against the real `serve` router: every operation that is not the window's
//! alone answers at its method and path with the console's JSON (a result or an error), and the
//! window's own have no route. An operation whose route is missing fails here.

mod common;

use common::Served;
use handoff_console::service::operations::{Input, all};
use reqwest::Method;

#[tokio::test]
async fn every_operation_has_its_http_route() {
    let s = Served::start().await;
    let ops = all();
    assert!(ops.len() >= 40, "{}", ops.len());
    for op in ops {
        // Values for the path's parameters: ids that find nothing (a 404 or an invalid id
        // error is still the operation's own answer).
        let path = op
            .params
            .iter()
            .fold(op.path.to_string(), |p, name| {
                p.replace(
                    &format!("{{{name}}}"),
                    "0190b7a4-2c1e-7cc3-9f00-000000000000",
                )
            })
            .replace("/jobs/0190b7a4-2c1e-7cc3-9f00-000000000000", "/jobs/999");
        let method = Method::from_bytes(op.method.as_bytes()).unwrap();
        let mut request = s.req(method.clone(), &path);
        match op.input {
            Input::Json => request = request.json(&serde_json::json!({})),
            Input::Text(_) => request = request.body("{}"),
            Input::None | Input::Query => {}
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let json = response
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("application/json"));
        if op.desktop_only {
            assert!(
                status == 405 || !json,
                "{} is the window's alone but {} {path} answered {status} JSON",
                op.name,
                op.method
            );
            continue;
        }
        assert_ne!(
            status, 405,
            "{}: {} {path} has no route",
            op.name, op.method
        );
        assert!(
            json,
            "{}: {} {path} did not answer the console's JSON ({status}): no route?",
            op.name, op.method
        );
        // An unknown `/api/` path is a 404 naming the "API resource" (not an operation's own
        // "not found").
        let body: serde_json::Value = response.json().await.unwrap();
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            !message.contains("API resource"),
            "{}: {} {path} has no route ({message})",
            op.name,
            op.method
        );
    }
}
