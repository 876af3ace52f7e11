//! The `/api/v1` route of every operation, generated from the operation list
//! (`service/operation_list.rs`): each reads its path parameters and its request as the list
//! says, calls the `Console` method of the same name and answers its result as JSON (201 for
//! `created`), or the error. Operations flagged `desktop` have no route.

use super::ApiState;
use super::error::ApiError;
use super::extract;
use crate::service::operations::operations;
#[allow(unused_imports)] // Each type is used by the expansion below.
use crate::service::operations::types::*;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, on};
use serde::Serialize;

fn method_filter(method: &str) -> MethodFilter {
    match method {
        "GET" => MethodFilter::GET,
        "POST" => MethodFilter::POST,
        "PUT" => MethodFilter::PUT,
        "DELETE" => MethodFilter::DELETE,
        other => panic!("operation_list.rs: no HTTP method {other}"),
    }
}

fn respond<T: Serialize>(result: Result<T, ApiError>, created: bool) -> Response {
    match result {
        Ok(value) if created => (StatusCode::CREATED, axum::Json(value)).into_response(),
        Ok(value) => axum::Json(value).into_response(),
        Err(e) => e.into_response(),
    }
}

/// One operation's call with its input read as the list says.
macro_rules! call {
    (none; $console:expr; $name:ident; ($($p:ident),*); $parts:ident; $body:ident) => {{
        let _ = ($parts, $body);
        Ok($console.$name($($p),*).await?)
    }};
    (query: $req:ty; $console:expr; $name:ident; ($($p:ident),*); $parts:ident; $body:ident) => {{
        let _ = $body;
        let request: $req = extract::query(&$parts)?;
        Ok($console.$name($($p,)* request).await?)
    }};
    (json: $req:ty; $console:expr; $name:ident; ($($p:ident),*); $parts:ident; $body:ident) => {{
        let request: $req = extract::json($parts, $body).await?;
        Ok($console.$name($($p,)* request).await?)
    }};
    (text($field:ident): $req:ty; $console:expr; $name:ident; ($($p:ident),*); $parts:ident; $body:ident) => {{
        let request: $req = extract::text($parts, $body, stringify!($field)).await?;
        Ok($console.$name($($p,)* request).await?)
    }};
}

macro_rules! http_routes {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident $([$($flag:ident),*])? : $method:ident $path:literal
        ($($param:ident : $pty:ty),*) $input:ident $(($text:ident))? $(: $req:ty)? => $resp:ty;
    )*) => {
        /// The operations' routes (the caller adds the token check and the `/api/v1` prefix).
        pub fn routes() -> Router<ApiState> {
            let mut router = Router::new();
            $({
                let flags: &[&str] = &[$($(stringify!($flag)),*)?];
                if !flags.contains(&"desktop") {
                    let created = flags.contains(&"created");
                    let handler = move |State(s): State<ApiState>, request: Request| async move {
                        let (mut parts, body) = request.into_parts();
                        let result: Result<$resp, ApiError> = async {
                            #[allow(unused_mut, unused_variables)] // No parameters: nothing to take.
                            let mut params = extract::path_params(&mut parts, &[$(stringify!($param)),*])
                                .await?
                                .into_iter();
                            $(let $param: $pty = extract::param(
                                stringify!($param),
                                params.next().unwrap_or_default(),
                            )?;)*
                            call!($input $(($text))? $(: $req)?; s.console; $name; ($($param),*); parts; body)
                        }
                        .await;
                        respond(result, created)
                    };
                    router = router.route($path, on(method_filter(stringify!($method)), handler));
                }
            })*
            router
        }
    };
}
operations!(http_routes);
