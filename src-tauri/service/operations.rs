//! The operation list (`operation_list.rs`) as data: each operation's name, HTTP method and
//! path, where its request comes from, and its flags; and `types`, every type the list names, so
//! that an adapter expanding the list has them in scope. The adapters' tests check their part
//! against [`all`]; `cargo test` writes the UI's client from it (`typescript` below).

include!("operation_list.rs");
pub(crate) use operations;

/// Every request and answer type the list names, for the adapters that expand it.
pub mod types {
    pub use super::super::console::{
        AuditQuery, ConfigCheck, ConfigText, ConsoleInfo, DemoIntegrations, Done, OpenPath,
        Revealed, SecretValue,
    };
    pub use super::super::requests::{
        Changes, ChangesQuery, ExportRequest, HandoffsQuery, HealthRunRequest, HistoryQuery,
        IntegrationsQuery, JobStarted, RetryRequest, RetryResponse, SendRequest, StatsQuery,
        TestRunRequest,
    };
    pub use super::super::test_health_requests::{
        CheckedData, DeliveriesQuery, HealthHistoryQuery, TestCheckRequest, TestDataRequest,
    };
    pub use super::super::{
        AttemptView, ColumnsRequest, ConfigChecked, DemoRemoved, DemoSamples, HandoffResult,
        HistoryFileInfo, InboxPage, InboxQuery, InboxRevealed, InboxView, IntakeAccepted, JobId,
        JobStatus, ListenerStatus, MappingPreview, MappingRequest, MappingTry, MappingsQuery,
        RotateSecretRequest, SourceChange, SourceRequest, SourceSecret, TargetColumns,
        TestEventRequest,
    };
    pub use crate::attempts::{AttemptPage, AttemptSummary, HandoffPage, HandoffRow};
    pub use crate::audit::AuditEvent;
    pub use crate::health::{DeliverySummary, HealthSnapshot, LastHealth};
    pub use crate::ids::{AttemptId, HandoffId, InboxId};
    pub use crate::intake::inbox::InboxItem;
    pub use crate::intake::listener::ListenerSettings;
    pub use crate::intake::mappings::Mapping;
    pub use crate::intake::presets::PresetSystem;
    pub use crate::intake::sources::Source;
    pub use crate::integrations::Integration;
    pub use crate::stats::Stats;
    pub use crate::testing::{GeneratedData, TestReport};
}

/// Where an operation's request comes from over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// No request.
    None,
    /// The query string.
    Query,
    /// The JSON body.
    Json,
    /// The raw body into this field, the other fields from the query string.
    Text(&'static str),
}

/// One operation of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    /// The Tauri command and the `Console` method; in camelCase, the TypeScript method.
    pub name: &'static str,
    pub method: &'static str,
    /// Under `/api/v1`, with `{param}` placeholders.
    pub path: &'static str,
    /// The path parameters, in order.
    pub params: &'static [&'static str],
    pub input: Input,
    /// HTTP answers 201 Created.
    pub created: bool,
    /// Only the window has it (no HTTP route).
    pub desktop_only: bool,
    pub doc: &'static str,
}

/// A name of the list (`attempt_id`, `add_integration`) as the UI writes it (`attemptId`,
/// `addIntegration`): TypeScript's methods and parameters, and the fields errors name.
pub fn camel_case(snake: &str) -> String {
    let mut parts = snake.split('_');
    let mut out = parts.next().unwrap_or_default().to_string();
    for p in parts {
        let mut chars = p.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

/// `[created, desktop]` flags as booleans.
fn has_flag(flags: &[&str], flag: &str) -> bool {
    flags.contains(&flag)
}

macro_rules! operation_data {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident $([$($flag:ident),*])? : $method:ident $path:literal
        ($($param:ident : $pty:ty),*) $input:ident $(($text:ident))? $(: $req:ty)? => $resp:ty;
    )*) => {
        /// Every operation, in the list's order.
        pub fn all() -> Vec<Operation> {
            vec![$(
                Operation {
                    name: stringify!($name),
                    method: stringify!($method),
                    path: $path,
                    params: &[$(stringify!($param)),*],
                    input: input_of(stringify!($input), [$(stringify!($text)),*].first().copied()),
                    created: has_flag(&[$($(stringify!($flag)),*)?], "created"),
                    desktop_only: has_flag(&[$($(stringify!($flag)),*)?], "desktop"),
                    doc: concat!($($doc, "\n"),*),
                },
            )*]
        }
    };
}
operations!(operation_data);

fn input_of(kind: &str, text: Option<&'static str>) -> Input {
    match (kind, text) {
        ("none", None) => Input::None,
        ("query", None) => Input::Query,
        ("json", None) => Input::Json,
        ("text", Some(field)) => Input::Text(field),
        _ => panic!("operation_list.rs: `{kind}` is not none, query, json or text(field)"),
    }
}

#[cfg(test)]
mod typescript;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_camel_cased_as_the_ui_writes_them() {
        assert_eq!(camel_case("attempt_id"), "attemptId");
        assert_eq!(
            camel_case("history_file_attempts_page"),
            "historyFileAttemptsPage"
        );
        assert_eq!(camel_case("id"), "id");
    }

    #[test]
    fn the_list_is_well_formed() {
        let ops = all();
        let mut names: Vec<_> = ops.iter().map(|o| o.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), ops.len(), "two operations share a name");
        let mut routes: Vec<_> = ops.iter().map(|o| (o.method, o.path)).collect();
        routes.sort_unstable();
        routes.dedup();
        assert_eq!(
            routes.len(),
            ops.len(),
            "two operations share a method and path"
        );
        for op in &ops {
            assert!(
                ["GET", "POST", "PUT", "DELETE"].contains(&op.method),
                "{op:?}"
            );
            assert!(op.path.starts_with('/'), "{op:?}");
            let placeholders: Vec<_> = op
                .path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            assert_eq!(placeholders, op.params, "{}: path and parameters", op.name);
            let reads_query = matches!(op.input, Input::Query);
            assert!(
                !(reads_query && op.method != "GET"),
                "{}: only a GET takes its request from the query string",
                op.name
            );
            assert!(
                !(matches!(op.input, Input::Json | Input::Text(_)) && op.method == "GET"),
                "{}: a GET has no body",
                op.name
            );
            assert!(!op.doc.trim().is_empty(), "{}: say what it does", op.name);
        }
    }
}
