"""Suite-wide settings: every test runs on synthetic data."""
from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True, scope="session")
def _synthetic_demo_data_for_shared_fixtures() -> Iterator[None]:
    """The same mark for module- and session-scoped fixtures (they are set up before function-scoped ones)."""
    old = os.environ.get("CX_DEMO_DATA")
    os.environ["CX_DEMO_DATA"] = "1"
    yield
    if old is None:
        os.environ.pop("CX_DEMO_DATA", None)
    else:
        os.environ["CX_DEMO_DATA"] = old


@pytest.fixture(autouse=True)
def _synthetic_demo_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's data are synthetic: pseudonyms may fall back to the marked demo key (``cxlib.privacy.DEMO_ENV``).

    Without ``CX_PSEUDONYM_KEY`` and this mark, :func:`cxlib.privacy.pseudonymize` stops with
    ``PseudonymKeyError``, as it does on real data; tests of that path remove the mark themselves.
    """
    monkeypatch.setenv("CX_DEMO_DATA", "1")


def _quarto() -> str | None:
    """The Quarto the report would use (``$QUARTO``, else ``quarto`` on PATH), or None."""
    import shutil

    from cxlib.errors import CxError
    from cxlib.report.quarto import find_quarto

    try:
        return find_quarto()
    except CxError:  # $QUARTO names no executable: the renderer tests of the Quarto route say so when they run
        return shutil.which("quarto")


#: The Quarto executable of this machine, or None (CI has none).
QUARTO = _quarto()
#: Why the Quarto half of the render tests is skipped (shown by ``pytest -rs``).
QUARTO_MISSING = ("quarto not on PATH: Quarto is not installed here (CI has none), so only the pandoc + Typst "
                  "fallback is rendered; put Quarto's bin/ on PATH (or set QUARTO=/path/to/quarto) to test both")


@pytest.fixture(scope="session", params=["pandoc", pytest.param(
    "quarto", marks=pytest.mark.skipif(QUARTO is None, reason=QUARTO_MISSING))])
def renderer(request: pytest.FixtureRequest) -> str:
    """The report's two rendering routes, ``"pandoc"`` (pandoc + Typst from PyPI) and ``"quarto"``.

    Every render test takes this fixture, so it runs on both routes where Quarto is installed,
    and its Quarto half is skipped with :data:`QUARTO_MISSING` where it is not.
    """
    return request.param


@pytest.fixture(scope="session")
def quarto() -> str:
    """The Quarto executable; skips the test (with :data:`QUARTO_MISSING`) where there is none."""
    if QUARTO is None:
        pytest.skip(QUARTO_MISSING)
    return QUARTO


@pytest.fixture(scope="session")
def render_helpers():
    """``tests/test_render.py`` as a module: its notebook builder and its readers of rendered reports."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_cx_test_render", Path(__file__).with_name("test_render.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
