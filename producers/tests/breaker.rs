//! The circuit breaker's state machine, on tokio's paused clock (no sleeping).

use std::time::Duration;

use cryptoviz_producers::BreakerState;
use cryptoviz_producers::http::{CircuitBreaker, FetchError};

#[tokio::test(start_paused = true)]
async fn closed_open_half_open_closed() {
    let mut breaker = CircuitBreaker::new(3, Duration::from_secs(60));
    assert_eq!(breaker.state(), BreakerState::Closed);
    breaker.on_failure();
    breaker.on_failure();
    assert_eq!(breaker.state(), BreakerState::Closed, "below the threshold");
    breaker.on_failure();
    assert_eq!(breaker.state(), BreakerState::Open);
    assert!(!breaker.allow());

    tokio::time::advance(Duration::from_secs(59)).await;
    assert_eq!(breaker.state(), BreakerState::Open);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    assert!(breaker.allow());

    // A failed trial re-opens at once.
    breaker.on_failure();
    assert_eq!(breaker.state(), BreakerState::Open);
    tokio::time::advance(Duration::from_secs(60)).await;
    assert_eq!(breaker.state(), BreakerState::HalfOpen);
    breaker.on_success();
    assert_eq!(breaker.state(), BreakerState::Closed);

    // A success resets the count of consecutive failures.
    breaker.on_failure();
    breaker.on_failure();
    breaker.on_success();
    breaker.on_failure();
    breaker.on_failure();
    assert_eq!(breaker.state(), BreakerState::Closed);
}

#[test]
fn only_transient_failures_are_retried() {
    let status = |status| FetchError::Status {
        status,
        retry_after: None,
    };
    assert!(FetchError::Timeout.is_retryable());
    assert!(FetchError::Connect("reset".into()).is_retryable());
    assert!(status(500).is_retryable());
    assert!(status(503).is_retryable());
    assert!(status(429).is_retryable());
    assert!(!status(404).is_retryable());
    assert!(!status(401).is_retryable());
    assert!(!FetchError::BreakerOpen.is_retryable());
    assert_eq!(
        serde_json::to_string(&BreakerState::HalfOpen).unwrap(),
        "\"half-open\""
    );
}
