//! The circuit breaker's state machine, on a frozen clock (no sleeping). `failsafe` reads
//! time through `failsafe::clock`, which `freeze` replaces for the closure's thread.

use std::time::Duration;

use cryptoviz_producers::BreakerState;
use cryptoviz_producers::http::{CircuitBreaker, FetchError};

#[test]
fn closed_open_half_open_closed() {
    failsafe::clock::freeze(|clock| {
        let mut breaker = CircuitBreaker::new(3, Duration::from_secs(60));
        assert_eq!(breaker.state(), BreakerState::Closed);
        breaker.on_failure();
        breaker.on_failure();
        assert_eq!(breaker.state(), BreakerState::Closed, "below the threshold");
        assert!(breaker.allow());
        breaker.on_failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow());

        clock.advance(Duration::from_secs(59));
        assert!(!breaker.allow());
        assert_eq!(breaker.state(), BreakerState::Open);
        clock.advance(Duration::from_millis(1_001));
        assert!(breaker.allow(), "the trial request after the cool-down");
        assert_eq!(breaker.state(), BreakerState::HalfOpen);

        // A failed trial re-opens at once.
        breaker.on_failure();
        assert_eq!(breaker.state(), BreakerState::Open);
        assert!(!breaker.allow());
        clock.advance(Duration::from_millis(60_001));
        assert!(breaker.allow());
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
    });
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
