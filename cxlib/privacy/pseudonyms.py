"""Pseudonyms: customer ids replaced by keyed hashes (HMAC-SHA256) with the project secret.

See :mod:`cxlib.privacy`.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import warnings
from collections.abc import Sequence

import pandas as pd

from ..errors import CxError, CxWarning, ParameterError
from .redaction import _missing

__all__ = ["PSEUDONYM_ENV", "DEMO_ENV", "DEMO_KEY", "PseudonymKeyWarning", "PseudonymKeyError", "pseudonym_key",
           "pseudonymize", "pseudonymize_frame"]

#: Environment variable holding the project secret for pseudonyms.
PSEUDONYM_ENV = "CX_PSEUDONYM_KEY"
#: Environment variable that marks the data as the synthetic demo (``"1"``): only then may pseudonyms use
#: :data:`DEMO_KEY` when the secret is missing.  The report runner and ``cx actions`` set it for a data
#: folder written by ``cx synth``; never set it for real customers.
DEMO_ENV = "CX_DEMO_DATA"
#: The fixed key of the synthetic demo data (with a :class:`PseudonymKeyWarning`).  It is in the source
#: code, so pseudonyms made with it can be reversed by anyone holding the raw ids: for the demo only.
DEMO_KEY = "cxlib-public-fallback-key-NOT-SECRET"

_MISSING_KEY = (f"Customer pseudonyms need the project secret: the environment variable {PSEUDONYM_ENV} is not set. "
                f"Set it to a long random secret before working on real customers, e.g. `export {PSEUDONYM_ENV}="
                "$(python -c 'import secrets; print(secrets.token_hex(32))')`, and keep it safe: the CRM team "
                "re-identifies customers with the same key. Only the synthetic demo data (a `cx synth` folder) "
                "may run without it.")


class PseudonymKeyWarning(CxWarning):
    """No project secret for pseudonyms on the synthetic demo data: the fixed demo key was used."""


class PseudonymKeyError(CxError):
    """No project secret for pseudonyms on data that is not the synthetic demo: nothing is pseudonymized."""


def pseudonym_key(*, demo: bool | None = None) -> bytes:
    """The pseudonym secret: ``CX_PSEUDONYM_KEY``; without it the demo key on demo data, else an error.

    Parameters
    ----------
    demo : bool, optional
        Whether the data are the synthetic demo; ``None`` reads :data:`DEMO_ENV` (``"1"``: demo).

    Raises
    ------
    PseudonymKeyError
        The secret is missing and the data are not the demo; the message says how to set one.

    Warns
    -----
    PseudonymKeyWarning
        The secret is missing on the demo data: :data:`DEMO_KEY` was used.
    """
    key = os.environ.get(PSEUDONYM_ENV, "")
    if key:
        return key.encode("utf-8")
    if demo is None:
        demo = os.environ.get(DEMO_ENV, "") == "1"
    if not demo:
        raise PseudonymKeyError(_MISSING_KEY)
    warnings.warn(
        f"Environment variable {PSEUDONYM_ENV} is not set: on the synthetic demo data customer pseudonyms use the "
        f"fixed demo key (public fallback key, cxlib.privacy.DEMO_KEY), so anyone with the raw ids can recompute "
        f"them. Set {PSEUDONYM_ENV} to a long random secret before producing reports on real customers.",
        PseudonymKeyWarning, stacklevel=3)
    return DEMO_KEY.encode("utf-8")


def pseudonymize(ids: pd.Series | Sequence[object], *, prefix: str = "P", length: int = 16,
                 demo: bool | None = None) -> pd.Series:
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
    demo : bool, optional
        Whether the ids are the synthetic demo's (see :func:`pseudonym_key`); ``None`` reads ``CX_DEMO_DATA``.

    Returns
    -------
    pandas.Series
        Pseudonyms, same index as ``ids``; the same id always gets the same pseudonym under the
        same key, so tables stay joinable.

    Raises
    ------
    ParameterError
        ``length`` outside 8..64, or two different ids hashing to the same pseudonym.
    PseudonymKeyError
        ``CX_PSEUDONYM_KEY`` is unset and the data are not the synthetic demo.

    Warns
    -----
    PseudonymKeyWarning
        ``CX_PSEUDONYM_KEY`` is unset on the demo data and the public :data:`DEMO_KEY` was used.

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
    key = pseudonym_key(demo=demo)
    uniques = pd.unique(series.dropna().astype(str))
    mapping = {u: prefix + hmac.new(key, u.encode("utf-8"), hashlib.sha256).hexdigest()[:length] for u in uniques}
    if len(set(mapping.values())) < len(mapping):
        raise ParameterError(f"Pseudonym collision among {len(mapping):,} ids at length={length}; "
                             "use a longer length.")
    return series.map(lambda v: None if _missing(v) else mapping[str(v)]).astype(object).rename(series.name)


def pseudonymize_frame(frame: pd.DataFrame, *, columns: Sequence[str] = ("customer_id",), prefix: str = "P",
                       length: int = 16, demo: bool | None = None) -> pd.DataFrame:
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
            out[col] = pseudonymize(out[col], prefix=prefix, length=length, demo=demo)
    return out
