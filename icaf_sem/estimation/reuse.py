"""Reuse between a sequence of fits to the same data (the invariance steps, the path-equality tests).

A sequence of multi-group fits to one stacked DataFrame repeats work that does not depend on the
model's constraints: the per-group sufficient statistics and the saturated (EM) moments, the
baseline (independence) model, and the information matrix of every constrained model whose
standard errors nobody reads.  Inside :func:`fit_session` :func:`icaf_sem.fit`

* keeps the prepared groups (:class:`~icaf_sem.estimation.samplestats.GroupData`, whose EM
  moments are cached on them) of a DataFrame and reuses them for the next fit to the same
  DataFrame object, same observed variables, grouping and missing-data rule;
* fits the baseline model of those groups once;
* with :func:`defer_standard_errors`, leaves the information matrix (standard errors, vcov) of
  the fit to be computed when first read (``Core.info``, ``Core.info_inv``, ``Core.vcov``).  Use
  it only for a model nested in one whose standard errors were computed (a model with added
  equality constraints): the nesting model's information matrix being positive definite, so is
  the nested one's, so no identification warning can be lost.

Nothing changes in the numbers: the same statistics, the same baseline, the same information
matrix, only computed once or when needed.  The DataFrame must not be modified inside the session.
"""
from __future__ import annotations

import contextvars
from contextlib import contextmanager

_SESSION: contextvars.ContextVar = contextvars.ContextVar("icaf_sem_fit_session", default=None)


class FitSession:
    """Caches of one :func:`fit_session` (see the module docstring)."""

    def __init__(self):
        # kind -> {key: (ref, value)}: the prepared groups (ref: the DataFrame) and the fitted
        # baselines (ref: the prepared groups); the reference keeps id(ref) from being reused
        self.cache = {"groups": {}, "baseline": {}}
        self.defer_se = False
        self.hits = {"groups": 0, "baseline": 0}

    @staticmethod
    def group_key(data, ov, group, labels, missing, missing_x, fixed_x):
        return (id(data), len(data), tuple(ov), group, tuple(map(str, labels)), missing, bool(missing_x),
                bool(fixed_x))

    def get(self, kind, key, ref):
        """The value kept under ``key`` for the very object ``ref`` (``kind``: "groups" or "baseline"), or None."""
        hit = self.cache[kind].get(key)
        if hit is not None and hit[0] is ref:
            self.hits[kind] += 1
            return hit[1]
        return None

    def put(self, kind, key, ref, value):
        self.cache[kind][key] = (ref, value)


def current() -> FitSession | None:
    """The active session, or None."""
    return _SESSION.get()


@contextmanager
def fit_session():
    """Reuse sufficient statistics and the baseline model between the fits made inside.

    Nested calls reuse the outer session.
    """
    if _SESSION.get() is not None:
        yield _SESSION.get()
        return
    token = _SESSION.set(FitSession())
    try:
        yield _SESSION.get()
    finally:
        _SESSION.reset(token)


@contextmanager
def defer_standard_errors(on: bool = True):
    """Inside a :func:`fit_session`: compute the information matrix of each fit when first read.

    Only for models nested in one whose information matrix was computed (see the module docstring).
    """
    s = _SESSION.get()
    if s is None:
        yield
        return
    old, s.defer_se = s.defer_se, bool(on)
    try:
        yield
    finally:
        s.defer_se = old
