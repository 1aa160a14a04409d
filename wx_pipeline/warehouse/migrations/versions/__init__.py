"""Alembic revisions, one module each (a package so wheels ship them)."""
