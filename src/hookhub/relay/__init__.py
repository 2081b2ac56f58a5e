"""Live relay: listeners over WebSocket and SSE, routing by key path, replies, pub/sub."""
