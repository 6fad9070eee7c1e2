"""Data columns as one float array, with text refused by name (shared by every estimator's data step)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import DataError

ITEM_FIX = "item columns must be numeric: clean the wave first (icaf-sem clean) or recode the text"


def numeric_block(data: pd.DataFrame, cols, *, what: str = "column", fix: str = ITEM_FIX) -> np.ndarray:
    """``data[cols]`` as an (n, p) float array; a column holding text raises a :class:`DataError`
    naming the ``what`` (e.g. "ordered column"), the column, the value and its row, then ``fix``.
    Empty or blank cells become NaN."""
    dtypes = dict(zip(map(str, data.columns), data.dtypes))
    if all(dtypes[c].kind in "iuf" for c in cols):          # integer or float (not bool, not text)
        return data.take(data.columns.get_indexer(cols), axis=1).to_numpy(dtype=float)
    X = np.empty((len(data), len(cols)))
    for j, c in enumerate(cols):
        col = data[c]
        if not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
            conv = pd.to_numeric(col, errors="coerce")
            bad = col[conv.isna() & col.notna() & (col.astype(str).str.strip() != "")]
            if len(bad):
                raise DataError(f"{what} {c!r} holds text ({bad.iloc[0]!r} in row {bad.index[0]!r}); {fix}")
            col = conv
        X[:, j] = col.astype(float).to_numpy()
    return X
