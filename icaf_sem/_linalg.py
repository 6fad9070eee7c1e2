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
