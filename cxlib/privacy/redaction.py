"""Redaction: personal data in free text and in executed notebooks replaced by placeholders.

See :mod:`cxlib.privacy` for the three safeguards; this module holds the first, and the report
scanner :func:`find_personal_data` used by the tests.
"""
from __future__ import annotations

import dataclasses
import math
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from ..display import displayable
from ..errors import ParameterError
from ..schema import personal_columns

__all__ = ["REDACTION_KINDS", "PLACEHOLDERS", "PHONE_REGIONS", "PHONE_REGIONS_ENV", "IBAN_LENGTHS", "RedactionResult",
           "Redactor", "redact", "luhn_valid", "iban_valid", "redact_notebook", "find_personal_data",
           "PERSONAL_COLUMN_HINTS", "is_personal_column"]

REDACTION_KINDS = ("url", "email", "iban", "card", "phone", "id", "name")
#: Placeholder written instead of each kind.
PLACEHOLDERS = {"url": "[URL]", "email": "[EMAIL]", "iban": "[IBAN]", "card": "[CARD]", "phone": "[PHONE]",
                "id": "[ID]", "name": "[NAME]"}
#: Countries whose national phone formats are recognised (ISO 3166 alpha-2); numbers written with a
#: ``+`` or ``00`` country code are found whatever the country.  ``CX_PHONE_REGIONS`` (comma-separated)
#: replaces the list for :meth:`Redactor.from_customers`.
PHONE_REGIONS = ("GB", "US", "DE", "FR", "ES", "IT", "NL", "BE", "AT", "CH", "IE", "PT", "PL", "SE", "DK", "NO", "FI")
PHONE_REGIONS_ENV = "CX_PHONE_REGIONS"
#: IBAN length by country (SWIFT IBAN registry); only these countries' IBANs are recognised.
IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
    "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
    "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
    "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19,
    "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}

_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"')\]]+", re.IGNORECASE)
# query keys and path tokens that identify a person or a session
_PERSONAL_QUERY = re.compile(
    r"[?&;](?:token|auth|key|session|sid|uid|user(?:_?id)?|customer(?:_?id)?|cid|email|e-mail|mail|"
    r"name|phone|account|acct|member(?:_?id)?|order(?:_?id)?|ref|id)=", re.IGNORECASE)
_PATH_TOKEN = re.compile(r"/(?=[A-Za-z0-9_-]{16,}(?:[/?#]|$))(?=[A-Za-z_-]*\d)[A-Za-z0-9_-]+")
# e-mail addresses, Unicode local parts and domains; also "a @ b . com", "a(at)b(dot)com", "a dot b at c dot com"
_OBF_AT = r"\s*[\(\[\{<]\s*at\s*[\)\]\}>]\s*"
_OBF_DOT = r"\s*[\(\[\{<]\s*dot\s*[\)\]\}>]\s*|\s+dot\s+"
_EMAIL = re.compile(
    rf"(?<![\w.+%-])(?P<local>[\w%+-]+(?:(?:\.|{_OBF_DOT})[\w%+-]+)*)"
    rf"(?P<at>\s*[@＠﹫]\s*|{_OBF_AT}|\s+at\s+)"
    rf"(?P<domain>[\w-]+(?:(?:\s*\.\s*|{_OBF_DOT})[\w-]+)*(?:\s*\.\s*|{_OBF_DOT})(?P<tld>[^\W\d_]{{2,}}))(?![\w@])",
    re.IGNORECASE)
# IBAN: country, check digits, then 10-30 letters or digits, optionally in groups
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \-\u00a0]?[A-Za-z0-9]){10,32}")
# card-like: 13-23 digits, single spaces, dots, hyphens or slashes between them (the Luhn part is chosen below)
_CARD = re.compile(r"(?<![\w+.,])\d(?:[ .\-/\u00a0]?\d){12,22}(?!\d)")
_CARD_LENGTHS = (16, 15, 14, 19, 18, 17, 13)
# phone-like, for what libphonenumber does not know (short local forms): optional +country, optional (area)
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{2,5}(?:[ .-]?\d{2,5}){1,5}(?![\w])")
_LOCAL_PHONE = re.compile(r"(?:\(\d{3}\)\s?)?\d{3}[-.]\d{4}")
# dates and times that national phone plans would accept (2025-11-03 is a valid Danish number)
_DATE_LIKE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|\d{1,2}:\d{2}(?::\d{2})?")
# a word of letters, with inner apostrophes or hyphens (O'Brien, Jean-Luc), in any script
_WORD = re.compile(r"(?<![\w@])[^\W\d_](?:[\w'’-]*[^\W\d_])?(?![\w@])")
_TOKEN = re.compile(r"(?<![\w-])\w[\w-]*(?![\w-])")
_ASCII_LETTERS = str.maketrans({"ø": "o", "Ø": "o", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "đ": "d", "Đ": "d",
                                "ł": "l", "Ł": "l", "ı": "i", "ð": "d", "þ": "th"})


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


def iban_valid(iban: str) -> bool:
    """Whether ``iban`` (spaces allowed) has its country's length and a valid ISO 13616 check (mod 97 = 1).

    Notes
    -----
    The first four characters move to the end, letters become two digits (A = 10 ... Z = 35), and the
    number must leave 1 modulo 97 (ISO 13616-1:2020, section 7).

    Examples
    --------
    >>> iban_valid("DE89 3704 0044 0532 0130 00"), iban_valid("DE89 3704 0044 0532 0130 01")
    (True, False)
    """
    compact = re.sub(r"[\s\-\u00a0]", "", iban).upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", compact) or IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def _is_phone(match: str) -> bool:
    if _DATE_LIKE.search(match):  # "2024-07-01 00" of a timestamp
        return False
    digits = sum(c.isdigit() for c in match)
    if _LOCAL_PHONE.fullmatch(match):  # North American local form 555-0123 / (555) 555-0123
        return True
    if not 9 <= digits <= 15:
        return False
    # a leading +, 0 or ( marks a dialled number; otherwise ask for grouping like "555 123 4567"
    separators = len(re.findall(r"[ .-]", match))
    return match[0] in "+0(" or separators >= 2


@displayable()
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


def _fold(value: object) -> str:
    if _missing(value):
        return ""
    return unicodedata.normalize("NFC", str(value)).strip().casefold()


def _ascii_fold(folded: str) -> str:
    """``folded`` without accents (``josé`` -> ``jose``, ``ødegård`` -> ``odegard``), for names written without them."""
    decomposed = unicodedata.normalize("NFKD", folded.translate(_ASCII_LETTERS))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _caseless(word: str) -> bool:
    """A word of a script without letter case (Chinese, Japanese, Arabic, Hebrew, Thai...)."""
    return not any(c.isupper() or c.islower() for c in word)


def _replace_spans(s: str, spans: list[tuple[int, int]], placeholder: str) -> tuple[str, int]:
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        s = s[:start] + placeholder + s[end:]
    return s, len(merged)


@displayable(fields=lambda r: {"names": len(r.names), "full_names": len(r.full_names), "ids": len(r.ids),
                               "regions": ",".join(r.regions), "min_name_length": r.min_name_length})
@dataclass(frozen=True)
class Redactor:
    """Replaces personal data in free text by placeholders and counts the replacements.

    Parameters
    ----------
    names : frozenset of str
        Customer first and last names (case-folded, NFC) to redact.  A name is replaced where it is
        written capitalised ("Sarah", "JONES", "Zoë"), the way names appear in text, or in a script
        without letter case ("王伟"); lower-case words are left alone unless they form a customer's
        full name ("sarah jones"), so that a customer named Price or Wood does not erase the words
        "price" and "wood" from every comment.  A name also matches without its accents ("Jose").
    full_names : frozenset of tuple
        (first, last) pairs, case-folded, redacted in any case.
    min_name_length : int
        Names shorter than this are ignored (initials and two-letter names match too much text);
        names in scripts without letter case count from two characters.
    ids : frozenset of str
        The data's customer ids (case-folded), redacted where they appear as a whole token.
    regions : tuple of str
        Countries (ISO 3166 alpha-2) whose national phone formats are recognised (:data:`PHONE_REGIONS`).
    min_id_length : int
        Ids shorter than this are ignored (an id "12" would erase every number 12).

    Notes
    -----
    Order of the passes: URLs carrying a personal token (a query key such as ``token=``,
    ``email=``, ``id=``, or a path segment of 16+ characters with digits), e-mail addresses (with
    the usual obfuscations: ``(at)``, ``[at]``, ``at`` and ``dot`` written out), IBANs (a known
    country's length and the mod-97 check, spaces or hyphens allowed), card numbers (13-19 digits
    passing :func:`luhn_valid`, any single separators), phone numbers (libphonenumber's strict
    ``VALID`` matcher for each of ``regions``, then the written forms it does not know: 9-15 digits
    starting with ``+``, ``0`` or ``(`` or written in groups, and the North American local form
    ``555-0123``), customer ids, then names.  URLs without personal tokens
    (``https://shop.example.com/returns``) are kept.  Redaction is a safeguard, not a guarantee: free
    text can identify a person in ways no pattern anticipates, which is why verbatims are also limited
    to cells of at least ``k`` respondents.

    Examples
    --------
    >>> r = Redactor.from_names(["Sarah", "Zoë"], ["Jones", "Ødegård"])
    >>> out = r.redact("Sarah Jones here, mail sarah.j@example.com or call +44 20 7946 0123. Zoe ODEGARD too.")
    >>> out.text
    '[NAME] [NAME] here, mail [EMAIL] or call [PHONE]. [NAME] [NAME] too.'
    >>> out.counts["name"], out.counts["email"], out.counts["phone"], out.total
    (4, 1, 1, 6)
    >>> redact("IBAN DE89 3704 0044 0532 0130 00, card 4111.1111.1111.1111, jane dot doe at example dot com").text
    'IBAN [IBAN], card [CARD], [EMAIL]'
    """

    names: frozenset[str] = field(default_factory=frozenset)
    full_names: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    min_name_length: int = 3
    ids: frozenset[str] = field(default_factory=frozenset)
    regions: tuple[str, ...] = PHONE_REGIONS
    min_id_length: int = 4

    @classmethod
    def from_names(cls, first_names: Iterable[object] = (), last_names: Iterable[object] = (), *,
                   min_name_length: int = 3, ids: Iterable[object] = (),
                   regions: Sequence[str] | None = None) -> Redactor:
        """Build from parallel sequences of first and last names (missing values skipped) and customer ids."""
        firsts = [_fold(v) for v in first_names]
        lasts = [_fold(v) for v in last_names]
        single: set[str] = set()
        for name in (*firsts, *lasts):
            for part in name.split():  # "van der Berg": each part, kept only where written capitalised
                if len(part) >= min_name_length or (_caseless(part) and len(part) >= 2):
                    single |= {part, _ascii_fold(part)}
        pairs = {(f, l) for f, l in zip(firsts, lasts) if f and l}
        pairs |= {(_ascii_fold(f), _ascii_fold(l)) for f, l in pairs}
        id_set = frozenset(_fold(v) for v in ids if not _missing(v) and len(str(v).strip()) >= 1)
        return cls(frozenset(single), frozenset(pairs), min_name_length, id_set,
                   tuple(regions) if regions is not None else _regions_from_env())

    @classmethod
    def from_customers(cls, customers: pd.DataFrame, *, first_col: str = "first_name",
                       last_col: str = "last_name", id_col: str = "customer_id", min_name_length: int = 3,
                       regions: Sequence[str] | None = None) -> Redactor:
        """Build from the ``customers`` table of the data contract: its names and its customer ids.

        Every column may be absent (no names, no ids: the pattern passes still run); ``customer_id``
        may also be the index.  ``regions`` defaults to ``CX_PHONE_REGIONS`` or :data:`PHONE_REGIONS`.
        """
        def column(name: str) -> list[object]:
            if name in customers:
                return customers[name].tolist()
            if customers.index.name == name:
                return customers.index.tolist()
            return []
        return cls.from_names(column(first_col), column(last_col), ids=column(id_col),
                              min_name_length=min_name_length, regions=regions)

    @cached_property
    def _id_pattern(self) -> re.Pattern | None:
        """For ids that are not simple tokens (spaces, dots...): one alternation, longest first."""
        odd = sorted((i for i in self.ids if len(i) >= self.min_id_length and not _TOKEN.fullmatch(i)),
                     key=len, reverse=True)
        if not odd:
            return None
        return re.compile(r"(?<![\w-])(?:" + "|".join(map(re.escape, odd)) + r")(?![\w-])", re.IGNORECASE)

    @cached_property
    def _caseless_pattern(self) -> re.Pattern | None:
        """Names in scripts without letter case, matched inside words (such scripts write no spaces)."""
        caseless = sorted((n for n in self.names if _caseless(n) and len(n) >= 2), key=len, reverse=True)
        return re.compile("|".join(map(re.escape, caseless))) if caseless else None

    def redact(self, text: object) -> RedactionResult:
        """Redact one text; ``None``/NaN give an empty text with zero counts."""
        counts = dict.fromkeys(REDACTION_KINDS, 0)
        if _missing(text):
            return RedactionResult("", counts)
        s = unicodedata.normalize("NFC", str(text))

        def sub(kind: str, pattern: re.Pattern, s: str, keep=lambda m: True) -> str:
            def repl(m: re.Match) -> str:
                if not keep(m):
                    return m.group(0)
                counts[kind] += 1
                return PLACEHOLDERS[kind]
            return pattern.sub(repl, s)

        s = sub("url", _URL, s, lambda m: bool(_PERSONAL_QUERY.search(m.group(0)) or _PATH_TOKEN.search(m.group(0))
                                               or _EMAIL.search(m.group(0))))
        s = sub("email", _EMAIL, s, _plausible_email)
        s = self._sub_spans("iban", s, counts, _iban_spans(s))
        s = self._sub_spans("card", s, counts, _card_spans(s))
        s = self._sub_spans("phone", s, counts, _phone_spans(s, self.regions))
        s = sub("phone", _PHONE, s, lambda m: _is_phone(m.group(0)))
        if self.ids:
            s = self._redact_ids(s, counts)
        if self.names or self.full_names:
            s = self._redact_names(s, counts)
        return RedactionResult(s, counts)

    def strict(self) -> Redactor:
        """The safety-net profile for what a run writes (executed notebooks, logs): names only as full names.

        A notebook redacts its free text with the full redactor; the runner passes every output through
        this profile as a second line of defence.  Outputs are tables of figures and method names, where
        a single customer name is mostly another word ("Sant'Anna", "Grace period"), so single names are
        left to the notebooks; full names, e-mails, IBANs, cards, phones and ids are still replaced.

        >>> r = Redactor.from_names(["Anna"], ["Berger"], ids=["C0000001"])
        >>> r.strict().redact("Callaway-Sant'Anna DiD; Anna Berger, C0000001").text
        "Callaway-Sant'Anna DiD; [NAME] [NAME], [ID]"
        """
        return dataclasses.replace(self, names=frozenset())

    @staticmethod
    def _sub_spans(kind: str, s: str, counts: dict[str, int], spans: list[tuple[int, int]]) -> str:
        if not spans:
            return s
        s, n = _replace_spans(s, spans, PLACEHOLDERS[kind])
        counts[kind] += n
        return s

    def _redact_ids(self, s: str, counts: dict[str, int]) -> str:
        def token(m: re.Match) -> str:
            word = m.group(0)
            if len(word) >= self.min_id_length and word.casefold() in self.ids:
                counts["id"] += 1
                return PLACEHOLDERS["id"]
            return word
        s = _TOKEN.sub(token, s)
        if self._id_pattern is not None:
            s = self._sub_spans("id", s, counts, [m.span() for m in self._id_pattern.finditer(s)])
        return s

    def _is_name(self, word: str) -> bool:
        folded = word.casefold()
        return folded in self.names or _ascii_fold(folded) in self.names

    def _redact_names(self, s: str, counts: dict[str, int]) -> str:
        if self.full_names:
            words = list(_WORD.finditer(s))
            spans = []
            for a, b in zip(words, words[1:]):
                pair = (a.group(0).casefold(), b.group(0).casefold())
                if (not spans or a.start() >= spans[-1][1]) and s[a.end():b.start()].isspace() and (
                        pair in self.full_names or tuple(map(_ascii_fold, pair)) in self.full_names):
                    spans.append((a.start(), b.end()))
            for start, end in reversed(spans):
                s = s[:start] + f"{PLACEHOLDERS['name']} {PLACEHOLDERS['name']}" + s[end:]
            counts["name"] += 2 * len(spans)

        def single(word: str) -> str | None:
            stem, suffix = (word[:-2], word[-2:]) if word[-2:] in ("'s", "’s") else (word, "")
            if stem and (stem[0].isupper() or _caseless(stem)) and self._is_name(stem):
                counts["name"] += 1
                return PLACEHOLDERS["name"] + suffix
            return None

        def repl(m: re.Match) -> str:
            word = m.group(0)
            whole = single(word)
            if whole is not None:
                return whole
            if "-" in word:  # Jean-Luc, Berger-Hansen: the parts
                return "-".join(single(part) or part for part in word.split("-"))
            return word
        s = _WORD.sub(repl, s)
        if self._caseless_pattern is not None:
            s = self._sub_spans("name", s, counts, [m.span() for m in self._caseless_pattern.finditer(s)])
        return s

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

    def redact_frame(self, frame: pd.DataFrame, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A copy of ``frame`` with every text cell of ``columns`` (default: every text column) redacted."""
        out = frame.copy()
        for col in columns if columns is not None else out.columns:
            if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype):
                out[col] = out[col].astype(object).map(lambda v: v if not isinstance(v, str) else self.redact(v).text)
        return out


def _regions_from_env() -> tuple[str, ...]:
    value = os.environ.get(PHONE_REGIONS_ENV, "").strip()
    if not value:
        return PHONE_REGIONS
    regions = tuple(r.strip().upper() for r in value.split(",") if r.strip())
    import phonenumbers

    unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
    if unknown:
        raise ParameterError(f"{PHONE_REGIONS_ENV}={value!r} names unknown countries {unknown}; give ISO 3166 "
                             "alpha-2 codes separated by commas, e.g. 'GB,DE,FR'.")
    return regions


def _plausible_email(m: re.Match) -> bool:
    at = m.group("at")
    if "@" in at or "＠" in at or "﹫" in at:
        spaced_dot = re.search(r"\s\.|\.\s", m.group("domain")) is not None
        tld = m.group("tld")
        return not spaced_dot or tld.islower() or tld.isupper()  # "me @ home. Then" is a sentence
    if at.strip().startswith(("(", "[", "{", "<")):
        return True
    # " at " spelled out: only with a spelled-out dot, or a local part that looks like an address ("jane.doe")
    obfuscated_dot = re.search(_OBF_DOT, m.group("domain") + " " + m.group("local"), re.IGNORECASE) is not None
    return obfuscated_dot or re.search(r"[._\d]", m.group("local")) is not None


def _iban_spans(s: str) -> list[tuple[int, int]]:
    spans = []
    for m in _IBAN.finditer(s):
        text = m.group(0)
        country = text[:2].upper()
        length = IBAN_LENGTHS.get(country)
        if length is None:
            continue
        positions = [i for i, c in enumerate(text) if c.isalnum()]
        if len(positions) < length:
            continue
        candidate = text[:positions[length - 1] + 1]
        body = re.sub(r"[\s\-\u00a0]", "", candidate)[4:]
        if re.search(r"[A-Za-z]{5}", body) or sum(c.isdigit() for c in body) < 8:
            continue  # words, not an account number
        if iban_valid(candidate):
            spans.append((m.start(), m.start() + len(candidate)))
    return spans


def _card_spans(s: str) -> list[tuple[int, int]]:
    spans = []
    for m in _CARD.finditer(s):
        text = m.group(0)
        positions = [i for i, c in enumerate(text) if c.isdigit()]
        for length in _CARD_LENGTHS:
            if length <= len(positions) and luhn_valid("".join(text[i] for i in positions[:length])):
                spans.append((m.start(), m.start() + positions[length - 1] + 1))
                break
    return spans


def _phone_like(raw: str) -> bool:
    """Whether a number libphonenumber accepts is written like a phone number, not like a figure or a date.

    National plans accept short numbers ("1.644" is a German one) and bare digit runs; text writes
    phones with 7+ digits, dots only as group separators ("06.12.34.56.78", never "237.6 233.0"), and
    a bare run of digits is a build or order number unless it starts with 0 or has 10+ digits.
    """
    digits = sum(c.isdigit() for c in raw)
    if digits < 7 or _DATE_LIKE.fullmatch(raw) or (raw.isdigit() and digits < 10 and raw[0] != "0"):
        return False
    if "." in raw:
        groups = re.split(r"[.\s]+", re.sub(r"[^\d.\s]", " ", raw).strip())
        return raw.count(".") >= 2 and all(len(g) >= 2 for g in groups if g)
    return True


def _phone_spans(s: str, regions: Sequence[str]) -> list[tuple[int, int]]:
    if sum(c.isdigit() for c in s) < 7:  # nothing a phone number could be: skip the matcher (most comments)
        return []
    import phonenumbers

    spans = set()
    for region in regions:
        for m in phonenumbers.PhoneNumberMatcher(s, region, leniency=phonenumbers.Leniency.VALID):
            if _phone_like(m.raw_string.strip()):
                spans.add((m.start, m.end))
    return sorted(spans)


def redact(text: object, *, names: Iterable[str] = (), ids: Iterable[str] = ()) -> RedactionResult:
    """Redact one text with the pattern rules, optional extra ``names`` and customer ``ids`` (see :class:`Redactor`).

    >>> redact("Card 4111-1111-1111-1111, order 1234567890123").text
    'Card [CARD], order 1234567890123'
    """
    return Redactor.from_names(list(names), ids=ids).redact(text)


# --------------------------------------------------------------------------- executed notebooks

_TEXT_MIMES = ("text/plain", "text/markdown", "text/html", "text/latex")


def redact_notebook(nb: MutableMapping[str, Any], redactor: Redactor) -> dict[str, int]:
    """Redact every text output of an executed notebook in place; return the items replaced per kind.

    Streams (``stdout``/``stderr``), ``text/plain``, ``text/markdown``, ``text/latex`` and HTML tables of
    display and result outputs, and error messages and tracebacks are redacted; images are left
    alone, and so is HTML that carries a script (an interactive figure: its text is our own code and
    the figure's labels, never free text).  Cell sources are the notebook's own code and narrative.
    """
    counts = dict.fromkeys(REDACTION_KINDS, 0)

    def clean(value: Any) -> Any:
        text = value if isinstance(value, str) else "".join(value)
        result = redactor.redact(text)
        for k, v in result.counts.items():
            counts[k] += v
        return result.text if result.total else value

    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            kind = out.get("output_type")
            if kind == "stream":
                out["text"] = clean(out.get("text", ""))
            elif kind in ("display_data", "execute_result"):
                data = out.get("data", {})
                for mime in _TEXT_MIMES:
                    if mime in data and not (mime == "text/html" and "<script" in "".join(data[mime])):
                        data[mime] = clean(data[mime])
            elif kind == "error":
                out["evalue"] = clean(out.get("evalue", ""))
                out["traceback"] = [clean(line) for line in out.get("traceback", [])]
    return counts


# --------------------------------------------------------------------------- personal columns

#: Name parts of columns that hold personal data even when the contract does not know them (extra
#: columns of the customers table can be segments; these never can).
PERSONAL_COLUMN_HINTS = ("name", "first_name", "last_name", "full_name", "surname", "given_name", "family_name",
                         "email", "e_mail", "mail", "phone", "mobile", "telephone", "address", "street", "postcode",
                         "postal_code", "zip", "zip_code", "iban", "card_number", "birth", "birthday", "date_of_birth",
                         "dob", "ssn", "passport", "national_id", "tax_id", "ip_address", "comment", "customer_id")


def is_personal_column(name: str, *, personal: Iterable[str] | None = None) -> bool:
    """Whether a column holds personal data: a ``personal`` column (default: the contract's) or a usual name.

    >>> [is_personal_column(c) for c in ["first_name", "E-Mail", "mobile_number", "region", "loyalty_tier"]]
    [True, True, True, False, False]
    """
    folded = re.sub(r"[^a-z0-9]+", "_", str(name).casefold()).strip("_")
    personal = personal_columns() if personal is None else personal
    if folded in {re.sub(r"[^a-z0-9]+", "_", p.casefold()) for p in personal}:
        return True
    parts = folded.split("_")
    return any(h in parts if "_" not in h else h in folded for h in PERSONAL_COLUMN_HINTS)


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
