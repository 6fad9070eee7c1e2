"""Small numerically careful linear-algebra helpers."""
from __future__ import annotations

import sys

import numpy as np


def safe_logdet(a):
    sign, logdet = np.linalg.slogdet(a)
    return sign, logdet


def _cholesky(a):
    """Lower Cholesky factor of ``a``, or None when ``a`` is not (numerically) positive definite.

    NumPy's LAPACK ``potrf`` (scipy.linalg is not imported on the fit path: 0.2 s of start-up)."""
    try:
        L = np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(np.diagonal(L))):
        return None
    return L


def is_pd(a, tol: float = 0.0) -> bool:
    """Whether the smallest eigenvalue of the symmetric matrix ``a`` exceeds ``tol`` (<= 0).

    A successful Cholesky factorisation proves positive definiteness cheaply; only when it
    fails are the eigenvalues computed (a semidefinite matrix passes a negative ``tol``).
    """
    if np.all(np.isfinite(a)) and _cholesky(a) is not None:
        return True
    try:
        ev = np.linalg.eigvalsh(a)
    except np.linalg.LinAlgError:
        return False
    return bool(ev.min() > tol) if tol < 0 else bool(ev.min() > 0)


def chol_solve(a, b):
    """Solution of a x = b for a symmetric positive definite ``a``; None when ``a`` is not."""
    if _cholesky(a) is None:
        return None
    return np.linalg.solve(a, b)


def sym_inv(a, pinv_if_singular: bool = False):
    """Inverse of a symmetric matrix, symmetrised.

    A singular ``a`` raises ``np.linalg.LinAlgError``, or with ``pinv_if_singular`` gives the
    pseudo-inverse.
    """
    try:
        inv = np.linalg.inv(a)
    except np.linalg.LinAlgError:
        if not pinv_if_singular:
            raise
        inv = np.linalg.pinv(a)
    return 0.5 * (inv + inv.T)


def spd_inverse(a):
    """Inverse and log-determinant of one symmetric positive definite matrix by its Cholesky
    factor L (a^-1 = L^-T L^-1, symmetric).  Returns ``(None, nan)`` when ``a`` is not positive
    definite."""
    L = _cholesky(a)
    if L is None:
        return None, np.nan
    logdet = 2.0 * np.log(np.diagonal(L)).sum()
    try:
        Li = np.linalg.inv(L)
    except np.linalg.LinAlgError:
        return None, np.nan
    return Li.T @ Li, logdet


_CONTROLLER = None
_CONTROLLER_KEY = False


def one_blas_thread():
    """Context manager limiting BLAS to one thread.

    The model matrices are small, so one thread is fastest and avoids oversubscription (and the
    bootstrap runs one process per core).  The threadpoolctl controller scans the loaded libraries
    once (a few milliseconds) and is reused, so the limit costs microseconds per fit.
    """
    global _CONTROLLER, _CONTROLLER_KEY
    try:
        # scipy.linalg (imported on first use, see _lazy.py) brings its own OpenBLAS: scan again
        # once it is loaded, or its threads would not be limited
        key = "scipy.linalg" in sys.modules
        if _CONTROLLER is None or key != _CONTROLLER_KEY:
            from threadpoolctl import ThreadpoolController
            _CONTROLLER, _CONTROLLER_KEY = ThreadpoolController(), key
        return _CONTROLLER.limit(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover - threadpoolctl is a declared dependency
        import contextlib
        return contextlib.nullcontext()


def single_blas_thread(func):
    """Decorator: run ``func`` with BLAS limited to one thread (:func:`one_blas_thread`).

    The analysis pipeline works on matrices of a few hundred rows at most (information
    matrices, p x p moments) plus tall-skinny products; a second BLAS thread gains little there
    and, on a shared or busy machine, its spin-waiting costs far more than it gains (a 629 x 629
    Cholesky inverse took 0.07-2.6 s with two threads and 0.02-0.03 s of CPU with one at a load
    of 15 on 2 cores).  The bootstrap and other process pools still use every core.
    """
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with one_blas_thread():
            return func(*args, **kwargs)
    return wrapper
