"""Connectors: one module per CRM on top of the shared HTTP layer (``http``, ``errors``, ``ratelimit``)."""
