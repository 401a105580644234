"""Alembic migrations of the campaign log, run programmatically by :func:`hiexplore.campaigns.store.migrate`."""
