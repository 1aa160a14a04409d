"""Dagster definitions: assets built from the endpoint registry, resources, schedules, checks.

This package orchestrates the other rooms and holds no ETL logic of its own.
"""
