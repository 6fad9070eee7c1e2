"""Modules imported on first attribute access.

``scipy.stats`` alone costs about 0.8 s of CPU to import, ``scipy.optimize`` 0.4 s and
``scipy.linalg`` 0.2 s; a plain fit needs none of them (p-values and fit measures are computed
when first read), so modules on the fit path refer to them through :func:`lazy`:

    stats = lazy("scipy.stats")        # imported when stats.chi2 is first used
"""
from __future__ import annotations

import importlib


class _LazyModule:
    __slots__ = ("_name",)

    def __init__(self, name: str):
        self._name = name

    def __getattr__(self, attr):
        return getattr(importlib.import_module(self._name), attr)

    def __repr__(self):
        return f"<lazy module {self._name!r}>"


def lazy(name: str):
    """A stand-in for the module ``name`` that imports it when an attribute is first read."""
    return _LazyModule(name)
