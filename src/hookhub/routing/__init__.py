"""Routing by content: filters (``filters``, the documents they see in ``documents``) and
JavaScript transformations (``transformations``)."""
