//! Configuration tests (the Test Panel): test data for an integration, and test runs.

use super::App;
use crate::error::AppError;
use crate::testing::{self, GenerateOptions, GeneratedData};

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
}
