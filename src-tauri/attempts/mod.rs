//! Handoffs and attempts: the durable record of every try.
