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

from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.text import Text

from ..errors import ParameterError

__all__ = ["FigureDisplay", "MIN_FONT_PT", "PRINT_WIDTH", "literal_text", "print_ready", "show_figure"]

#: Width of the A4 text block in inches (21 cm minus 2 x 2 cm margins): a figure this wide prints at 100%.
PRINT_WIDTH = 6.7
#: The smallest text a printed figure may carry, in points.
MIN_FONT_PT = 8.0


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


def print_ready(fig: Figure, *, width: float = PRINT_WIDTH, min_font: float = MIN_FONT_PT) -> Figure:
    """Make ``fig`` readable in print: at most ``width`` inches wide, no text below ``min_font`` points.

    A wider figure is shrunk to ``width`` (aspect kept; its layout engine re-flows it), so that the
    report prints it at its own size; then every text (titles, labels, tick labels, legends,
    annotations) smaller than ``min_font`` is raised to it.  Changes ``fig`` in place and returns it.

    >>> fig = Figure(figsize=(11, 4), layout="constrained")
    >>> ax = fig.subplots()
    >>> _ = ax.set_title("t", fontsize=6)
    >>> _ = print_ready(fig)
    >>> [round(float(v), 2) for v in fig.get_size_inches()], ax.title.get_fontsize()
    ([6.7, 2.44], 8.0)
    """
    w, h = fig.get_size_inches()
    if w > width:
        fig.set_size_inches(width, h * width / w)
    for ax in fig.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            ticks = axis.get_major_ticks()
            if ticks and ticks[0].label1.get_fontsize() < min_font:
                ax.tick_params(axis=name, which="both", labelsize=min_font)
    for text in fig.findobj(Text):
        if text.get_text() and text.get_fontsize() < min_font:
            text.set_fontsize(min_font)
    return fig


def literal_text(fig: Figure) -> Figure:
    """Draw every text of ``fig`` as written: no matplotlib mathtext (``$...$``) anywhere in it.

    A segment label, store id or finding label from data may hold dollars (``"$$ big spenders"``);
    matplotlib would parse them as math and stop the figure with a ``ValueError``.  cxlib's figures
    never use math, so every text of the figure is made literal (``Text.set_parse_math(False)``),
    titles, labels, legends, annotations and tick labels alike (for text that does not pass through
    here, :func:`cxlib.escape.escape_mathtext` escapes one string).  Changes ``fig`` in place and
    returns it; tick labels matplotlib creates later are covered by drawing under
    ``rc_context({"text.parse_math": False})``, as :func:`show_figure` does.

    >>> fig = Figure()
    >>> _ = fig.subplots().set_title("$$ big spenders")
    >>> all(not t.get_parse_math() for t in literal_text(fig).findobj(Text))
    True
    """
    for text in fig.findobj(Text):
        text.set_parse_math(False)
    return fig


def show_figure(fig: Figure, *, dpi: int = 150, alt: str | None = None) -> FigureDisplay:
    """Render ``fig`` to a PNG display object (put it last in a cell, or ``display`` it).

    The figure is first made print-ready (:func:`print_ready`: at most the A4 text width, no text
    below 8 pt), so that what the PDF prints is what was drawn, and every text is drawn literally
    (:func:`literal_text`), so a label from data holding ``$`` never turns into math or an error.

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
    print_ready(fig)
    buf = io.BytesIO()
    with rc_context({"text.parse_math": False}):  # data labels are text, never math (see literal_text)
        literal_text(fig)
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    width, height = (int(round(v * dpi)) for v in fig.get_size_inches())
    title = fig._suptitle.get_text() if fig._suptitle is not None else ""
    return FigureDisplay(png=buf.getvalue(), alt=alt or title or "Figure", width=width, height=height)
