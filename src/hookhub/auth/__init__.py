"""API tokens: org-wide and app-scoped bearer tokens, stored as sha256 hashes."""
