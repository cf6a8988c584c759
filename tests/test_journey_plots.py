"""Tests of cxlib.plots.journey: what each plot draws (patches, bar sizes, labels)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import PathPatch, Rectangle

from cxlib.errors import DataContractError, ParameterError
from cxlib.journey import attribute, from_paths, funnel, top_paths, transition_matrix
from cxlib.plots import journey as pj


@pytest.fixture(scope="module")
def js():
    return from_paths(pd.DataFrame({"path": ["a > b", "a > c", "b", "a > b > c"], "conversions": [30, 10, 5, 20],
                                    "nulls": [20, 30, 15, 5]}))


def test_path_flow_node_and_band_sizes(js):
    ax = pj.path_flow(top_paths(js, k=4))
    nodes = {p.get_gid(): p for p in ax.patches if isinstance(p, Rectangle) and (p.get_gid() or "").startswith("node")}
    bands = [p for p in ax.patches if isinstance(p, PathPatch)]
    total = 135
    assert nodes["node:0:a"].get_height() == pytest.approx(115 / total)
    assert nodes["node:0:b"].get_height() == pytest.approx(20 / total)
    assert nodes["node:1:b"].get_height() == pytest.approx(75 / total)
    # converted nodes: 'b' alone (col 1) 5, 'a > b' and 'a > c' (col 2) 40, 'a > b > c' (col 3) 20
    conv = sum(p.get_height() for g, p in nodes.items() if g.endswith(":converted"))
    assert conv == pytest.approx(65 / total)
    assert len(bands) == 3 + 2 * 4  # a->b, a->c, b->c, and two ends per path
    assert any("a\n115" == t.get_text() for t in ax.texts)


def test_path_flow_truncates_long_paths():
    long = pd.DataFrame({"path": ["a > b > c > d > e"], "journeys": [10], "conversions": [4]})
    ax = pj.path_flow(long, max_steps=3)
    gids = {p.get_gid() for p in ax.patches}
    assert "node:2:..." in gids and "node:3:converted" in gids
    with pytest.raises(DataContractError, match="no path"):
        pj.path_flow(pd.DataFrame({"path": ["(other)"], "journeys": [3], "conversions": [1]}))


def test_funnel_chart_bars_are_overall_rates(js):
    f = funnel(js, ["a", "b", "c"])
    ax = pj.funnel_chart(f)
    widths = [p.get_width() for p in ax.patches]
    assert widths == pytest.approx(f.to_frame()["overall_rate"].tolist())
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]


def test_transition_heatmap_image_is_the_matrix(js):
    tm = transition_matrix(js)
    ax = pj.transition_heatmap(tm)
    assert np.allclose(ax.images[0].get_array(), tm.probabilities.to_numpy())
    with pytest.raises(ParameterError):
        pj.transition_heatmap(pd.DataFrame())


def test_attribution_bars_with_intervals(js):
    res = attribute(js, n_boot=100, rng=np.random.default_rng(3))
    ax = pj.attribution_bars(res, methods=["markov", "linear"])
    t = res.to_frame()
    widths = sorted(p.get_width() for p in ax.patches)
    assert widths == pytest.approx(sorted(t[t.method.isin(["markov", "linear"])]["share"]))
    assert ax.get_legend() is not None and len(ax.get_legend().get_texts()) == 2
    with pytest.raises(ParameterError, match="value='lift'"):
        pj.attribution_bars(res, value="lift")


def test_conversion_incidence_draws_the_curves():
    from cxlib.journey import journeyize, time_to_convert

    t = pd.Timestamp("2025-01-01")
    rows = [(c, t, "search") for c in "abcde"] + [("a", t + pd.Timedelta(minutes=30), "purchase"),
                                                   ("b", t + pd.Timedelta(hours=2), "purchase"),
                                                   ("c", t + pd.Timedelta(minutes=10), "cart"),
                                                   ("f", t + pd.Timedelta(days=3), "search")]
    ttc = time_to_convert(journeyize(pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"]),
                                     gap="1D"))
    ax = pj.conversion_incidence(ttc, unit="h")
    lines = {ln.get_gid(): ln for ln in ax.get_lines()}
    conv = lines["conversion"]
    # d, e abandon at 0 with f (censored at 0) still at risk: S = 4/6, then c abandons (S = 4/9),
    # a converts (+ 4/9 * 1/2) and b converts (+ 2/9): 4/9; abandonment 2/6 + 4/6 * 1/3 = 5/9
    assert conv.get_ydata()[-1] == pytest.approx(4 / 9)
    assert lines["abandonment"].get_ydata()[-1] == pytest.approx(5 / 9)
    assert lines["conversion_share"].get_ydata()[0] == pytest.approx(0.4)  # 2 of the 5 finished journeys
    assert conv.get_xdata()[0] == pytest.approx(1 / 6)  # c leaves at 10 minutes; time 0 dropped on the log axis
    assert ax.get_xscale() == "log"
    with pytest.raises(ParameterError, match="unit='weeks'"):
        pj.conversion_incidence(ttc, unit="weeks")


def test_path_flow_interactive_has_the_static_nodes_and_bands(js):
    """The plotly Sankey carries exactly the nodes (sizes) and bands of the static figure."""
    paths = top_paths(js, k=4)
    ax = pj.path_flow(paths)
    fig = pj.path_flow_interactive(paths, title="flow")
    tr = fig.data[0]
    assert tr.type == "sankey" and fig.layout.title.text == "flow"
    labels, steps = list(tr.node.label), list(tr.node.customdata)
    src, dst, val = list(tr.link.source), list(tr.link.target), list(tr.link.value)
    bands = [p for p in ax.patches if isinstance(p, PathPatch)]
    assert len(val) == len(bands) == 3 + 2 * 4
    total = 135
    static = {p.get_gid(): p.get_height() * total for p in ax.patches
              if isinstance(p, Rectangle) and (p.get_gid() or "").startswith("node")}
    # a node's size is what flows into it (or, in step 1, out of it)
    size = {}
    for i, (lab, step) in enumerate(zip(labels, steps)):
        col = int(step.split()[1]) - 1
        inflow = sum(v for s, t, v in zip(src, dst, val) if t == i)
        outflow = sum(v for s, t, v in zip(src, dst, val) if s == i)
        size[f"node:{col}:{lab}"] = inflow if col > 0 else outflow
    assert size.keys() == static.keys()
    for gid, n in static.items():
        assert size[gid] == pytest.approx(n), gid
    assert sum(v for t, v in zip(dst, val) if labels[t] == "converted") == 65
    assert all(0 <= x <= 1 for x in tr.node.x) and all(0 <= y <= 1 for y in tr.node.y)
    # the steps are pinned left to right
    assert [x for x, s in zip(tr.node.x, steps) if s == "step 1"] == [pytest.approx(0.01)] * 2


def test_path_flow_interactive_errors():
    with pytest.raises(DataContractError, match="no path"):
        pj.path_flow_interactive(pd.DataFrame({"path": ["(other)"], "journeys": [3], "conversions": [1]}))
    with pytest.raises(DataContractError, match="conversions"):
        pj.path_flow_interactive(pd.DataFrame({"path": ["a"], "journeys": [3]}))
    with pytest.raises(ParameterError, match="max_steps=0"):
        pj.path_flow_interactive(pd.DataFrame({"path": ["a"], "journeys": [3], "conversions": [1]}), max_steps=0)


def test_path_flow_svg_has_the_static_bands_escapes_names_and_embeds_no_library():
    paths = pd.DataFrame({"path": ["a<b > c", "c"], "journeys": [10, 5], "conversions": [4, 0]})
    svg = pj.path_flow_svg(paths, title="Top <2> paths")
    static = pj.path_flow(paths).patches if hasattr(pj.path_flow(paths), "patches") else []
    bands = [p for p in static if (p.get_gid() or "").startswith("band:")]
    assert svg.count('class="band"') == len(bands) == 4
    assert "<title>a&lt;b → c: 10 journeys</title>" in svg and "Top &lt;2&gt; paths" in svg
    assert "<script" not in svg and len(svg) < 20_000
