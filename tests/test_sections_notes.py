"""Tests for cxlib/sections/notes.py: plain-language notes instead of tracebacks."""
from __future__ import annotations

import pytest

from cxlib.errors import ConvergenceError, InsufficientDataError
from cxlib.sections.notes import attempt, essential, plain_reason, too_few


def _cox_on_one_row():
    raise ConvergenceError("Cox model did not converge (ValueError: `x` and `y` must have length at least 2.).")


def test_a_failed_estimate_becomes_a_note_without_exception_names():
    tried = attempt("The churn model", _cox_on_one_row)
    assert not tried.ok and tried.result is None
    assert tried.note == ("The churn model could not be estimated on these data (Cox model did not converge "
                          "(`x` and `y` must have length at least 2.).).")
    assert "Error:" not in tried.note
    assert plain_reason(RuntimeWarning("numpy.linalg.LinAlgError: Singular matrix")) == "Singular matrix"


def test_long_reasons_are_cut_and_essential_raises_the_note():
    tried = attempt("The mean", lambda: (_ for _ in ()).throw(ValueError("word " * 100)))
    assert tried.note.endswith(" ...).") and len(tried.note) < 360
    with pytest.raises(InsufficientDataError, match="^The churn model could not be estimated"):
        essential("The churn model", _cox_on_one_row)
    assert attempt("The sum", sum, [1, 2]).result == 3


def test_too_few():
    assert too_few(1, 2, "memberships", "a Cox model") == "1 memberships: too few for a Cox model (at least 2 needed)."
    assert too_few(2, 2, "memberships", "a Cox model") == ""
