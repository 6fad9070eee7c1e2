"""Power and sample size: analytic (RMSEA-based) and Monte Carlo.

* :func:`rmsea` -- a-priori, post-hoc and compromise power analyses of the model test with RMSEA
  effect sizes (semPower 2.2.0), and MacCallum, Browne & Sugawara's (1996) tests of close and
  not-close fit.
* :func:`simulate` -- Monte Carlo power per hypothesis and indirect effect (as simsem reports it),
  over a grid of sample sizes, in seeded chunks on local processes or a Dask cluster.
"""
from .analytic import RmseaPowerResult, model_df, rmsea

__all__ = ["rmsea", "RmseaPowerResult", "model_df", "simulate", "PowerStudy", "Population", "population"]


def __getattr__(name):   # the Monte Carlo part imports the engine lazily
    if name in ("simulate", "PowerStudy", "Population", "population"):
        from . import montecarlo
        return getattr(montecarlo, name)
    raise AttributeError(name)
