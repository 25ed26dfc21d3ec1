"""Payment service: simulated gateway, circuit breaker, idempotent charge/refund."""
