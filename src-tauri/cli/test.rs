//! `test`: an integration's configuration tested with custom or generated data.

use super::output::{Output, print_json, say};
use super::{EXIT_FAILED, flag_names, read_json_data};
use crate::error::AppError;
use crate::service::App;
use crate::service::requests::TestRunRequest;
use crate::testing::{TestMode, TestReport};
use clap::Args;

#[derive(Debug, Args)]
pub(super) struct TestArgs {
    #[arg(long, value_name = "ID|NAME")]
    integration: String,
    /// Custom test data: a JSON file of field values, or - for stdin.
    #[arg(
        long,
        value_name = "DATA.json|-",
        required_unless_present = "generate",
        conflicts_with = "generate"
    )]
    data: Option<String>,
    /// Generate realistic test data from the field schema.
    #[arg(long)]
    generate: bool,
    /// Reproduce generated data (the seed is printed with every generated test).
    #[arg(long, requires = "generate")]
    seed: Option<u64>,
    /// Generate every field, not only the required ones.
    #[arg(long, requires = "generate")]
    all_fields: bool,
    /// Show exactly what would be sent; send nothing.
    #[arg(long)]
    preview: bool,
    /// Database integrations: keep the test row (recorded as an attempt) instead of rolling
    /// back.
    #[arg(long, conflicts_with = "preview")]
    commit: bool,
}

pub(super) async fn run(app: &App, args: TestArgs, out: &Output) -> Result<u8, AppError> {
    // Without --data, --generate was given (clap requires one of them): data is generated.
    let data = args.data.as_deref().map(read_json_data).transpose()?;
    let request = TestRunRequest {
        integration: args.integration,
        data,
        seed: args.seed,
        all_fields: args.all_fields,
        preview: args.preview,
        commit: args.commit,
    };
    let report = app
        .test_request(request)
        .await
        .map_err(flag_names(&["seed"]))?;
    out.test_report(&report);
    Ok(if report.outcome.success {
        0
    } else {
        EXIT_FAILED
    })
}

impl Output {
    pub(super) fn test_report(&self, r: &TestReport) {
        if self.is_json() {
            return print_json(r);
        }
        let o = &r.outcome;
        let verdict = match (r.mode, o.success) {
            (TestMode::Preview, true) => "preview".to_string(),
            (_, true) => "passed".to_string(),
            (_, false) => format!(
                "FAILED [{}]",
                o.category.map(|c| c.as_str()).unwrap_or("unknown")
            ),
        };
        let timing = match (o.total_ms, o.connect_ms, o.first_byte_ms) {
            (Some(t), Some(c), Some(f)) => {
                format!(" ({t} ms: connected after {c} ms, first byte after {f} ms)")
            }
            (Some(t), None, Some(f)) => format!(" ({t} ms, first byte after {f} ms)"),
            (Some(t), _, None) => format!(" ({t} ms)"),
            _ => String::new(),
        };
        say!("{verdict}: {}{timing}", o.message);
        if let Some(seed) = r.seed {
            say!("test data generated with seed {seed} (--seed {seed} repeats it)");
        }
        print_request(&r.request);
        if let Some(code) = o.status_code {
            say!("response status: {code}");
        }
        for e in &o.expectations {
            let mark = if e.passed { "ok  " } else { "FAIL" };
            say!("  {mark} {}: {}", e.name, e.reason);
        }
        if let Some(headers) = &o.headers {
            say!("response headers:");
            for (k, v) in headers {
                say!("  {k}: {}", v.as_str().unwrap_or_default());
            }
        }
        if let Some(body) = &o.body {
            match body {
                serde_json::Value::String(text) => say!(
                    "response body:
{text}"
                ),
                json => say!(
                    "response body:\n{}",
                    serde_json::to_string_pretty(json).unwrap_or_default()
                ),
            }
        }
        if let Some(row) = &o.row {
            let fate = match o.committed {
                Some(true) => "committed",
                _ => "rolled back",
            };
            say!("row as stored ({fate}):");
            for c in row {
                say!("  {} ({}) = {}", c.column, c.type_name, c.value);
            }
        } else if let Some(note) = &o.row_note {
            say!("row not read back: {note}");
        }
        if let (Some(a), Some(h)) = (o.attempt_id, o.handoff_id) {
            say!("recorded as attempt {a} (trigger test), handoff {h}");
        }
    }
}

/// A request as the test shows it: method, URL, headers and body, or SQL and parameters.
fn print_request(request: &serde_json::Value) {
    if let Some(sql) = request.get("sql").and_then(|s| s.as_str()) {
        say!("{sql}");
        for (i, p) in request["params"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            // A fixed value (database.fixedValues) has no field: it is the config's, not collected.
            let source = if p["fixed"] == true {
                "(fixed value)"
            } else {
                p["field"].as_str().unwrap_or_default()
            };
            say!(
                "  {}: {} -> {} ({}) = {}",
                i + 1,
                source,
                p["column"].as_str().unwrap_or_default(),
                p["type"].as_str().unwrap_or_default(),
                p["value"]
            );
        }
    } else if let Some(method) = request.get("method").and_then(|m| m.as_str()) {
        say!("{method} {}", request["url"].as_str().unwrap_or_default());
        for (k, v) in request["headers"].as_object().into_iter().flatten() {
            say!("  {k}: {}", v.as_str().unwrap_or_default());
        }
        if !request["body"].is_null() {
            say!(
                "{}",
                serde_json::to_string_pretty(&request["body"]).unwrap_or_default()
            );
        }
    }
}
