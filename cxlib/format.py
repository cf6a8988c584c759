"""Numbers as text for a reader: the one formatter of tables, finding sentences and test readings.

Results in cxlib carry full precision; this module is the one place where numbers become text:
thousands separators, a fixed number of decimals, percentages, ``p < 0.001`` and confidence
intervals written ``1.2 to 7.0`` (a hyphen reads as a minus sign next to negative bounds).

**The p-value rule** (APA 2020, section 6.36): three decimals, ``p = 0.034``, ``p = 0.200``,
``p = 1.000``; below 0.001 ``p < 0.001``. It is used everywhere a p-value is printed (report
tables, the executive-summary sentences, the readings of :mod:`cxlib.significance`), so a
p-value reads the same in every part of the report. Rounding is to the nearest: 0.04996 prints
``p = 0.050`` although it is below 0.05; the verdict next to it ("significant at 5%") is
judged on the unrounded value.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .errors import ParameterError

__all__ = ["MISSING", "Currency", "CURRENCY_SYMBOLS", "as_currency", "decimals_for", "format_ci", "format_money",
           "format_number", "format_p", "format_percent", "format_significant", "is_missing"]

#: The mark for "not applicable" in a report table (an en dash).
MISSING = "–"
#: How far outside [0, 1] a p-value may stray by floating-point rounding before it is an error.
P_TOLERANCE = 1e-12


def is_missing(value: object) -> bool:
    """True for None, ``pd.NA``, ``pd.NaT`` and NaN.

    >>> is_missing(float("nan")), is_missing(None), is_missing(0.0)
    (True, True, False)
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, numbers.Real) and math.isnan(float(value))


def format_number(value: object, digits: int = 1, *, minus: str = "\u2212") -> str:
    """Format a number with thousands separators and ``digits`` decimals.

    Integers (Python or NumPy) keep no decimals; missing values (None, NaN) become an en dash;
    ``-0.0`` prints as ``0.0``.

    Parameters
    ----------
    value : number or None
        The value to format (anything else is returned as ``str(value)``).
    digits : int, default 1
        Decimals for non-integers; one decimal suits most CX metrics (NPS, CSAT, rates in percent).
    minus : str, default U+2212
        The minus sign: the true minus sign of typeset reports, or ``"-"`` for text that is parsed
        back (the executive-summary sentences).

    Examples
    --------
    >>> format_number(12345.678)
    '12,345.7'
    >>> format_number(1234567)
    '1,234,567'
    >>> format_number(-0.25, digits=2)
    '−0.25'
    >>> format_number(-0.25, digits=2, minus="-")
    '-0.25'
    >>> format_number(float("nan"))
    '–'
    """
    if is_missing(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        text = f"{int(value):,}"
    elif isinstance(value, numbers.Real):
        if math.isinf(float(value)):
            text = "∞" if value > 0 else "-∞"
        else:
            text = f"{float(value):,.{int(digits)}f}"
            if float(text.replace(",", "")) == 0:
                text = text.lstrip("-")  # no "-0.0"
    else:
        return str(value)
    return text.replace("-", minus)


def format_percent(value: object, digits: int = 1) -> str:
    """Format a proportion (0.123) as a percentage ("12.3%").

    Examples
    --------
    >>> format_percent(0.1234)
    '12.3%'
    >>> format_percent(None)
    '–'
    """
    if is_missing(value):
        return MISSING
    return format_number(float(value) * 100, digits) + "%"


def format_p(p: object, *, digits: int = 3, prefix: bool = True, missing: str = MISSING) -> str:
    """Format a p-value: ``p = 0.034``, ``p < 0.001`` (the rule of the module docstring).

    Parameters
    ----------
    p : float
        The p-value, in [0, 1].
    digits : int, default 3
        Decimals; values below ``10**-digits`` are written ``< 0.001``.
    prefix : bool, default True
        Write ``p = ``/``p < `` in front (False for a column headed "p").
    missing : str, default en dash
        Text for a missing p-value (``"no p-value"`` in a sentence).

    Raises
    ------
    ParameterError
        If ``p`` is outside [0, 1].

    References
    ----------
    American Psychological Association (2020). *Publication Manual*, 7th ed., section 6.36.

    Examples
    --------
    >>> format_p(0.03412)
    'p = 0.034'
    >>> format_p(0.00001)
    'p < 0.001'
    >>> format_p(0.2, prefix=False)
    '0.200'
    >>> format_p(float("nan")), format_p(None, missing="no p-value")
    ('–', 'no p-value')
    """
    if is_missing(p):
        return missing
    p = float(p)
    if not -P_TOLERANCE <= p <= 1.0 + P_TOLERANCE:
        raise ParameterError(f"A p-value must lie in [0, 1]; got {p!r}.")
    p = min(max(p, 0.0), 1.0)
    floor = 10.0 ** -digits
    if p < floor:
        text = f"< {floor:.{digits}f}"
        return f"p {text}" if prefix else text
    text = f"{p:.{digits}f}"
    return f"p = {text}" if prefix else text


def format_ci(lower: object, upper: object, digits: int = 1, *, percent: bool = False) -> str:
    """Format a confidence interval as ``"1.2 to 7.0"``.

    "to" is used instead of a dash so that negative bounds stay readable (``−3.1 to −0.4``).

    Examples
    --------
    >>> format_ci(1.234, 7.0)
    '1.2 to 7.0'
    >>> format_ci(-3.14, -0.4)
    '−3.1 to −0.4'
    >>> format_ci(0.02, 0.051, percent=True)
    '2.0% to 5.1%'
    >>> format_ci(float("nan"), 1.0)
    '–'
    """
    if is_missing(lower) or is_missing(upper):
        return MISSING
    fmt = format_percent if percent else format_number
    return f"{fmt(lower, digits)} to {fmt(upper, digits)}"


#: Symbols of common ISO 4217 currency codes; any other code prints as its code (``"1,234.50 SEK"``).
CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "CNY": "¥", "INR": "₹", "KRW": "₩",
                    "BRL": "R$", "AUD": "A$", "CAD": "C$", "NZD": "NZ$", "HKD": "HK$", "SGD": "S$", "MXN": "MX$",
                    "ILS": "₪", "TRY": "₺", "PLN": "zł", "RUB": "₽", "UAH": "₴", "VND": "₫", "NGN": "₦", "PHP": "₱",
                    "THB": "฿", "ZAR": "R"}


@dataclass(frozen=True)
class Currency:
    """The currency of the data's amounts: an ISO 4217 code and the symbol printed with numbers.

    ``symbol`` defaults to :data:`CURRENCY_SYMBOLS` (else the code itself, printed after the number).

    >>> Currency("GBP")
    Currency(code='GBP', symbol='£')
    >>> Currency("CHF").symbol
    'CHF'
    """

    code: str = "EUR"
    symbol: str = ""

    def __post_init__(self) -> None:
        code = str(self.code).strip().upper()
        if not (len(code) == 3 and code.isascii() and code.isalpha()):
            raise ParameterError(f"currency={self.code!r} is not an ISO 4217 code; expected three letters "
                                 "such as 'EUR', 'USD' or 'GBP'.")
        object.__setattr__(self, "code", code)
        symbol = str(self.symbol or "").strip() or CURRENCY_SYMBOLS.get(code, code)
        object.__setattr__(self, "symbol", symbol)


def as_currency(currency: Currency | str | None) -> Currency:
    """A :class:`Currency` from itself, an ISO code (``"USD"``) or None (the default, EUR).

    >>> as_currency("usd")
    Currency(code='USD', symbol='$')
    """
    if isinstance(currency, Currency):
        return currency
    return Currency() if currency is None else Currency(str(currency))


def format_money(value: object, currency: Currency | str | None = None, digits: int = 2, *,
                 minus: str = "\u2212") -> str:
    """An amount of money as text, with the data's currency: ``"€1,234.50"``, ``"−$12.00"``, ``"1,234.50 CHF"``.

    The hook every table, figure and sentence that prints money goes through, so a report prints the
    currency of its data (``cx.yml``: ``currency``, see :class:`cxlib.data.DataSettings`).

    Parameters
    ----------
    value : number or None
        The amount; missing values become an en dash.
    currency : Currency, str or None
        The currency (an ISO code or a :class:`Currency`); None: EUR, the synthetic data's.
    digits : int, default 2
        Decimals (cents); 0 for large totals.
    minus : str, default U+2212
        The minus sign (``"-"`` for text that is parsed back).

    Examples
    --------
    >>> format_money(1234.5, "EUR"), format_money(-12, "USD"), format_money(1234.7, "CHF", digits=0)
    ('€1,234.50', '−$12.00', '1,235 CHF')
    >>> format_money(float("nan"), "GBP"), format_money(3, Currency("SEK", "kr"))
    ('–', 'kr3.00')
    """
    if is_missing(value):
        return MISSING
    cur = as_currency(currency)
    amount = float(value)
    text = format_number(abs(amount), digits) if math.isfinite(amount) else format_number(amount)
    text = text if math.isfinite(amount) else text.lstrip("-" + minus)
    sign = minus if amount < 0 and text.strip("0.,") != "" else ""
    if cur.symbol == cur.code:  # no symbol: the code after the number
        return f"{sign}{text} {cur.code}"
    return f"{sign}{cur.symbol}{text}"


def format_significant(value: Any, digits: int = 3) -> str:
    """A number to ``digits`` significant digits for a plain-language reading (``"n/a"`` when missing).

    >>> format_significant(4.2), format_significant(1234.5), format_significant(float("nan"))
    ('4.2', '1.23e+03', 'n/a')
    >>> format_significant(1234.5, 6), format_significant(float("-inf"))
    ('1234.5', '-inf')
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{digits}g}"


def decimals_for(values: Iterable[float]) -> int:
    """Decimals to show for numbers of this magnitude (three significant digits, at least one decimal below 100).

    Integer-valued numbers keep no decimals; non-finite values are ignored.

    >>> decimals_for([4.1, 1.2, 7.0]), decimals_for([0.0123]), decimals_for([1204]), decimals_for([152.7])
    (1, 4, 0, 0)
    """
    vals = [abs(float(v)) for v in values if _finite(v)]
    if not vals or all(float(v).is_integer() for v in vals):
        return 0
    top = max(vals)
    if top >= 100:
        return 0
    if top >= 1:
        return 1
    if top == 0:
        return 1
    return max(1, 2 - math.floor(math.log10(top)))


def _finite(x: Any) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)
