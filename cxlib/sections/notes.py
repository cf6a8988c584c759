"""Plain-language notes where the data are too few for an estimate, instead of a traceback.

A section that runs on small or odd data (one customer, a period without surveys, a table with one
row) shows what it can and says in one sentence what it could not estimate and why.  The wording
lives here, once, for every section:

- :func:`attempt` runs one estimate and turns a failure on these data into a note;
- :func:`essential` runs the estimate a section cannot do without; on failure the section is shown as
  skipped with that note (:class:`~cxlib.errors.InsufficientDataError`, handled by the report runner);
- :func:`too_few` says that a count is below what an estimate needs.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InsufficientDataError

from ..display import displayable

__all__ = ["Attempt", "attempt", "essential", "too_few", "plain_reason", "ESTIMATE_FAILURES"]

#: What an estimate raises when the data cannot support it: our own errors (``CxError`` is a
#: ``ValueError``), numerical failures, and the empty selections of very small data.
ESTIMATE_FAILURES = (ValueError, ArithmeticError, np.linalg.LinAlgError, IndexError, KeyError)
_EXCEPTION_NAME = re.compile(r"\b(?:\w+\.)*[A-Z]\w*(?:Error|Exception|Warning): ")


@displayable()
@dataclass(frozen=True)
class Attempt:
    """The outcome of :func:`attempt`: the result, or ``None`` and a note for readers."""

    result: Any
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.note


def attempt(what: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Attempt:
    """Run ``fn(*args, **kwargs)``; if the data cannot support it, a note naming ``what`` and the reason.

    >>> attempt("The mean", lambda xs: sum(xs) / len(xs), [2, 4]).result
    3.0
    >>> attempt("The mean", lambda xs: sum(xs) / len(xs), []).note
    'The mean could not be estimated on these data (division by zero).'
    """
    try:
        return Attempt(fn(*args, **kwargs))
    except ESTIMATE_FAILURES as exc:
        reason = plain_reason(exc)
        if len(reason) > 300:
            reason = reason[:297].rsplit(" ", 1)[0] + " ..."
        return Attempt(None, f"{what} could not be estimated on these data ({reason}).")


def plain_reason(exc: BaseException) -> str:
    """The message of ``exc`` on one line, without Python exception names (``ValueError: ...``) in it.

    Libraries quote the errors they caught (``"Cox model did not converge (ValueError: ...)"``); readers of a
    report need the sentence, not the class name.

    >>> plain_reason(ValueError("fit failed (LinAlgError: Singular matrix)"))
    'fit failed (Singular matrix)'
    >>> plain_reason(KeyError("store"))
    "'store'"
    """
    reason = _EXCEPTION_NAME.sub("", " ".join(str(exc).split()))
    return reason or "no reason given"


def essential(what: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """The result of ``fn(*args, **kwargs)``, which the section cannot do without.

    If the data cannot support it, raise :class:`~cxlib.errors.InsufficientDataError` with the note of
    :func:`attempt`: the report shows the section as skipped for that reason instead of a traceback.

    >>> essential("The mean", lambda xs: sum(xs) / len(xs), [])
    Traceback (most recent call last):
    ...
    cxlib.errors.InsufficientDataError: The mean could not be estimated on these data (division by zero).
    """
    tried = attempt(what, fn, *args, **kwargs)
    if not tried.ok:
        raise InsufficientDataError(tried.note)
    return tried.result


def too_few(n: int, minimum: int, what: str, estimate: str) -> str:
    """A sentence when ``n`` is below ``minimum`` ('' otherwise).

    >>> too_few(12, 30, "responses", "a reliable NPS interval")
    '12 responses: too few for a reliable NPS interval (at least 30 needed).'
    >>> too_few(40, 30, "responses", "a reliable NPS interval")
    ''
    """
    if n >= minimum:
        return ""
    return f"{n:,} {what}: too few for {estimate} (at least {minimum:,} needed)."
