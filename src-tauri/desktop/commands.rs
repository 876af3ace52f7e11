//! The window's Tauri commands, generated from the operation list (`service/operation_list.rs`):
//! one command per operation, named as the operation, which calls the `Console` method of the
//! same name, as the HTTP route does, and answers the same JSON. Each path parameter is an
//! argument of its own name (`id`, `attempt_id`); the request is the `request` argument. A
//! failure reaches JS as the serialized [`AppError`] (`{kind, field?, message, details?}`), which
//! the UI's `ConsoleError.from` reads. build.rs grants every operation to the window
//! (`allow-<name>` in the app's `default` permission set); Tauri checks that before the handler
//! runs.

use crate::error::AppError;
use crate::service::Console;
use crate::service::operations::operations;
#[allow(unused_imports)] // Each type is used by the expansion below.
use crate::service::operations::types::*;
use futures_util::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;
use tauri::Manager;
use tauri::ipc::{Invoke, InvokeBody, InvokeError};

type Result<T> = std::result::Result<T, AppError>;

/// A JSON argument as a request type; its problems are `invalid` errors naming the field
/// (`request.sessionId`), as the HTTP adapter reports a body's. A missing or null request is the
/// empty object (an absent query string over HTTP).
pub fn arg<T: DeserializeOwned>(name: &str, value: Option<&Value>) -> Result<T> {
    let value = match value {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(v) => v.clone(),
    };
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." || path.is_empty() {
            name.to_string()
        } else {
            format!("{name}.{path}")
        };
        AppError::invalid(field, e.inner().to_string())
    })
}

/// A path parameter: a string (as in the URL, parsed as the list says) or, for a number, the
/// number itself (`job`'s id).
fn param<T: std::str::FromStr>(args: &Value, name: &str) -> Result<T> {
    let field = crate::service::operations::camel_case(name);
    let text = match args.get(name).or_else(|| args.get(&field)) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        None | Some(Value::Null) => return Err(AppError::invalid(field, "is required")),
        Some(other) => other.to_string(),
    };
    text.parse()
        .map_err(|_| AppError::invalid(field, format!("'{text}' is not an id")))
}

fn json<T: serde::Serialize>(value: T) -> Result<Value> {
    serde_json::to_value(value).map_err(AppError::internal)
}

/// One operation's call with its request read from `args`.
macro_rules! call {
    (none; $console:ident; $name:ident; ($($p:ident),*); $args:ident) => {{
        let _ = &$args;
        json($console.$name($($p),*).await?)
    }};
    ($input:ident $(($text:ident))? : $req:ty; $console:ident; $name:ident; ($($p:ident),*); $args:ident) => {{
        let request: $req = arg("request", $args.get("request"))?;
        json($console.$name($($p,)* request).await?)
    }};
}

/// A command's call: the console and its arguments in, its JSON answer out.
pub type Command = fn(Arc<Console>, Value) -> BoxFuture<'static, Result<Value>>;

macro_rules! desktop_commands {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident $([$($flag:ident),*])? : $method:ident $path:literal
        ($($param:ident : $pty:ty),*) $input:ident $(($text:ident))? $(: $req:ty)? => $resp:ty;
    )*) => {
        /// The operation named `command`, or `None` when no operation has that name.
        pub fn dispatch(command: &str) -> Option<Command> {
            match command {
                $(stringify!($name) => Some(|console: Arc<Console>, args: Value| {
                    Box::pin(async move {
                        $(let $param: $pty = param(&args, stringify!($param))?;)*
                        call!($input $(($text))? $(: $req)?; console; $name; ($($param),*); args)
                    })
                }),)*
                _ => None,
            }
        }
    };
}
operations!(desktop_commands);

/// The invoke handler of the window: every operation, plus the smoke test's reporter in smoke
/// mode only (so that in a normal run it does not exist at all).
pub fn handler(smoke: bool) -> Box<dyn Fn(Invoke) -> bool + Send + Sync> {
    let smoke_report: Option<Box<dyn Fn(Invoke) -> bool + Send + Sync>> = if smoke {
        let report: Box<dyn Fn(Invoke) -> bool + Send + Sync> =
            Box::new(tauri::generate_handler![super::smoke::smoke_report]);
        Some(report)
    } else {
        None
    };
    Box::new(move |invoke: Invoke| {
        let command = invoke.message.command().to_string();
        let args = match invoke.message.payload() {
            InvokeBody::Json(v) => v.clone(),
            InvokeBody::Raw(_) => Value::Null,
        };
        match dispatch(&command) {
            Some(run) => {
                let slot = invoke
                    .message
                    .webview_ref()
                    .state::<super::ConsoleSlot>()
                    .inner()
                    .clone();
                invoke.resolver.respond_async(async move {
                    let answer = match slot.console().await {
                        Ok(console) => run(console, args).await,
                        Err(e) => Err(e),
                    };
                    answer.map_err(|e| {
                        InvokeError::from(serde_json::to_value(&e).unwrap_or(Value::Null))
                    })
                });
                true
            }
            None => match &smoke_report {
                Some(report) => report(invoke),
                None => false,
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::requests::{HandoffsQuery, HistoryQuery, IntegrationsQuery, SendRequest};
    use serde_json::json;

    #[test]
    fn a_bad_argument_is_an_invalid_error_naming_the_field() {
        let e = arg::<HistoryQuery>("request", Some(&json!({"limit": "many"}))).unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Invalid);
        assert_eq!(e.field.as_deref(), Some("request.limit"));
        let e = arg::<SendRequest>("request", Some(&json!({"integration": "x"}))).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("request"));
        assert!(e.message.contains("sessionId"), "{}", e.message);
    }

    #[test]
    fn a_typed_choice_that_is_not_one_names_its_field() {
        let e = arg::<HandoffsQuery>("request", Some(&json!({"status": "done"}))).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("request.status"));
        assert!(e.message.contains("undelivered"), "{}", e.message);
        let e = arg::<HistoryQuery>("request", Some(&json!({"sort": "when"}))).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("request.sort"));
        let q: HandoffsQuery = arg(
            "request",
            Some(&json!({"status": "pending", "order": "asc"})),
        )
        .unwrap();
        assert_eq!(q.status, Some(crate::attempts::HandoffState::Pending));
    }

    #[test]
    fn a_missing_request_is_the_empty_one() {
        let q: HistoryQuery = arg("request", None).unwrap();
        assert!(q.limit.is_none());
        let q: IntegrationsQuery = arg("request", Some(&Value::Null)).unwrap();
        assert!(q.kind.is_none());
    }

    /// Every operation is a command of the window, and granted to it: an operation without
    /// either fails here.
    #[test]
    fn every_operation_is_a_command_the_window_may_call() {
        let granted = include_str!(concat!(env!("OUT_DIR"), "/app-permissions/default.toml"));
        let ops = crate::service::operations::all();
        assert!(ops.len() >= 40, "{}", ops.len());
        for op in ops {
            assert!(dispatch(op.name).is_some(), "{}: no command", op.name);
            let permission = format!("\"allow-{}\"", op.name.replace('_', "-"));
            assert!(
                granted.contains(&permission),
                "{}: not granted ({permission})",
                op.name
            );
        }
        assert!(dispatch("no_such_operation").is_none());
        assert!(
            !granted.contains("smoke-report"),
            "the smoke hook is granted only at run time"
        );
    }

    #[test]
    fn a_path_parameter_is_a_string_or_a_number_and_names_itself() {
        let args = json!({"id": 7, "attempt_id": "nope"});
        assert_eq!(param::<u64>(&args, "id").unwrap(), 7);
        let e = param::<AttemptId>(&args, "attempt_id").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("attemptId"));
        let e = param::<String>(&json!({}), "id").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("id"));
        assert!(e.message.contains("is required"), "{}", e.message);
    }
}
