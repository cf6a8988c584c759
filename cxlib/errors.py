"""The workbook's own errors and warnings.

Every message says what was expected, what was found (table, column, rows)
and what to do.  ``CxError`` subclasses ``ValueError`` so generic callers that
catch bad input keep working.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class CxError(ValueError):
    """Base class of every error raised on purpose by cxlib."""


class DataContractError(CxError):
    """Input data break the data contract (see ``data/README.md``).

    Attributes
    ----------
    table, column, rule : str or None
        Where the failure is and which rule of the contract failed.
    rows : pandas.DataFrame or None
        A sample of the offending rows (at most a handful).
    """

    def __init__(self, message: str, *, table: str | None = None, column: str | None = None,
                 rule: str | None = None, rows: Any = None, failures: Iterable[str] = ()):
        super().__init__(message)
        self.table = table
        self.column = column
        self.rule = rule
        self.rows = rows
        self.failures = list(failures)


class ParameterError(CxError):
    """A report or function parameter is unknown, mistyped, missing or out of range."""


class ConvergenceError(CxError):
    """A model fit did not converge."""


class NotFittedError(CxError):
    """A model method was called before ``fit``."""


class NotebookExecutionError(CxError):
    """A notebook of the report plan failed while executing."""


class InsufficientDataError(CxError):
    """The data hold too little for a section's core estimate (one customer, a period without answers...).

    A report notebook that raises it is shown as a skipped section whose reason is the message
    (:mod:`cxlib.report.coverage`), never as a traceback; write the message for readers.
    """


class EngineUnavailableError(CxError):
    """The chosen SQL engine cannot run here (PySpark, sqlglot or Java missing, session failed to start)."""


class CxWarning(UserWarning):
    """Base class of cxlib's warnings (errors in the test suite unless expected)."""


class SmallSampleWarning(CxWarning):
    """A result rests on fewer observations than its method needs to be reliable."""


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``allowed``; otherwise raise ``ParameterError``.

    >>> check_choice("alternative", "two-sided", ["two-sided", "less", "greater"])
    'two-sided'
    """
    allowed = list(allowed)
    if value not in allowed:
        raise ParameterError(f"{name}={value!r} is not allowed; choose one of {allowed}.")
    return value
