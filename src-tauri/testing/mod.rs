//! Configuration tests: test data and test runs (the Test Panel).
//!
//! `data` makes realistic values from an integration's field schema (reproducible from a seed)
//! and checks custom test data against it; `report` is what a test run says: what would be or
//! was sent, and the analysis of what came back.

pub mod data;
pub mod report;

pub use crate::targets::StoredColumn;
pub use data::{GenerateOptions, GeneratedData, check_test_data, generate};
pub use report::{Expectation, TestMode, TestOutcome, TestReport};
