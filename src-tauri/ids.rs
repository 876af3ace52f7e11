//! Typed ids, one per entity, so an attempt id can never be passed where a handoff id is meant.
//! They are UUIDv7 (time-ordered, so newer ids sort later) and stored as text.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(transparent)]
        #[cfg_attr(test, derive(ts_rs::TS), ts(export, type = "string"))]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }
        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s.trim()).map(Self)
            }
        }
    };
}

typed_id!(
    /// One configured target.
    IntegrationId
);
typed_id!(
    /// One delivery of one session's data to one integration; the same across its retries.
    HandoffId
);
typed_id!(
    /// One try of a handoff.
    AttemptId
);
typed_id!(
    /// One intake source: a system that pushes messages in.
    SourceId
);
typed_id!(
    /// One message accepted into the intake inbox.
    InboxId
);
typed_id!(
    /// One intake mapping: which messages of a source become handoffs, and how.
    MappingId
);
