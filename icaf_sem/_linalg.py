"""Small numerically careful linear-algebra helpers."""
from __future__ import annotations

import numpy as np


def safe_logdet(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign, logdet


def is_pd(a, tol: float = 0.0) -> bool:
    try:
        ev = np.linalg.eigvalsh(a)
    except np.linalg.LinAlgError:
        return False
    return bool(np.all(ev > tol * max(1.0, abs(ev).max())))


def sym_inv(a):
    """Inverse of a symmetric matrix, symmetrised."""
    inv = np.linalg.inv(a)
    return 0.5 * (inv + inv.T)


_CONTROLLER = None


def one_blas_thread():
    """Context manager limiting BLAS to one thread.

    The model matrices are small, so one thread is fastest and avoids oversubscription (and the
    bootstrap runs one process per core).  The threadpoolctl controller scans the loaded libraries
    once (a few milliseconds) and is reused, so the limit costs microseconds per fit.
    """
    global _CONTROLLER
    try:
        if _CONTROLLER is None:
            from threadpoolctl import ThreadpoolController
            _CONTROLLER = ThreadpoolController()
        return _CONTROLLER.limit(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover - threadpoolctl is a declared dependency
        import contextlib
        return contextlib.nullcontext()
