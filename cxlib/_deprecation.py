"""Deprecated aliases: old public names keep working for one release and warn.

A module that moved leaves a two-line stub at its old path whose ``__getattr__`` forwards every
name to the new home with a :class:`DeprecationWarning`; a renamed function or argument uses
:func:`renamed` / :func:`renamed_arguments` (or :func:`renamed_argument` on a ``**kwargs`` dict), a renamed
attribute :func:`renamed_attribute`, a renamed dataclass field :func:`renamed_fields`.  Nothing here runs at import time.
"""
from __future__ import annotations

import contextvars
import functools
import importlib
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["moved_module", "moved_names", "renamed", "renamed_argument", "renamed_arguments", "renamed_attribute",
           "renamed_fields", "split_running", "warn_deprecated"]

#: True while the library itself runs the deprecated ``segment=`` split of an analysis (inside
#: :func:`cxlib.stats.by_segment`, or inside the analysis' own split): that call does not warn.
split_running: contextvars.ContextVar[bool] = contextvars.ContextVar("cxlib_split_running", default=False)


def warn_deprecated(old: str, new: str, *, stacklevel: int = 3) -> None:
    """Warn that ``old`` is deprecated in favour of ``new`` (removed in the next release)."""
    warnings.warn(f"{old} is deprecated and will be removed in the next release; use {new} instead.",
                  DeprecationWarning, stacklevel=stacklevel)


def moved_names(old_module: str, new_module: str,
                names: Iterable[str] | Mapping[str, str] | None = None) -> Callable[[str], Any]:
    """A module ``__getattr__`` that forwards ``names`` (all public names if None) to ``new_module``.

    ``names`` may map an old name to its new name, for names renamed on the way.

    >>> getattr_ = moved_names("cxlib.old", "cxlib.errors", ["CxError"])
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     getattr_("CxError").__name__, w[0].category.__name__
    ('CxError', 'DeprecationWarning')
    """
    renamed_to = None if names is None else dict(names) if isinstance(names, Mapping) else {n: n for n in names}

    def __getattr__(name: str) -> Any:
        if name.startswith("__") or (renamed_to is not None and name not in renamed_to):
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}")
        new_name = name if renamed_to is None else renamed_to[name]
        target = importlib.import_module(new_module)
        try:
            value = getattr(target, new_name)
        except AttributeError:
            raise AttributeError(f"module {old_module!r} has no attribute {name!r}") from None
        warn_deprecated(f"{old_module}.{name}", f"{new_module}.{new_name}")
        return value

    return __getattr__


def moved_module(old_module: str, new_module: str) -> Callable[[str], Any]:
    """``__getattr__`` of a stub left at a moved module's old path (every public name forwards)."""
    return moved_names(old_module, new_module)


def renamed(old_name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A deprecated alias ``old_name`` of ``function`` that warns on every call."""

    @functools.wraps(function)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warn_deprecated(f"{old_name}()", f"{function.__module__}.{function.__qualname__}()")
        return function(*args, **kwargs)

    alias.__name__ = old_name
    alias.__doc__ = f"Deprecated alias of :func:`{function.__module__}.{function.__qualname__}`."
    return alias


def renamed_argument(kwargs: dict[str, Any], old: str, new: str, *, where: str) -> None:
    """Move a deprecated keyword ``old`` to ``new`` in ``kwargs`` (in place), warning; both given is an error."""
    if old not in kwargs:
        return
    from .errors import ParameterError

    if new in kwargs and kwargs[new] is not None:
        raise ParameterError(f"{where}: pass {new}= only ({old}= is its deprecated name).")
    warn_deprecated(f"{where}({old}=...)", f"{where}({new}=...)", stacklevel=4)
    kwargs[new] = kwargs.pop(old)


def renamed_arguments(**old_to_new: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: keyword arguments renamed ``old=new`` keep working for one release and warn.

    The wrapped function keeps its signature (``inspect.signature`` shows the new names only); its
    ``renamed_arguments`` attribute maps each old name to the new one.

    >>> @renamed_arguments(by="segment")
    ... def f(*, segment=None):
    ...     return segment
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     f(by="tier"), str(w[0].message)
    ('tier', 'f(by=...) is deprecated and will be removed in the next release; use f(segment=...) instead.')
    """

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        where = function.__qualname__

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in old_to_new.items():
                renamed_argument(kwargs, old, new, where=where)
            return function(*args, **kwargs)

        wrapper.renamed_arguments = dict(old_to_new)  # type: ignore[attr-defined]  (read by the tests)
        return wrapper

    return decorate


def renamed_attribute(old: str, new: str) -> property:
    """A read-only property ``old`` of a class that returns attribute ``new`` and warns (a renamed field).

    >>> class R:
    ...     segment = "gold"
    ...     group = renamed_attribute("group", "segment")
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     R().group, w[0].category.__name__
    ('gold', 'DeprecationWarning')
    """

    def get(self: Any) -> Any:
        name = type(self).__name__
        warn_deprecated(f"{name}.{old}", f"{name}.{new}")
        return getattr(self, new)

    return property(get, doc=f"Deprecated alias of ``{new}`` (removed in the next release).")


def renamed_fields(**old_to_new: str) -> Callable[[type], type]:
    """Class decorator (outside ``@dataclass``): fields renamed ``old=new`` keep working for one release.

    The old name still works as a constructor keyword (also through :func:`dataclasses.replace`) and as a
    read-only attribute; both warn.

    >>> from dataclasses import dataclass
    >>> @renamed_fields(group="segment")
    ... @dataclass(frozen=True)
    ... class R:
    ...     segment: str
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     R(group="gold").segment, R("gold").group, len(w)
    ('gold', 'gold', 2)
    """

    def decorate(cls: type) -> type:
        init = cls.__init__

        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            for old, new in old_to_new.items():
                renamed_argument(kwargs, old, new, where=cls.__name__)
            init(self, *args, **kwargs)

        cls.__init__ = __init__  # type: ignore[misc]
        for old, new in old_to_new.items():
            setattr(cls, old, renamed_attribute(old, new))
        return cls

    return decorate
