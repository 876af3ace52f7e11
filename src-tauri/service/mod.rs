//! The service layer.
pub struct App;
