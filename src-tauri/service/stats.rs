//! Statistics over the attempt history.

use super::App;
use crate::error::AppError;
use crate::stats::{Stats, StatsFilter};

impl App {
    /// Totals, success rate, durations, failures and a time series for the attempts matching
    /// `filter`. With `exact`, computed from every attempt (exact percentiles, slow on a large
    /// history); otherwise from the rollups (percentiles within 1%).
    pub async fn stats(&self, filter: &StatsFilter, exact: bool) -> Result<Stats, AppError> {
        if let Some(s) = &filter.session
            && (s.trim().is_empty() || s.len() > 200)
        {
            return Err(AppError::invalid("session", "must be 1 to 200 characters"));
        }
        let stats = if exact {
            self.store.stats_exact(filter).await?
        } else {
            self.store.stats(filter).await?
        };
        Ok(stats)
    }
}
