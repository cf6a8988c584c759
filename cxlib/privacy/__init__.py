"""Personal data protection for everything the workbook shows: redaction, pseudonyms, small cells.

Three safeguards, applied wherever an output is made (notebook cells, tables, figures, CSV exports,
the executive summary):

- :class:`Redactor` replaces personal data in free text by placeholders and counts what it replaced:
  URLs carrying personal tokens, e-mail addresses (also written "jane dot doe at example dot com" or
  "jane(at)example(dot)com"), IBANs (ISO 13616 mod-97 checksum), payment card numbers with any
  separators (Luhn), phone numbers (Google's libphonenumber, through ``phonenumbers``, for the
  configured countries), the data's own customer ids, and customers' names taken from the customers
  table, matched Unicode-aware (``Zoë``, ``Ødegård``, ``O'Brien``, ``王伟``; ``Jose`` for ``José``).
  The report runner also passes every executed notebook through it before the notebook is written
  (:func:`redact_notebook`).
- :func:`pseudonymize` maps customer ids to keyed hashes (HMAC-SHA256) with a project secret read
  from the environment variable ``CX_PSEUDONYM_KEY``, never from a notebook parameter.  Without the
  secret it stops (:class:`PseudonymKeyError`), except on the synthetic demo data, which may use a
  fixed key that is marked as such (:data:`DEMO_KEY`, :data:`DEMO_ENV`).
- :func:`suppress_small_cells` blanks every table cell resting on fewer than ``k`` respondents
  (``k = 10`` by default), adds a secondary suppression when one blank could be recovered from a
  total, and says what it suppressed.

:func:`find_personal_data` is the checker used by tests on rendered reports: which of a list of
planted personal items appear in a text, tolerant of the spacing changes HTML and PDF extraction
introduce.  :func:`is_personal_column` says whether a column holds personal data (the contract's
``personal`` columns and the usual names of contact columns), so that it is never a segment.

Analyses run on the raw text in memory (redacting first would hide words such as a surname
"Price" from theme tagging); redaction is applied to what leaves the analysis.
"""
from __future__ import annotations

from typing import Any

from .pseudonyms import (DEMO_ENV, DEMO_KEY, PSEUDONYM_ENV, PseudonymKeyError, PseudonymKeyWarning, pseudonym_key,
                         pseudonymize, pseudonymize_frame)
from .redaction import (IBAN_LENGTHS, PERSONAL_COLUMN_HINTS, PHONE_REGIONS, PHONE_REGIONS_ENV, PLACEHOLDERS,
                        REDACTION_KINDS, RedactionResult, Redactor, find_personal_data, iban_valid,
                        is_personal_column, luhn_valid, redact, redact_notebook)
from .suppression import SUPPRESSION_COLUMNS, Suppression, suppress_small_cells

__all__ = [
    "REDACTION_KINDS", "PLACEHOLDERS", "PHONE_REGIONS", "PHONE_REGIONS_ENV", "IBAN_LENGTHS", "RedactionResult",
    "Redactor", "redact", "luhn_valid", "iban_valid", "redact_notebook", "find_personal_data",
    "PERSONAL_COLUMN_HINTS", "is_personal_column", "PSEUDONYM_ENV", "DEMO_ENV", "DEMO_KEY",
    "PseudonymKeyWarning", "PseudonymKeyError", "pseudonym_key", "pseudonymize", "pseudonymize_frame",
    "SUPPRESSION_COLUMNS", "Suppression", "suppress_small_cells",
]


def __getattr__(name: str) -> Any:
    if name == "FALLBACK_KEY":  # its old name: the key is for the demo data only now
        from .._deprecation import warn_deprecated

        warn_deprecated("cxlib.privacy.FALLBACK_KEY", "cxlib.privacy.DEMO_KEY")
        return DEMO_KEY
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
