"""Pure-ASGI building blocks shared by every HTTP surface: dispatch, limits, idempotency."""
