"""Exceptions and warnings of icaf_sem.

User mistakes raise an :class:`IcafError` subclass whose message names the
offending column, parameter or file, the value received and the fix.
Statistical trouble (non-convergence, Heywood cases, a non-positive-definite
matrix ...) is reported with ``warnings.warn`` using an :class:`IcafWarning`
subclass, and is also recorded on the result object so that it shows in
``summary()``, the CLI JSON and the report.
"""
from __future__ import annotations


class IcafError(Exception):
    """Base class of every error icaf_sem raises on purpose."""


class DataError(IcafError, ValueError):
    """The data cannot be used as given (missing/duplicated columns, text, too few rows ...)."""


class QuestionnaireError(IcafError, ValueError):
    """The questionnaire YAML is invalid."""


class ModelSyntaxError(IcafError, ValueError):
    """The lavaan model syntax cannot be parsed."""


class ModelSpecificationError(IcafError, ValueError):
    """The model is syntactically valid but cannot be fitted as specified."""


class IdentificationError(ModelSpecificationError):
    """The model is not identified."""


class EstimationError(IcafError, RuntimeError):
    """Estimation failed in a way no result can be reported for."""


class ResourceError(IcafError, MemoryError):
    """A request needs more memory than the machine has (the message gives the size needed)."""


class OutputError(IcafError, OSError):
    """An output could not be written."""


class IcafWarning(UserWarning):
    """Base class of every warning icaf_sem issues."""


class ConvergenceWarning(IcafWarning):
    """The optimiser did not converge."""


class HeywoodWarning(IcafWarning):
    """A variance estimate is negative (Heywood case) or a correlation exceeds 1."""


class NotPositiveDefiniteWarning(IcafWarning):
    """A sample or model-implied matrix is not positive definite."""


class IdentificationWarning(IcafWarning):
    """The information matrix is singular: the model may not be identified."""


class BootstrapWarning(IcafWarning):
    """Too few (successful) bootstrap draws for an interval: it is reported as unavailable."""


class DataWarning(IcafWarning):
    """Something in the data deserves attention but does not stop the analysis."""


class CollinearityWarning(IcafWarning):
    """Indicators or predictors are (nearly) collinear (VIF above 10)."""


class ReliabilityWarning(IcafWarning):
    """A reliability or validity criterion is not met."""


class ModelSpecificationWarning(IcafWarning):
    """The model syntax changes a default (e.g. frees the moments of an exogenous covariate)."""


__all__ = [n for n in dir() if n[0].isupper()]


class OrdinalWarning(IcafWarning):
    """Trouble with ordinal sample statistics (empty cells, a non-positive-definite polychoric matrix,
    too few rows for Gamma, ...)."""
