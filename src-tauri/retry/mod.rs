//! Retry: backoff schedule, the persisted due queue and the worker loop.
