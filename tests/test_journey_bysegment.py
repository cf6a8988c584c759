"""Journey analyses by segment (issue 11): ``by_segment`` equals the analysis run on the segment's own events."""
from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

from cxlib.errors import DataContractError, ParameterError
from cxlib.journey import (BySegment, attribute, by_segment, directly_follows, fail_points, from_paths, journeyize,
                           path_lengths, segment_journeys, time_to_convert, top_paths, transition_matrix)

TPS = ["search", "product_page", "cart", "checkout", "purchase"]


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(7)
    rows = []
    t0 = pd.Timestamp("2025-01-01")
    for c in range(240):
        t = t0 + pd.Timedelta(hours=int(rng.integers(0, 2000)))
        for _ in range(int(rng.integers(1, 4))):  # journeys of the customer
            n = int(rng.integers(1, 6))
            for i in range(n):
                tp = TPS[min(i + int(rng.integers(0, 2)), 4)] if (c % 3 or i < 3 or c % 2) else TPS[min(i, 3)]
                rows.append((f"c{c}", t, tp))
                t += pd.Timedelta(minutes=int(rng.integers(1, 20)))
                if tp == "purchase":
                    break
            t += pd.Timedelta(days=int(rng.integers(1, 30)))
    events = pd.DataFrame(rows, columns=["customer_id", "timestamp", "touchpoint"])
    seg = pd.DataFrame({"customer_id": [f"c{c}" for c in range(230)],  # c230..c239 unlabelled
                        "tier": ["gold" if c % 3 == 0 else "basic" for c in range(230)]})
    return events, seg


def _own(events, seg, level, js):
    ids = set(seg.loc[seg.tier == level, "customer_id"]) if level != "(missing)" else \
        set(events.customer_id) - set(seg.customer_id)
    return journeyize(events[events.customer_id.isin(ids)], gap="1h", observation_end=js.observation_end)


CASES = {
    "top_paths": (top_paths, {"k": 5}),
    "path_lengths": (path_lengths, {}),
    "transition_matrix": (transition_matrix, {}),
    "directly_follows": (directly_follows, {}),
    "attribute": (attribute, {"n_boot": 20, "rng": 3}),
    "time_to_convert": (time_to_convert, {}),
    "fail_points": (fail_points, {}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_by_segment_equals_the_analysis_of_each_segment(world, name):
    events, seg = world
    js = journeyize(events, gap="1h")
    fn, kw = CASES[name]
    out = by_segment(fn, js, "tier", segments=seg, **kw)
    assert isinstance(out, BySegment) and out.segment == "tier"
    stacked = out.to_frame()
    assert stacked.columns[0] == "segment"
    assert sorted(stacked["segment"].unique()) == ["(missing)", "basic", "gold"]
    for level in ("(missing)", "basic", "gold"):
        own = fn(_own(events, seg, level, js), **kw)
        own = own if isinstance(own, pd.DataFrame) else own.to_frame()
        mine = stacked[stacked.segment == level].drop(columns="segment").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, own.reset_index(drop=True), check_dtype=False)
    assert out.segments == ["(missing)", "basic", "gold"] and out["gold"] is out.results["gold"]


def test_path_lengths_split_themselves_as_by_segment_does(world):
    events, seg = world
    js = journeyize(events, gap="1h")
    pd.testing.assert_frame_equal(path_lengths(js, segment="tier", segments=seg),
                                  by_segment(path_lengths, js, "tier", segments=seg).to_frame())


@pytest.mark.parametrize("name", ["top_paths", "attribute", "transition_matrix", "directly_follows",
                                  "time_to_convert", "fail_points"])
def test_old_by_keyword_still_splits_and_warns(world, name):
    """``top_paths(js, by=...)`` (and ``segment=``) keep returning the BySegment for one release, with a warning."""
    events, seg = world
    js = journeyize(events, gap="1h")
    fn, kw = CASES[name]
    assert "segment" not in inspect.signature(fn).parameters and "segments" not in inspect.signature(fn).parameters
    new = by_segment(fn, js, "tier", segments=seg, **kw).to_frame()
    for old in ("by", "segment"):
        with pytest.warns(DeprecationWarning, match=rf"{name}\({old}=\.\.\.\).*cxlib\.journey\.by_segment\({name}, "
                                                    r"journeys, segment=\.\.\., segments=\.\.\.\)"):
            res = fn(js, **{old: "tier"}, segments=seg, **kw)
        pd.testing.assert_frame_equal(res.to_frame(), new)


def test_journey_by_segment_old_keyword_and_old_field_warn(world):
    events, seg = world
    js = journeyize(events, gap="1h")
    with pytest.warns(DeprecationWarning, match=r"by_segment\(by=\.\.\.\)"):
        out = by_segment(top_paths, js, by="tier", segments=seg)
    with pytest.warns(DeprecationWarning, match=r"BySegment\.by is deprecated"):
        assert out.by == "tier"
    with pytest.warns(DeprecationWarning, match=r"segment_journeys\(by=\.\.\.\)"):
        assert sorted(segment_journeys(js, by="tier", segments=seg)) == ["(missing)", "basic", "gold"]


def test_segment_journeys_splits_every_journey_once(world):
    events, seg = world
    js = journeyize(events, gap="1h")
    parts = segment_journeys(js, "tier", seg)
    assert sum(p.n_journeys for p in parts.values()) == js.n_journeys
    assert sum(p.n_events for p in parts.values()) == js.n_events
    with pytest.raises(ParameterError, match="needs segments="):
        by_segment(top_paths, js, segment="tier")
    never = seg.assign(tier=np.where(seg.customer_id.isin(events.loc[events.touchpoint == "purchase", "customer_id"]),
                                     "buyers", "browsers"))
    with pytest.raises(DataContractError, match="Segment tier='browsers'"):
        by_segment(attribute, js, n_boot=0, segment="tier", segments=never)


def test_path_counts_by_a_journey_column():
    js = from_paths(pd.DataFrame({"path": ["a > b", "b", "a > a"], "conversions": [6, 1, 2], "nulls": [2, 3, 0]}))
    out = path_lengths(js, segment="outcome")
    assert out.columns[0] == "segment" and set(out.segment) == {"abandonment", "conversion"}
    assert out.groupby("segment")["journeys"].sum().to_dict() == {"abandonment": 5, "conversion": 9}
