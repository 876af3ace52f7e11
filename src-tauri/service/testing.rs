//! Configuration tests (the Test Panel): test data for an integration, previews of what would be
//! sent, and test runs against the real target with an analysis of what came back.
//!
//! API test runs, and database tests that commit, are handoffs of their own, recorded with
//! trigger `test` and never retried automatically. A database test that rolls back is not
//! recorded: nothing was delivered.

use super::App;
use super::handoffs::delivery_budget;
use crate::error::AppError;
use crate::ids::HandoffId;
use crate::integrations::{ApiConfig, Integration, TargetKind};
use crate::targets::{Delivery, ErrorCategory, HandoffContext, api, database};
use crate::testing::{
    self, Expectation, GenerateOptions, GeneratedData, TestMode, TestOutcome, TestReport,
};
use serde_json::{Map, Value};
use std::time::Instant;

/// The session id of test handoffs (and of previews' rendered `{{sessionId}}`).
pub const TEST_SESSION: &str = "test-panel";

/// What the API timings cover.
const TIMING_NOTE: &str = "a test opens a new connection: connectMs is DNS, TCP and TLS; \
firstByteMs runs from sending until the status and headers arrived, connecting included";
/// Why there is no connect time.
const NO_CONNECT_NOTE: &str = "no connection was opened, so there is no connect time; \
firstByteMs runs from sending until the status and headers arrived";

/// Where a test's data comes from.
#[derive(Debug, Clone)]
pub enum TestData {
    /// Custom data, checked against the field schema.
    Custom(Value),
    Generate(GenerateOptions),
}

/// One configuration test.
#[derive(Debug, Clone)]
pub struct TestRequest {
    pub data: TestData,
    /// Show what would be sent; send nothing.
    pub preview: bool,
    /// Database tests only: keep the row (recorded as an attempt) instead of rolling back.
    pub commit: bool,
}

impl App {
    /// Realistic test data from the integration's field schema; the seed in the result
    /// reproduces it.
    pub async fn generate_test_data(
        &self,
        integration: &str,
        options: GenerateOptions,
    ) -> Result<GeneratedData, AppError> {
        let integration = self.integration(integration).await?;
        Ok(testing::generate(&integration.config.fields, options))
    }

    /// Checks custom test data against the integration's field schema: every problem, each
    /// naming its field (undeclared keys included). Returns the data normalised.
    pub async fn check_test_data(
        &self,
        integration: &str,
        data: &Value,
    ) -> Result<Map<String, Value>, AppError> {
        let integration = self.integration(integration).await?;
        testing::check_test_data(&integration.config.fields, data)
    }

    /// Runs a configuration test. A target that says no is an `Ok` report with
    /// `outcome.success: false`; bad test data or a bad request is an `Err`.
    #[tracing::instrument(skip_all, fields(integration = %integration, preview = request.preview, commit = request.commit))]
    pub async fn run_test(
        &self,
        integration: &str,
        request: TestRequest,
    ) -> Result<TestReport, AppError> {
        if request.preview && request.commit {
            return Err(AppError::invalid(
                "commit",
                "a preview runs nothing, so there is nothing to commit",
            ));
        }
        let integration = self.integration(integration).await?;
        if request.commit && integration.kind != TargetKind::Database {
            return Err(AppError::invalid(
                "commit",
                "only database tests commit (an API test always sends)",
            ));
        }
        let fields = &integration.config.fields;
        let (seed, raw) = match request.data {
            TestData::Custom(v) => (None, v),
            TestData::Generate(options) => {
                let g = testing::generate(fields, options);
                (Some(g.seed), Value::Object(g.data))
            }
        };
        let data = testing::check_test_data(fields, &raw)?;
        let (mode, request_shown, outcome) = if request.preview {
            let (shown, outcome) = self.preview(&integration, &data).await?;
            (TestMode::Preview, shown, outcome)
        } else {
            let (shown, outcome) = self.test_run(&integration, &data, request.commit).await?;
            (TestMode::Run, shown, outcome)
        };
        tracing::info!(
            success = outcome.success,
            category = outcome.category.map(ErrorCategory::as_str),
            "configuration test finished"
        );
        Ok(TestReport {
            integration_id: integration.id,
            integration_name: integration.name.clone(),
            kind: integration.kind,
            mode,
            seed,
            data,
            request: request_shown,
            outcome,
        })
    }

    /// What would be sent, rendered by the code that sends (secrets masked); nothing is sent.
    /// A database preview reads the live schema (a read, not a write).
    async fn preview(
        &self,
        integration: &Integration,
        data: &Map<String, Value>,
    ) -> Result<(Value, TestOutcome), AppError> {
        let resolved = self.resolve(integration).await?;
        let ctx = test_context();
        let delivery = match (&integration.config.api, &integration.config.database) {
            (Some(api), _) => match api::prepare(&resolved, api, &ctx, data) {
                Ok(prepared) => Delivery::previewed(prepared.summary),
                Err(message) => Delivery::refused(ErrorCategory::Configuration, message),
            },
            _ => {
                let budget = delivery_budget(integration);
                let preview = self.targets.database.deliver_as(
                    &resolved,
                    &ctx,
                    data,
                    database::Mode::Preview,
                );
                tokio::time::timeout(budget, preview)
                    .await
                    .unwrap_or_else(|_| timed_out(budget))
            }
        };
        let outcome = TestOutcome {
            success: delivery.succeeded(),
            category: delivery.failure,
            message: delivery.message,
            ..TestOutcome::default()
        };
        Ok((delivery.request, outcome))
    }

    /// Sends the test to the real target and analyses what came back.
    async fn test_run(
        &self,
        integration: &Integration,
        data: &Map<String, Value>,
        commit: bool,
    ) -> Result<(Value, TestOutcome), AppError> {
        let is_api = integration.kind == TargetKind::Api;
        if is_api || commit {
            let (result, delivery) = self
                .send_test(integration, TEST_SESSION, &Value::Object(data.clone()))
                .await?;
            let mut outcome = analyse(integration.config.api.as_ref(), &delivery);
            outcome.total_ms = Some(result.duration_ms);
            outcome.attempt_id = Some(result.attempt_id);
            outcome.handoff_id = Some(result.handoff_id);
            return Ok((delivery.request, outcome));
        }
        // A database test that rolls back: run, analyse, and record nothing.
        let resolved = self.resolve(integration).await?;
        let ctx = test_context();
        let budget = delivery_budget(integration);
        let clock = Instant::now();
        let delivery = tokio::time::timeout(
            budget,
            self.targets.deliver_test(&resolved, &ctx, data, false),
        )
        .await
        .unwrap_or_else(|_| timed_out(budget));
        let mut outcome = analyse(None, &delivery);
        outcome.total_ms = Some(clock.elapsed().as_millis() as u64);
        outcome.committed = Some(false);
        Ok((delivery.request, outcome))
    }
}

fn test_context() -> HandoffContext<'static> {
    HandoffContext {
        handoff_id: HandoffId::new(),
        session_id: TEST_SESSION,
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    }
}

fn timed_out(budget: std::time::Duration) -> Delivery {
    Delivery::refused(
        ErrorCategory::Timeout,
        format!(
            "gave up after {} ms, the delivery's time budget",
            budget.as_millis()
        ),
    )
}

/// The analysis of a delivery: outcome, timings, response and expectations (APIs), the row
/// read back (databases).
fn analyse(api: Option<&ApiConfig>, d: &Delivery) -> TestOutcome {
    let body = d
        .response_excerpt
        .as_deref()
        .filter(|_| api.is_some())
        .map(|text| serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into())));
    let expectations = match api {
        Some(api) => expectations(api, d),
        None => Vec::new(),
    };
    TestOutcome {
        success: d.succeeded(),
        category: d.failure,
        message: d.message.clone(),
        total_ms: None,
        connect_ms: d.details.connect_ms,
        first_byte_ms: d.details.first_byte_ms,
        timing_note: api.map(|_| {
            match d.details.connect_ms {
                Some(_) => TIMING_NOTE,
                None => NO_CONNECT_NOTE,
            }
            .to_string()
        }),
        status_code: d.status_code,
        headers: d.details.headers.clone(),
        body,
        expectations,
        row: d.details.row.clone(),
        row_note: d.details.row_note.clone(),
        committed: d.details.committed,
        attempt_id: None,
        handoff_id: None,
    }
}

/// Each of the API's response expectations, passed or failed, and why.
fn expectations(api: &ApiConfig, d: &Delivery) -> Vec<Expectation> {
    let expect = api.expect.clone().unwrap_or_default();
    let check = |name: &str, passed: bool, reason: String| Expectation {
        name: name.to_string(),
        passed,
        reason,
    };
    let Some(status) = d.status_code else {
        return vec![check(
            "status",
            false,
            format!("no response: {}", d.message),
        )];
    };
    let accepted = if expect.status.is_empty() {
        "any 2xx".to_string()
    } else {
        format!(
            "one of {}",
            expect
                .status
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let status_ok = if expect.status.is_empty() {
        (200..300).contains(&status)
    } else {
        expect.status.contains(&status)
    };
    let mut out = vec![check(
        "status",
        status_ok,
        if status_ok {
            format!("{status} is accepted ({accepted})")
        } else {
            format!("{status} is not accepted (expected {accepted})")
        },
    )];
    // Judged on the whole body as the delivery read it, not on the kept excerpt (which is cut).
    let details = &d.details;
    if let Some(ptr) = expect.require_pointer.as_deref().filter(|p| !p.is_empty()) {
        let (passed, reason) = match details.has_required_pointer {
            Some(true) => (true, format!("the response has {ptr}")),
            _ if details.body_truncated => (
                false,
                format!(
                    "the response is too large to parse, so it has no {ptr} as far as the console can tell"
                ),
            ),
            _ if !details.body_is_json => (
                false,
                format!("the response body is not JSON, so it has no {ptr}"),
            ),
            _ => (false, format!("the response has no {ptr}")),
        };
        out.push(check("requirePointer", passed, reason));
    }
    let configured = expect
        .submission_id_pointer
        .as_deref()
        .filter(|p| !p.is_empty());
    let looked_at = configured.unwrap_or("/id or /submissionId");
    // Only a configured pointer makes a missing id a failure; by default it is information.
    let (passed, reason) = match (&d.submission_id, d.succeeded()) {
        (Some(id), _) => (true, format!("found {id} at {looked_at}")),
        (None, true) if configured.is_some() => (
            false,
            format!("the response has no submission id at {looked_at}"),
        ),
        (None, true) => (
            true,
            format!("no submission id at {looked_at} (none is required)"),
        ),
        (None, false) => (
            configured.is_none(),
            "not looked for: the response was not accepted".to_string(),
        ),
    };
    out.push(check("submissionId", passed, reason));
    out
}
