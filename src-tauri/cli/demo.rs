//! `demo`: the demo workspace (a SQLite target and two integrations).

use super::output::Output;
use crate::error::AppError;
use crate::service::App;

pub(super) async fn run(app: &App, out: &Output) -> Result<u8, AppError> {
    let created = app.create_demo().await?;
    out.integrations(&created);
    Ok(0)
}
