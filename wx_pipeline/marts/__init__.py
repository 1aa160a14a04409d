"""The Python side of the dbt project in `dbt/`: running dbt against the warehouse, the dbt
files generated from the registry, and the semantic layer's metrics rendered as SQL."""
