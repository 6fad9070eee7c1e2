"""Values made ready for ``json.dumps(..., allow_nan=False)``: one rule for every JSON the package writes."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd


def json_value(v):
    """A JSON-ready scalar: NaN/inf and ``pd.NA`` become None, numpy scalars Python numbers and bools."""
    if v is pd.NA:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(float(v)) else None
    if isinstance(v, np.generic):
        return json_value(v.item())
    return v


def json_ready(x):
    """:func:`json_value` applied through nested dicts, lists and tuples (keys become strings)."""
    if isinstance(x, dict):
        return {str(k): json_ready(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_ready(v) for v in x]
    return json_value(x)
