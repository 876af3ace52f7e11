//! The end-to-end check (`endToEnd`): a sample handoff of generated test data, run as the Test
//! Panel runs a test but never as a live write. A database gets the insert in a transaction that
//! is rolled back (through the delivery pool, with the live schema, conversions and quoting a
//! handoff uses); an API gets nothing: its request is rendered (a preview) and not sent.

use super::{HealthStatus, Outcome, healthy};
use crate::ids::HandoffId;
use crate::targets::{ErrorCategory, HandoffContext, ResolvedIntegration, Targets, api};
use crate::testing::{self, GenerateOptions};
use serde_json::Value;

/// The sample data is the same on every run, so a change in the result is the target's.
const SAMPLE_SEED: u64 = 20_261_124;
/// The session id a sample handoff renders with.
const SAMPLE_SESSION: &str = "health-check";

pub async fn check(integration: &ResolvedIntegration, targets: &Targets) -> Outcome<()> {
    let fields = &integration.config.fields;
    let generated = testing::generate(
        fields,
        GenerateOptions {
            seed: Some(SAMPLE_SEED),
            all_fields: true,
        },
    );
    let data = testing::check_test_data(fields, &Value::Object(generated.data))
        .map_err(|e| format!("the sample data does not pass the field checks: {e}"))?;
    let ctx = HandoffContext {
        handoff_id: HandoffId::new(),
        session_id: SAMPLE_SESSION,
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    };
    match (&integration.config.api, &integration.config.database) {
        (Some(config), _) => match api::prepare(integration, config, &ctx, &data) {
            Ok(prepared) => healthy(
                (),
                Some(format!(
                    "preview only: a sample request was rendered ({} {}), nothing was sent",
                    prepared.summary["method"].as_str().unwrap_or_default(),
                    prepared.summary["url"].as_str().unwrap_or_default()
                )),
            ),
            Err(message) => Err(format!(
                "a sample request cannot be built: {message} — preview a configuration test to \
                 see the request"
            )),
        },
        (None, Some(_)) => {
            let delivery = targets.deliver_test(integration, &ctx, &data, false).await;
            if let Some(engine) = &delivery.details.cannot_roll_back {
                return Ok((
                    (),
                    HealthStatus::Warning,
                    Some(format!(
                        "not run: the table's {engine} engine cannot roll back, and a health \
                         check never leaves a row behind (a configuration test with generated \
                         data that keeps its row inserts one on purpose)"
                    )),
                ));
            }
            match delivery.failure {
                None => healthy(
                    (),
                    Some("a sample row was inserted and rolled back (nothing was kept)".into()),
                ),
                // Generated values are not the clinic's data: a constraint that refuses them
                // (a short column, a check) may never refuse a real handoff.
                Some(ErrorCategory::Validation) => Ok((
                    (),
                    HealthStatus::Warning,
                    Some(format!(
                        "the table refused a sample row of generated data: {}; real data may \
                         fit, but check the column sizes and constraints (run a configuration \
                         test with generated data)",
                        delivery.message
                    )),
                )),
                Some(_) => Err(format!(
                    "a sample row could not be inserted: {}",
                    delivery.message
                )),
            }
        }
        (None, None) => Err("the integration has no target".into()),
    }
}
