"""BI on the marts: Apache Superset, provisioned by code.

* `assets/` is Superset's export of the database, datasets, charts and dashboards, unzipped:
  the dashboards are changed in Superset's UI, exported (`wx-pipeline bi export`) and
  committed. The datasets are generated (`assets.py`): one per mart, its columns from the
  mart's dbt contract and its metrics from the dbt semantic layer (`wx_pipeline/marts/metrics.py`).
* `superset.py` starts Superset in its own virtualenv (`.venv-bi`, `requirements-bi.lock`)
  against the warehouse, through a read-only role, and imports the assets (`client.py`, its
  REST API); `superset_config.py` is the configuration Superset loads.
"""
