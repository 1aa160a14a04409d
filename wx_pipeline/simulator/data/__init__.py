"""Deterministic synthetic datacube data: one small model per family, and the endpoints'
items derived from them."""

from wx_pipeline.simulator.data.dataset import DataSet, View

__all__ = ["DataSet", "View"]
