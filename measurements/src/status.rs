//! The consumers' status as the API serves it (`/status`, `/metrics`).

/// Upper bounds (seconds) of the buckets of the consumers' window emit-latency histogram,
/// in the order of the `window_emit_latency.buckets` counts of their status.
pub const EMIT_LATENCY_BUCKETS: [f64; 10] =
    [0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0];
