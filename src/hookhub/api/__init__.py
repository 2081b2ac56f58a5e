"""Plumbing shared by the REST APIs: models, auth dependencies, pagination, error handlers."""
