"""Normalizers: raw datacube responses -> typed DataFrames shaped like the fact tables."""

from wx_pipeline.warehouse.normalize.drift import Drift, DriftKind
from wx_pipeline.warehouse.normalize.dtypes import column_dtype, empty_frame, empty_frames
from wx_pipeline.warehouse.normalize.errors import InvalidPayloadError
from wx_pipeline.warehouse.normalize.normalizer import Normalized, normalize, normalize_many

__all__ = [
    "Drift",
    "DriftKind",
    "InvalidPayloadError",
    "Normalized",
    "column_dtype",
    "empty_frame",
    "empty_frames",
    "normalize",
    "normalize_many",
]
