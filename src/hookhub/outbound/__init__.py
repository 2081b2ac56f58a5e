"""The Svix-compatible sending API: applications, event types, endpoints, messages, attempts."""
