//! Intake: what voice platforms and EHRs push in. Sources (who may send, and how each proves
//! a message is its own), the verification of a message, per-source rate limits, and the inbox
//! of accepted messages. The listener that receives them is an adapter (`http::intake`); the
//! service (`service::intake`) joins these parts.

pub mod inbox;
pub mod limits;
pub mod listener;
pub mod mappings;
pub mod presets;
pub mod sources;
pub mod verify;

use std::time::Duration;

/// The largest message body the listener takes; larger is answered 413.
pub const MAX_INTAKE_BODY: usize = 1024 * 1024;

/// Why a message was not accepted. Each maps to one answer of the listener; none says more than
/// the sender needs (a bad signature and an unknown source read the same).
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// No such source, or the message's signature, key or timestamp did not verify. The reason
    /// is for the log only.
    #[error("unauthorized ({0})")]
    Unauthorized(String),
    /// The source is switched off.
    #[error("this source is disabled")]
    Disabled,
    /// Over the source's rate: try again after the duration.
    #[error("too many messages from this source")]
    RateLimited(Duration),
    /// Larger than [`MAX_INTAKE_BODY`].
    #[error("the body is larger than {MAX_INTAKE_BODY} bytes")]
    TooLarge,
    /// The body (of a route that reads it) is not what the route takes.
    #[error(transparent)]
    Invalid(crate::error::AppError),
    /// The message names an integration the source may not name.
    #[error("this source may not name the integration '{0}'")]
    NotAllowed(String),
    /// The console could not take the message (the store, the secrets backend): try again.
    #[error(transparent)]
    Unavailable(crate::error::AppError),
}
