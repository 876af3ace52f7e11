//! Database targets.
use super::{Delivery, ErrorCategory, HandoffContext, ResolvedIntegration};
use crate::ids::IntegrationId;

#[derive(Default)]
pub struct DatabasePools;

impl DatabasePools {
    pub async fn deliver(
        &self,
        _i: &ResolvedIntegration,
        _h: &HandoffContext<'_>,
        _d: &serde_json::Map<String, serde_json::Value>,
    ) -> Delivery {
        Delivery::refused(ErrorCategory::Configuration, "not yet")
    }
    pub async fn forget(&self, _id: IntegrationId) {}
}
