"""Showing object-API figures in a notebook: :func:`show_figure`.

A ``matplotlib.figure.Figure`` built with the object API (as cxlib's plots
are) has no PNG representation in a kernel until ``matplotlib.pyplot`` has been
imported somewhere (that import is what switches on IPython's inline figure
formatter).  Left as the last expression of a cell it may therefore come out as
``<Figure size 300x200 with 1 Axes>`` in the report.  :func:`show_figure`
makes the PNG itself, deterministically (no "Software" stamp, fixed dpi), so
every figure reaches Quarto and pandoc the same way.
"""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from matplotlib.figure import Figure

from ..errors import ParameterError

__all__ = ["FigureDisplay", "show_figure"]


@dataclass(frozen=True)
class FigureDisplay:
    """A rendered figure that IPython displays as a PNG.

    Attributes
    ----------
    png : bytes
        The PNG file.
    alt : str
        Alternative text (``text/plain``), for screen readers and plain-text front ends.
    width, height : int
        Size in pixels.
    """

    png: bytes
    alt: str
    width: int
    height: int

    def _repr_mimebundle_(self, include=None, exclude=None) -> tuple[dict, dict]:
        data = {"image/png": base64.b64encode(self.png).decode("ascii"), "text/plain": self.alt}
        return data, {"image/png": {"width": self.width, "height": self.height}}

    def _repr_png_(self) -> bytes:
        return self.png


def show_figure(fig: Figure, *, dpi: int = 150, alt: str | None = None) -> FigureDisplay:
    """Render ``fig`` to a PNG display object (put it last in a cell, or ``display`` it).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (``ax.figure`` for an Axes returned by ``cxlib.plots``).
    dpi : int, default 150
        Resolution; 150 dpi is sharp on screen and in an A4 PDF without bloating the HTML.
    alt : str, optional
        Alternative text; default: the figure's suptitle, else "Figure".

    Returns
    -------
    FigureDisplay

    Raises
    ------
    ParameterError
        If ``fig`` is not a matplotlib Figure or ``dpi`` is not positive.

    Examples
    --------
    >>> fig = Figure(figsize=(2, 1))
    >>> _ = fig.subplots().plot([0, 1], [0, 1])
    >>> shown = show_figure(fig, dpi=100, alt="A line")
    >>> shown.png[:4], (shown.width, shown.height) == (200, 100)
    (b'\\x89PNG', True)
    >>> show_figure(fig, dpi=100).png == shown.png  # deterministic
    True
    """
    if not isinstance(fig, Figure):
        raise ParameterError(f"show_figure expects a matplotlib Figure; got {type(fig).__name__} "
                             "(for an Axes pass ax.figure).")
    if dpi <= 0:
        raise ParameterError(f"dpi={dpi!r} must be positive.")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    width, height = (int(round(v * dpi)) for v in fig.get_size_inches())
    title = fig._suptitle.get_text() if fig._suptitle is not None else ""
    return FigureDisplay(png=buf.getvalue(), alt=alt or title or "Figure", width=width, height=height)
