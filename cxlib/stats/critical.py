"""Checks of a significance level and an alternative, and the normal and Student-t critical values."""
from __future__ import annotations

import math
import numbers
from typing import Any, Literal

from scipy import stats

from ..errors import ParameterError, check_choice

__all__ = ["ALTERNATIVES", "Alternative", "check_alpha", "check_alternative", "t_value", "z_critical", "z_value"]

Alternative = Literal["two-sided", "greater", "less"]
#: The alternatives of every test: ``"greater"`` means ``a > b`` (or estimate > 0).
ALTERNATIVES = ("two-sided", "greater", "less")


def check_alpha(alpha: Any) -> float:
    """Return ``alpha`` as a float if it is a number strictly between 0 and 1, else raise ``ParameterError``.

    ``alpha`` is ``1 - confidence level``: 0.05 gives 95% intervals and tests at the 5% level.

    >>> check_alpha(0.05)
    0.05
    >>> check_alpha(1.0)
    Traceback (most recent call last):
    ...
    cxlib.errors.ParameterError: alpha=1.0 must lie strictly between 0 and 1 (a number; 0.05 gives 95% intervals).
    """
    if not (isinstance(alpha, numbers.Real) and not isinstance(alpha, bool) and 0 < alpha < 1):
        raise ParameterError(f"alpha={alpha!r} must lie strictly between 0 and 1 (a number; 0.05 gives 95% "
                             "intervals).")
    return float(alpha)


def check_alternative(alternative: str) -> str:
    """Return ``alternative`` if it is one of :data:`ALTERNATIVES`, else raise ``ParameterError``."""
    return check_choice("alternative", alternative, ALTERNATIVES)


def z_value(alpha: float) -> float:
    """Two-sided normal critical value :math:`z_{1 - \\alpha/2}` after :func:`check_alpha`.

    >>> round(z_value(0.05), 4)
    1.96
    """
    check_alpha(alpha)
    return float(stats.norm.ppf(1 - alpha / 2))


def z_critical(alpha: float, alternative: str = "two-sided") -> float:
    """Normal critical value of a test: :math:`z_{1-\\alpha/2}` two-sided, :math:`z_{1-\\alpha}` one-sided.

    >>> round(z_critical(0.05, "greater"), 4)
    1.6449
    """
    check_alternative(alternative)
    if alternative == "two-sided":
        return z_value(alpha)
    check_alpha(alpha)
    return float(stats.norm.ppf(1 - alpha))


def t_value(alpha: float, dof: float) -> float:
    """Two-sided Student-t critical value :math:`t_{\\nu, 1-\\alpha/2}`; the normal one when ``dof`` is infinite.

    >>> round(t_value(0.05, 10), 4), round(t_value(0.05, math.inf), 4)
    (2.2281, 1.96)
    """
    if math.isinf(dof):
        return z_value(alpha)
    check_alpha(alpha)
    return float(stats.t.ppf(1 - alpha / 2, dof))
