"""Tests of cxlib.report.figures.show_figure."""
from __future__ import annotations

import base64

import pytest
from matplotlib.figure import Figure

from cxlib.errors import ParameterError
from cxlib.report.figures import show_figure


def _figure(title: str | None = None) -> Figure:
    fig = Figure(figsize=(3, 2))
    fig.subplots().plot([0, 1, 2], [2, 0, 1])
    if title:
        fig.suptitle(title)
    return fig


def test_bundle_is_a_png_with_size_and_alt():
    shown = show_figure(_figure("NPS by quarter"), dpi=50)
    data, meta = shown._repr_mimebundle_()
    assert set(data) == {"image/png", "text/plain"}
    assert base64.b64decode(data["image/png"]) == shown.png and shown.png[:8] == b"\x89PNG\r\n\x1a\n"
    assert data["text/plain"] == "NPS by quarter"
    assert meta == {"image/png": {"width": 150, "height": 100}}
    assert int.from_bytes(shown.png[16:20], "big") == 150  # IHDR width in pixels


def test_deterministic_and_alt_default():
    a, b = show_figure(_figure(), dpi=60), show_figure(_figure(), dpi=60)
    assert a.png == b.png and a.alt == "Figure"
    assert b"Software" not in a.png


@pytest.mark.parametrize("fig, dpi, message", [
    ("not a figure", 100, "expects a matplotlib Figure; got str"),
    (None, 100, "got NoneType"),
])
def test_rejects_non_figures(fig, dpi, message):
    with pytest.raises(ParameterError, match=message):
        show_figure(fig, dpi=dpi)


def test_rejects_bad_dpi():
    with pytest.raises(ParameterError, match="dpi=0 must be positive"):
        show_figure(_figure(), dpi=0)
