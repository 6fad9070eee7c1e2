"""The report generator: APA tables (:mod:`.tables`), figures (:mod:`.figures`) and the
writers of the report folder (:mod:`.export`)."""
from __future__ import annotations

__all__ = ["tables", "figures", "export", "write_report"]


def write_report(res, out, **kwargs):
    """Write an :class:`~icaf_sem.pipeline.AnalysisResult` to ``out`` (see :func:`.export.write_report`)."""
    from .export import write_report as _w
    return _w(res, out, **kwargs)
