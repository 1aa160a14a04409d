"""wx-pipeline: WeChat Official Account datacube analytics -> Postgres -> dbt marts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wx-pipeline")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
