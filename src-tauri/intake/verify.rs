//! How a source proves a message is its own: Standard Webhooks signatures, an HMAC-SHA256 hex
//! signature header, a shared-secret header or a scoped intake key, checked in constant time.
