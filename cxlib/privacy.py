"""Personal data protection for everything the workbook shows: redaction, pseudonyms, small cells.

Three safeguards, applied wherever an output is made (notebook cells, tables, figures, the
executive summary):

- :class:`Redactor` replaces e-mail addresses, phone numbers, card-like numbers (Luhn-valid),
  URLs that carry personal tokens, and the names of customers by placeholders (``[EMAIL]``,
  ``[PHONE]``, ``[CARD]``, ``[URL]``, ``[NAME]``) and counts what it replaced.
- :func:`pseudonymize` maps customer ids to keyed hashes (HMAC-SHA256) with a project secret read
  from the environment variable ``CX_PSEUDONYM_KEY``, never from a notebook parameter.
- :func:`suppress_small_cells` blanks every table cell resting on fewer than ``k`` respondents
  (``k = 10`` by default), adds a secondary suppression when one blank could be recovered from a
  total, and says what it suppressed.

:func:`find_personal_data` is the checker used by tests on rendered reports: which of a list of
planted personal items appear in a text, tolerant of the spacing changes HTML and PDF extraction
introduce.

Analyses run on the raw text in memory (redacting first would hide words such as a surname
"Price" from theme tagging); redaction is applied to what leaves the analysis.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .errors import CxWarning, ParameterError, check_choice

__all__ = [
    "REDACTION_KINDS", "PLACEHOLDERS", "RedactionResult", "Redactor", "redact", "luhn_valid",
    "find_personal_data", "PSEUDONYM_ENV", "FALLBACK_KEY", "PseudonymKeyWarning", "pseudonymize",
    "pseudonymize_frame", "SUPPRESSION_COLUMNS", "Suppression", "suppress_small_cells",
]

#: Kinds of personal data the redactor replaces, in the order it looks for them.
REDACTION_KINDS = ("url", "email", "card", "phone", "name")
#: Placeholder written instead of each kind.
PLACEHOLDERS = {"url": "[URL]", "email": "[EMAIL]", "card": "[CARD]", "phone": "[PHONE]", "name": "[NAME]"}

_EMAIL = re.compile(r"(?<![\w.+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
# query keys and path tokens that identify a person or a session
_PERSONAL_QUERY = re.compile(
    r"[?&;](?:token|auth|key|session|sid|uid|user(?:_?id)?|customer(?:_?id)?|cid|email|e-mail|mail|"
    r"name|phone|account|acct|member(?:_?id)?|order(?:_?id)?|ref|id)=", re.IGNORECASE)
_PATH_TOKEN = re.compile(r"/(?=[A-Za-z0-9_-]{16,}(?:[/?#]|$))(?=[A-Za-z_-]*\d)[A-Za-z0-9_-]+")
# 13-19 digits, optionally grouped by single spaces or hyphens (card-like)
_CARD = re.compile(r"(?<![\d+])\d(?:[ -]?\d){12,18}(?!\d)")
# phone-like: optional +country, optional (area), 2-5 digit groups; filtered on digit count below
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,5}(?:[ .-]?\d{2,5}){1,5}(?![\w])")
_CAPITALISED = re.compile(r"(?<![\w@])[A-Z][A-Za-z'’-]*[a-zA-Z](?![\w@])")


def luhn_valid(number: str) -> bool:
    """Whether the digits of ``number`` pass the Luhn (mod 10) check used by payment cards.

    Notes
    -----
    From the rightmost digit, double every second digit, subtract 9 from doubles above 9, and sum;
    the number is valid when the sum is a multiple of 10 (ISO/IEC 7812-1, Annex B).

    Examples
    --------
    >>> luhn_valid("4111 1111 1111 1111"), luhn_valid("4111 1111 1111 1112")
    (True, False)
    """
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_LOCAL_PHONE = re.compile(r"(?:\(\d{3}\)\s?)?\d{3}[-.]\d{4}")


def _is_phone(match: str) -> bool:
    digits = sum(c.isdigit() for c in match)
    if _LOCAL_PHONE.fullmatch(match):  # North American local form 555-0123 / (555) 555-0123
        return True
    if not 9 <= digits <= 15:
        return False
    # a leading +, 0 or ( marks a dialled number; otherwise ask for grouping like "555 123 4567"
    separators = len(re.findall(r"[ .-]", match))
    return match[0] in "+0(" or separators >= 2


@dataclass(frozen=True)
class RedactionResult:
    """A redacted text and how many items of each kind were replaced.

    Attributes
    ----------
    text : str
        The text with every item replaced by its placeholder (:data:`PLACEHOLDERS`).
    counts : Mapping[str, int]
        Items replaced per kind of :data:`REDACTION_KINDS` (every kind present, zeros included).
    """

    text: str
    counts: Mapping[str, int]

    @property
    def total(self) -> int:
        """Items replaced, all kinds together."""
        return int(sum(self.counts.values()))

    def to_frame(self) -> pd.DataFrame:
        """One row: ``text`` then one count column per kind, then ``total``."""
        return pd.DataFrame([{"text": self.text, **{k: self.counts[k] for k in REDACTION_KINDS},
                              "total": self.total}])


@dataclass(frozen=True)
class Redactor:
    """Replaces personal data in free text by placeholders and counts the replacements.

    Parameters
    ----------
    names : frozenset of str
        Customer first and last names (case-folded) to redact.  A name is replaced where it is
        written capitalised ("Sarah", "JONES"), the way names appear in text; lower-case words are
        left alone unless they form a customer's full name ("sarah jones"), so that a customer
        named Price or Wood does not erase the words "price" and "wood" from every comment.
    full_names : frozenset of tuple
        (first, last) pairs, case-folded, redacted in any case.
    min_name_length : int
        Names shorter than this are ignored (initials and two-letter names match too much text).

    Notes
    -----
    Order of the passes: URLs carrying a personal token (a query key such as ``token=``,
    ``email=``, ``id=``, or a path segment of 16+ characters with digits), e-mail addresses,
    card-like numbers (13-19 digits passing :func:`luhn_valid`), phone numbers (9-15 digits,
    starting with ``+``, ``0`` or ``(`` or written in groups, or the North American local form
    ``555-0123``), then names.  URLs without
    personal tokens (``https://shop.example.com/returns``) are kept.  Redaction is a safeguard,
    not a guarantee: free text can identify a person in ways no pattern anticipates, which is
    why verbatims are also limited to cells of at least ``k`` respondents.

    Examples
    --------
    >>> r = Redactor.from_names(["Sarah"], ["Jones"])
    >>> out = r.redact("Sarah Jones here, mail sarah.j@example.com or call +44 20 7946 0123.")
    >>> out.text
    '[NAME] [NAME] here, mail [EMAIL] or call [PHONE].'
    >>> out.counts["name"], out.counts["email"], out.counts["phone"], out.total
    (2, 1, 1, 4)
    """

    names: frozenset[str] = field(default_factory=frozenset)
    full_names: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    min_name_length: int = 3

    @classmethod
    def from_names(cls, first_names: Iterable[object] = (), last_names: Iterable[object] = (), *,
                   min_name_length: int = 3) -> Redactor:
        """Build from parallel sequences of first and last names (missing values skipped)."""
        firsts = [_fold(v) for v in first_names]
        lasts = [_fold(v) for v in last_names]
        single = {n for n in [*firsts, *lasts] if n and len(n) >= min_name_length}
        pairs = {(f, l) for f, l in zip(firsts, lasts) if f and l}
        return cls(frozenset(single), frozenset(pairs), min_name_length)

    @classmethod
    def from_customers(cls, customers: pd.DataFrame, *, first_col: str = "first_name",
                       last_col: str = "last_name", min_name_length: int = 3) -> Redactor:
        """Build from the ``customers`` table of the data contract (names columns may be absent)."""
        firsts = customers[first_col] if first_col in customers else pd.Series([None] * len(customers))
        lasts = customers[last_col] if last_col in customers else pd.Series([None] * len(customers))
        return cls.from_names(firsts.tolist(), lasts.tolist(), min_name_length=min_name_length)

    def redact(self, text: object) -> RedactionResult:
        """Redact one text; ``None``/NaN give an empty text with zero counts."""
        counts = dict.fromkeys(REDACTION_KINDS, 0)
        if text is None or (isinstance(text, float) and math.isnan(text)) or text is pd.NA:
            return RedactionResult("", counts)
        s = str(text)

        def sub(kind: str, pattern: re.Pattern, s: str, keep=lambda m: True) -> str:
            def repl(m: re.Match) -> str:
                if not keep(m.group(0)):
                    return m.group(0)
                counts[kind] += 1
                return PLACEHOLDERS[kind]
            return pattern.sub(repl, s)

        s = sub("url", _URL, s, lambda u: bool(_PERSONAL_QUERY.search(u) or _PATH_TOKEN.search(u)
                                             or _EMAIL.search(u)))
        s = sub("email", _EMAIL, s)
        s = sub("card", _CARD, s, luhn_valid)
        s = sub("phone", _PHONE, s, _is_phone)
        if self.names:
            s = self._redact_names(s, counts)
        return RedactionResult(s, counts)

    def _redact_names(self, s: str, counts: dict[str, int]) -> str:
        if self.full_names:
            words = list(re.finditer(r"(?<![\w@])[a-z][a-z'’-]*[a-z](?![\w@])", s))
            spans = []
            for a, b in zip(words, words[1:]):
                if (not spans or a.start() >= spans[-1][1]) and s[a.end():b.start()].isspace() \
                        and (a.group(0), b.group(0)) in self.full_names:
                    spans.append((a.start(), b.end()))
            for start, end in reversed(spans):
                s = s[:start] + f"{PLACEHOLDERS['name']} {PLACEHOLDERS['name']}" + s[end:]
            counts["name"] += 2 * len(spans)

        def single(m: re.Match) -> str:
            word = m.group(0)
            stem, suffix = (word[:-2], word[-2:]) if word[-2:] in ("'s", "’s") else (word, "")
            if stem.casefold() in self.names:
                counts["name"] += 1
                return PLACEHOLDERS["name"] + suffix
            return word
        return _CAPITALISED.sub(single, s)

    def redact_series(self, texts: pd.Series | Sequence[object]) -> tuple[pd.Series, pd.DataFrame]:
        """Redact every text; return the redacted series (same index) and a count table.

        The count table has one row per kind of :data:`REDACTION_KINDS` with columns
        ``kind, items, texts`` (items replaced, texts with at least one replacement).
        """
        series = texts if isinstance(texts, pd.Series) else pd.Series(list(texts))
        results = [self.redact(t) for t in series.tolist()]
        out = pd.Series([r.text if not _missing(t) else t for r, t in zip(results, series.tolist())],
                        index=series.index, name=series.name, dtype=object)
        counts = pd.DataFrame({
            "kind": list(REDACTION_KINDS),
            "items": [sum(r.counts[k] for r in results) for k in REDACTION_KINDS],
            "texts": [sum(r.counts[k] > 0 for r in results) for k in REDACTION_KINDS],
        })
        return out, counts


def _fold(value: object) -> str:
    if _missing(value):
        return ""
    return str(value).strip().casefold()


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def redact(text: object, *, names: Iterable[str] = ()) -> RedactionResult:
    """Redact one text with the pattern rules and optional extra ``names`` (see :class:`Redactor`).

    >>> redact("Card 4111-1111-1111-1111, order 1234567890123").text
    'Card [CARD], order 1234567890123'
    """
    return Redactor.from_names(list(names)).redact(text)


# --------------------------------------------------------------------------- report scanning

_DIGIT_GAP = re.compile(r"(?<=\d)[\s().\-\u00a0\u2010-\u2014]+(?=[\d(+])")


def _normalise_for_scan(text: str) -> str:
    text = text.replace("\u00ad", "")  # soft hyphens from PDF text extraction
    text = re.sub(r"\s+", " ", text).casefold()
    return _DIGIT_GAP.sub("", text)


def find_personal_data(text: str, planted: Iterable[str]) -> list[str]:
    """The planted personal items that occur in ``text`` (for scanning rendered reports).

    Parameters
    ----------
    text : str
        Text of a rendered output: HTML source or text extracted from a PDF.
    planted : iterable of str
        Personal items known to be in the input (fake e-mails, phone numbers, names).

    Returns
    -------
    list of str
        The planted items found, once each, in the order given.  Matching ignores case, collapses
        whitespace, and ignores spaces, dots, hyphens and brackets between digits, so
        ``+44 20 7946 0123`` is found as ``+44 (20) 7946-0123`` or broken over two lines.
        Words (names) must match as whole words.

    Examples
    --------
    >>> find_personal_data("Call +44 20\\n7946-0123 or mail ANA@example.com",
    ...                    ["+44 20 7946 0123", "ana@example.com", "bob@example.org", "Anna"])
    ['+44 20 7946 0123', 'ana@example.com']
    """
    haystack = _normalise_for_scan(text)
    found: list[str] = []
    for item in planted:
        if _missing(item) or not str(item).strip() or item in found:
            continue
        needle = _normalise_for_scan(str(item).strip())
        if re.fullmatch(r"[\w'’ -]+", needle) and not any(c.isdigit() for c in needle):
            hit = re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", haystack) is not None
        elif any(c.isdigit() for c in needle):
            hit = re.search(rf"(?<!\d){re.escape(needle)}(?!\d)", haystack) is not None
        else:
            hit = needle in haystack
        if hit:
            found.append(item)
    return found


# --------------------------------------------------------------------------- pseudonyms

#: Environment variable holding the project secret for pseudonyms.
PSEUDONYM_ENV = "CX_PSEUDONYM_KEY"
#: Public fallback key used (with a :class:`PseudonymKeyWarning`) when the variable is unset.
#: It is in the source code, so pseudonyms made with it can be reversed by anyone holding the
#: raw ids: acceptable for synthetic data and local drafts, never for reports on real customers.
FALLBACK_KEY = "cxlib-public-fallback-key-NOT-SECRET"


class PseudonymKeyWarning(CxWarning):
    """No project secret for pseudonyms: the public fallback key was used."""


def _pseudonym_key() -> bytes:
    key = os.environ.get(PSEUDONYM_ENV, "")
    if not key:
        warnings.warn(
            f"Environment variable {PSEUDONYM_ENV} is not set: customer pseudonyms use the public "
            f"fallback key, so anyone with the raw ids can recompute them. Set {PSEUDONYM_ENV} to a "
            "long random secret (e.g. `export CX_PSEUDONYM_KEY=$(python -c 'import secrets; "
            "print(secrets.token_hex(32))')`) before producing reports on real customers.",
            PseudonymKeyWarning, stacklevel=3)
        key = FALLBACK_KEY
    return key.encode("utf-8")


def pseudonymize(ids: pd.Series | Sequence[object], *, prefix: str = "P", length: int = 16) -> pd.Series:
    """Replace identifiers by keyed hashes: ``prefix + hex(HMAC-SHA256(key, id))[:length]``.

    Parameters
    ----------
    ids : Series or sequence
        Raw identifiers (customer ids); missing values stay missing.
    prefix : str
        Marks the value as a pseudonym in outputs ("P" by default).
    length : int
        Hex digits kept, 8..64.  16 digits (64 bits) make a collision among a million customers
        about 3e-8 likely; any collision among the given ids raises rather than merge two people.

    Returns
    -------
    pandas.Series
        Pseudonyms, same index as ``ids``; the same id always gets the same pseudonym under the
        same key, so tables stay joinable.

    Raises
    ------
    ParameterError
        ``length`` outside 8..64, or two different ids hashing to the same pseudonym.

    Warns
    -----
    PseudonymKeyWarning
        ``CX_PSEUDONYM_KEY`` is unset and the public :data:`FALLBACK_KEY` was used.

    Notes
    -----
    The key is read from the environment variable ``CX_PSEUDONYM_KEY`` at call time and is never a
    function or notebook parameter, so it cannot end up in an executed notebook or a report.
    HMAC (RFC 2104) with SHA-256 cannot be inverted without the key, unlike a plain hash of the id,
    which anyone can recompute from the list of ids.

    References
    ----------
    Krawczyk, H., Bellare, M. & Canetti, R. (1997). HMAC: keyed-hashing for message authentication. RFC 2104.
    ENISA (2019). Pseudonymisation techniques and best practices, section 5.2 (keyed hash functions).

    Examples
    --------
    >>> import os, warnings
    >>> os.environ["CX_PSEUDONYM_KEY"] = "doctest-secret"
    >>> pseudonymize(["C000001", "C000002", "C000001"]).tolist()
    ['Pfd5011d367f741ee', 'P75a16d9e263677a6', 'Pfd5011d367f741ee']
    >>> del os.environ["CX_PSEUDONYM_KEY"]
    """
    if not isinstance(length, int) or not 8 <= length <= 64:
        raise ParameterError(f"length={length!r} must be an integer from 8 to 64 hex digits (16 recommended).")
    series = ids if isinstance(ids, pd.Series) else pd.Series(list(ids), dtype=object)
    key = _pseudonym_key()
    uniques = pd.unique(series.dropna().astype(str))
    mapping = {u: prefix + hmac.new(key, u.encode("utf-8"), hashlib.sha256).hexdigest()[:length] for u in uniques}
    if len(set(mapping.values())) < len(mapping):
        raise ParameterError(f"Pseudonym collision among {len(mapping):,} ids at length={length}; "
                             "use a longer length.")
    return series.map(lambda v: None if _missing(v) else mapping[str(v)]).astype(object).rename(series.name)


def pseudonymize_frame(frame: pd.DataFrame, *, columns: Sequence[str] = ("customer_id",), prefix: str = "P",
                       length: int = 16) -> pd.DataFrame:
    """A copy of ``frame`` with every column of ``columns`` present replaced by pseudonyms.

    >>> import os
    >>> os.environ["CX_PSEUDONYM_KEY"] = "doctest-secret"
    >>> pseudonymize_frame(pd.DataFrame({"customer_id": ["C000001"], "nps": [9]}))
             customer_id  nps
    0  Pfd5011d367f741ee    9
    >>> del os.environ["CX_PSEUDONYM_KEY"]
    """
    out = frame.copy()
    for col in columns:
        if col in out.columns:
            out[col] = pseudonymize(out[col], prefix=prefix, length=length)
    return out


# --------------------------------------------------------------------------- small cells

#: Columns of the suppression log (one row per suppressed cell).
SUPPRESSION_COLUMNS = ("row", "cell", "count", "reason")

SuppressAction = Literal["suppress", "merge"]


@dataclass(frozen=True)
class Suppression:
    """A table after small-cell suppression, with what was suppressed and why.

    Attributes
    ----------
    table : pandas.DataFrame
        The protected table: the input columns plus ``suppressed`` (bool).  Suppressed rows keep
        their labels; their value columns are NaN, integer columns become nullable ``Int64`` with
        ``<NA>`` (action ``"suppress"``), or they are folded into
        one row labelled ``merged_label`` (action ``"merge"``).
    log : pandas.DataFrame
        One row per suppressed cell, columns :data:`SUPPRESSION_COLUMNS`: original row position,
        cell label, its count and the reason (``"n < k"`` primary, ``"secondary"`` complementary).
    k : int
        Minimum cell size.
    count_col : str
        Column holding the cell sizes.
    action : str
        ``"suppress"`` or ``"merge"``.
    """

    table: pd.DataFrame
    log: pd.DataFrame
    k: int
    count_col: str
    action: str

    @property
    def n_suppressed(self) -> int:
        """Cells suppressed (primary and secondary)."""
        return len(self.log)

    @property
    def note(self) -> str:
        """A sentence for the report saying what was suppressed ("" when nothing was)."""
        if self.log.empty:
            return ""
        primary = int((self.log["reason"] == "n < k").sum())
        secondary = self.n_suppressed - primary
        what = "suppressed" if self.action == "suppress" else "merged into one row"
        text = (f"{primary} cell(s) with fewer than {self.k} respondents {'were' if primary != 1 else 'was'} "
                f"{what} to protect respondents' anonymity")
        if secondary:
            text += f"; {secondary} further cell(s) were suppressed so that they cannot be recovered from totals"
        return text + "."

    def to_frame(self) -> pd.DataFrame:
        """One row: ``k, count_col, action, cells, suppressed_primary, suppressed_secondary, note``."""
        primary = int((self.log["reason"] == "n < k").sum()) if not self.log.empty else 0
        return pd.DataFrame([{"k": self.k, "count_col": self.count_col, "action": self.action,
                              "cells": len(self.table) if self.action == "suppress" else len(self.table) - 1 + self.n_suppressed,
                              "suppressed_primary": primary, "suppressed_secondary": self.n_suppressed - primary,
                              "note": self.note}])


def suppress_small_cells(table: pd.DataFrame, *, count_col: str = "n", k: int = 10,
                         label_cols: Sequence[str] | None = None, value_cols: Sequence[str] | None = None,
                         within: Sequence[str] | None = None, secondary: bool = True,
                         action: SuppressAction = "suppress", merged_label: str = "Other (merged small cells)",
                         sum_cols: Sequence[str] = ()) -> Suppression:
    """Suppress (or merge) every cell of a table that rests on fewer than ``k`` respondents.

    Parameters
    ----------
    table : DataFrame
        One row per reported cell (segment, theme x segment, period...).
    count_col : str
        Respondents behind each row.
    k : int
        Minimum cell size.  10 by default, a common threshold for survey reporting (the
        brief's rule; statistical offices use 5 to 20).
    label_cols : list of str, optional
        Columns that name the cell (kept visible); default the non-numeric columns.
    value_cols : list of str, optional
        Columns blanked for suppressed cells; default every other column but ``count_col``.
        ``count_col`` itself is blanked too (its value would reveal the small size).
    within : list of str, optional
        Columns defining the groups that add up to a published total (e.g. ``["theme"]`` when a
        theme's share is shown per segment).  With ``secondary=True``, a group where exactly one
        cell is suppressed also loses its next smallest cell, so the suppressed one cannot be
        recovered by subtraction.  ``None`` treats the whole table as one group.
    secondary : bool
        Apply the complementary suppression above.
    action : {"suppress", "merge"}
        ``"merge"`` folds the small rows into one row labelled ``merged_label`` whose
        ``count_col`` and ``sum_cols`` are summed and other values are NaN; the merged row itself
        is suppressed when still below ``k``.
    merged_label : str
        Label of the merged row (written in the first label column).
    sum_cols : list of str
        Additive columns (counts) summed by ``"merge"``.

    Returns
    -------
    Suppression
        The protected table, the log and a sentence for the report (:attr:`Suppression.note`).

    Raises
    ------
    ParameterError
        ``k < 1``, an unknown action, or missing columns.

    References
    ----------
    Hundepool, A. et al. (2012). Statistical Disclosure Control. Wiley, chapter 5 (threshold rule,
    secondary suppression).

    Examples
    --------
    >>> t = pd.DataFrame({"segment": ["gold", "silver", "bronze"], "n": [120, 7, 80],
    ...                   "share": [0.31, 0.20, 0.25]})
    >>> s = suppress_small_cells(t, k=10)
    >>> s.table
      segment     n  share  suppressed
    0    gold   120   0.31       False
    1  silver  <NA>    NaN        True
    2  bronze  <NA>    NaN        True
    >>> print(s.note)
    1 cell(s) with fewer than 10 respondents was suppressed to protect respondents' anonymity; 1 further cell(s) were suppressed so that they cannot be recovered from totals.
    """
    check_choice("action", action, ("suppress", "merge"))
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ParameterError(f"k={k!r} must be a positive integer (10 by default).")
    missing = [c for c in [count_col, *(label_cols or []), *(value_cols or []), *(within or []), *sum_cols]
               if c not in table.columns]
    if missing:
        raise ParameterError(f"Column(s) {missing} are not in the table; it has {list(table.columns)}.")
    counts = pd.to_numeric(table[count_col], errors="coerce").fillna(0).to_numpy()
    if label_cols is None:
        label_cols = [c for c in table.columns if c != count_col and not pd.api.types.is_numeric_dtype(table[c])]
    if value_cols is None:
        value_cols = [c for c in table.columns if c not in label_cols and c != count_col]
    primary = counts < k
    hide = primary.copy()
    if secondary and action == "suppress" and primary.any():
        groups = table.groupby(list(within), sort=False).indices.values() if within else [np.arange(len(table))]
        for idx in groups:
            idx = np.asarray(idx)
            if hide[idx].sum() == 1 and len(idx) > 1:
                open_idx = idx[~hide[idx]]
                hide[open_idx[np.argmin(counts[open_idx])]] = True
    labels = table[list(label_cols)].astype(str).agg(", ".join, axis=1) if label_cols else pd.Series(
        [str(i) for i in range(len(table))], index=table.index)
    log = pd.DataFrame({"row": np.flatnonzero(hide), "cell": labels.to_numpy()[hide], "count": counts[hide],
                        "reason": np.where(primary[hide], "n < k", "secondary")}, columns=list(SUPPRESSION_COLUMNS))
    if action == "suppress":
        out = table.copy()
        blank = [count_col, *value_cols]
        for c in blank:
            if pd.api.types.is_integer_dtype(out[c]):
                out[c] = out[c].astype("Int64")  # counts stay integers, blanks are <NA>
            elif pd.api.types.is_bool_dtype(out[c]):
                out[c] = out[c].astype("boolean")
            out.loc[hide, c] = pd.NA if str(out[c].dtype) in ("Int64", "boolean") else np.nan
        out["suppressed"] = hide
        return Suppression(out.reset_index(drop=True), log, int(k), count_col, action)
    kept = table.loc[~primary].copy()
    kept["suppressed"] = False
    if primary.any():
        merged = {c: np.nan for c in table.columns}
        for c in label_cols:
            merged[c] = ""
        if label_cols:
            merged[label_cols[0]] = merged_label
        merged[count_col] = counts[primary].sum()
        for c in sum_cols:
            merged[c] = pd.to_numeric(table.loc[primary, c]).sum()
        merged["suppressed"] = merged[count_col] < k
        if merged["suppressed"]:
            merged[count_col] = np.nan
            for c in sum_cols:
                merged[c] = np.nan
        kept = pd.concat([kept, pd.DataFrame([merged])], ignore_index=True)
    return Suppression(kept.reset_index(drop=True), log, int(k), count_col, action)
