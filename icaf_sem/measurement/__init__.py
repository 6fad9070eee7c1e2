"""Measurement quality: reliability, convergent and discriminant validity, item diagnostics.

Every statistic is one function returning a tidy :class:`pandas.DataFrame`,
with the matching R call (psych, semTools) shown in its docstring;
:func:`reliability_report` gathers them for a questionnaire or a CFA model.
"""
from __future__ import annotations

from .reliability import (  # noqa: F401
    DEFAULT_THRESHOLDS,
    ReliabilityReport,
    Thresholds,
    alpha_ordinal,
    ave,
    composite_reliability,
    constructs_from_model,
    cronbach_alpha,
    discriminant_validity,
    fornell_larcker,
    htmt,
    item_total,
    latent_correlations,
    omega,
    omega_ordinal,
    reliability_report,
    reliability_verdicts,
)
from .diagnostics import (  # noqa: F401
    bartlett,
    efa_eigenvalues,
    item_descriptives,
    kmo,
    mardia,
    parallel_analysis,
    response_distribution,
)
from .method_bias import harman_single_factor, unmeasured_method_factor  # noqa: F401

__all__ = [
    "DEFAULT_THRESHOLDS", "ReliabilityReport", "Thresholds", "ave", "composite_reliability",
    "constructs_from_model", "cronbach_alpha", "discriminant_validity", "fornell_larcker", "htmt",
    "item_total", "latent_correlations", "omega", "reliability_report", "reliability_verdicts",
    "alpha_ordinal", "omega_ordinal",
    "bartlett", "efa_eigenvalues", "item_descriptives", "kmo", "mardia", "parallel_analysis",
    "response_distribution", "harman_single_factor", "unmeasured_method_factor",
]
