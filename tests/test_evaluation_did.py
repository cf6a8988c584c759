"""Tests of cxlib.evaluation.did: naive before/after, 2x2 and TWFE difference-in-differences."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from cxlib.errors import DataContractError, ParameterError, SmallSampleWarning
from cxlib.evaluation import EFFECT_COLUMNS, before_after, did
from cxlib.evaluation.simulate import simulate_panel

DATA = Path(__file__).parent / "data"
KW = dict(outcome="y", unit="unit", time="period", first_treated="first_treated")


@pytest.fixture(scope="module")
def prop99() -> pd.DataFrame:
    wide = pd.read_csv(DATA / "california_prop99.csv")
    long = wide.melt(id_vars="Year", var_name="state", value_name="packs")
    long["first_treated"] = np.where(long["state"] == "California", 1989.0, np.nan)
    return long


@pytest.mark.parametrize("design", ["twfe", "2x2"])
def test_prop99_did_matches_arkhangelsky_table1(prop99, design):
    # Arkhangelsky et al. (2021, AER), Table 1: DID estimate -27.3 packs per capita.
    with pytest.warns(SmallSampleWarning, match="1 treated"):
        res = did(prop99, outcome="packs", unit="state", time="Year", first_treated="first_treated", design=design)
    assert res.estimate == pytest.approx(-27.349, abs=0.001)
    assert round(res.estimate, 1) == -27.3
    assert (res.n_units, res.n_treated, res.n_periods, res.n_pre, res.n_post, res.n_obs) == (39, 1, 31, 19, 12, 1209)
    assert res.relative_estimate == pytest.approx(res.estimate / res.baseline)


def test_prop99_naive_is_twice_the_did(prop99):
    # California's own before/after difference also contains the nationwide decline in smoking.
    res = before_after(prop99, outcome="packs", unit="state", time="Year", first_treated="first_treated")
    ca = prop99[prop99.state == "California"]
    expected = ca[ca.Year >= 1989].packs.mean() - ca[ca.Year < 1989].packs.mean()
    assert res.estimate == pytest.approx(expected, rel=1e-12)
    assert res.estimate == pytest.approx(-55.86, abs=0.01)
    assert "Newey-West" in res.method and res.n_units == 1


def test_mississippi_banks_did_is_19():
    # Angrist & Pischke (2015), Mastering 'Metrics, Table 5.1: (121 - 135) - (132 - 165) = 19 banks.
    raw = pd.read_csv(DATA / "mississippi_banks.csv")
    july = raw[(raw.month == 7) & (raw.day == 1) & raw.year.isin([1930, 1931])]
    panel = pd.concat([pd.DataFrame({"district": "6", "year": july.year, "banks": july.bib6, "ft": 1931}),
                       pd.DataFrame({"district": "8", "year": july.year, "banks": july.bib8, "ft": np.nan})])
    assert sorted(panel.banks) == [121, 132, 135, 165]
    with pytest.warns(SmallSampleWarning):
        res = did(panel, outcome="banks", unit="district", time="year", first_treated="ft", design="2x2")
    assert res.estimate == pytest.approx(19.0, abs=1e-9)
    assert math.isnan(res.se) and math.isnan(res.p_value)  # two clusters: no standard error
    assert res.baseline == pytest.approx(121 - 19)


def test_twfe_matches_statsmodels_dummy_regression():
    panel, _ = simulate_panel(n_units=20, n_periods=8, rng=np.random.default_rng(4))
    res = did(panel, **KW)
    ref = smf.ols("y ~ treated + C(unit) + C(period)", data=panel).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(panel["unit"])[0]}, use_t=True)
    assert res.estimate == pytest.approx(ref.params["treated"], rel=1e-10)
    # statsmodels counts the 20 unit dummies in the CR1 factor (N-1)/(N-K); they are nested in the
    # clusters and are not counted here (as reghdfe/fixest): K = 1 + 1 + 7 instead of 28.
    n = len(panel)
    assert res.se == pytest.approx(ref.bse["treated"] * math.sqrt((n - ref.df_model - 1) / (n - 9)), rel=1e-8)
    assert res.dof == 19


def test_twfe_handles_unbalanced_panel_like_dummy_regression():
    panel, _ = simulate_panel(n_units=20, n_periods=8, rng=np.random.default_rng(5))
    panel = panel.drop(index=[3, 17, 40, 101]).reset_index(drop=True)
    res = did(panel, **KW)
    ref = smf.ols("y ~ treated + C(unit) + C(period)", data=panel).fit()
    assert res.estimate == pytest.approx(ref.params["treated"], rel=1e-8)
    assert res.n_obs == 156


def test_to_frame_has_the_shared_schema():
    panel, _ = simulate_panel(n_units=20, n_periods=8, rng=np.random.default_rng(6))
    frames = [before_after(panel, **KW).to_frame(), did(panel, **KW).to_frame(),
              did(panel, design="2x2", **KW).to_frame()]
    table = pd.concat(frames, ignore_index=True)
    assert list(table.columns) == list(EFFECT_COLUMNS)
    assert table["design"].tolist() == ["naive", "twfe", "did_2x2"]


def test_naive_is_biased_by_a_common_shock_while_did_covers_the_truth():
    panel, truth = simulate_panel(n_units=60, n_periods=12, effect=-0.2, shock=8.0, season_amplitude=0.0,
                                  rng=np.random.default_rng(8))
    naive, proper = before_after(panel, **KW), did(panel, **KW)
    assert proper.ci_lower < truth["att"] < proper.ci_upper
    assert proper.relative_ci_lower < -0.2 < proper.relative_ci_upper
    assert naive.estimate - truth["att"] == pytest.approx(8.0 + 0.1 * 6, abs=1.0)  # shock + trend
    assert not naive.ci_lower < truth["att"] < naive.ci_upper


def test_log_scale_recovers_a_multiplicative_effect_exactly_without_noise():
    t = np.arange(10)
    rows = []
    for i, level in enumerate([5.0, 10.0, 20.0, 40.0]):
        treated = i % 2 == 0
        season = 1 + 0.3 * np.sin(t)
        y = level * season * np.where(treated & (t >= 5), 0.7, 1.0)
        rows.append(pd.DataFrame({"unit": f"u{i}", "period": t, "y": y, "first_treated": 5.0 if treated else np.nan}))
    panel = pd.concat(rows, ignore_index=True)
    res = did(panel, scale="log", **KW)
    assert res.relative_estimate == pytest.approx(-0.3, abs=1e-12)
    assert "log" in res.method
    level = did(panel, scale="level", **KW)
    assert abs(level.relative_estimate + 0.3) > 0.01  # levels mis-state it when stores differ in size


def test_errors_name_the_problem():
    panel, _ = simulate_panel(n_units=10, n_periods=6, cohorts=[2, 4], rng=np.random.default_rng(9))
    with pytest.raises(ParameterError, match="2 different rollout periods"):
        did(panel, design="2x2", **KW)
    with pytest.raises(ParameterError, match="design='3x3' is not allowed"):
        did(panel, design="3x3", **KW)
    with pytest.raises(DataContractError, match="'sales' is not in the data"):
        did(panel, outcome="sales", unit="unit", time="period", first_treated="first_treated")
    with pytest.raises(ParameterError, match="more than one row"):
        did(pd.concat([panel, panel.head(1)]), **KW)
    broken = panel.copy()
    broken.loc[0, "y"] = np.nan
    with pytest.raises(DataContractError, match="1 missing"):
        did(broken, **KW)
    varying = panel.copy()
    varying.loc[varying.index[:2], "first_treated"] = [1.0, 2.0]
    with pytest.raises(DataContractError, match="constant within each unit"):
        did(varying, **KW)
    with pytest.raises(DataContractError, match="positive outcome"):
        did(panel.assign(y=panel.y - 1000), scale="log", **KW)
    with pytest.raises(ParameterError, match="alpha"):
        did(panel, alpha=1.5, **KW)


def test_false_positive_rate_and_coverage_over_seeds():
    """TWFE with cluster-robust SEs: 200 panels without effect reject at about alpha; with -20 % it covers."""
    reject, cover = [], []
    for seed in range(200):
        rng = np.random.default_rng(1000 + seed)
        null, _ = simulate_panel(n_units=30, n_periods=8, effect=0.0, rng=rng)
        reject.append(did(null, **KW).p_value < 0.05)
        panel, truth = simulate_panel(n_units=30, n_periods=8, effect=-0.2, rng=rng)
        res = did(panel, **KW)
        cover.append(res.relative_ci_lower < -0.2 < res.relative_ci_upper)
    assert 0.005 <= np.mean(reject) <= 0.09  # measured: 3.0 % over 400 seeds (CR1 is slightly conservative here)
    assert 0.90 <= np.mean(cover) <= 0.99  # measured: 93.5 % over 400 seeds


# --------------------------------------------------------------------------- a 0/1 treatment indicator

@pytest.mark.parametrize("design, cohorts", [("twfe", [4, 7]), ("2x2", None)])
def test_indicator_gives_the_first_treated_answer_and_says_so(design, cohorts):
    panel, _ = simulate_panel(n_units=30, n_periods=10, cohorts=cohorts, rng=np.random.default_rng(8))
    by_start = did(panel, design=design, **KW)
    indicator = panel.drop(columns="first_treated").sample(frac=1.0, random_state=3)  # rows in any order
    for column in (indicator["treated"], indicator["treated"].astype(bool)):
        res = did(indicator.assign(treated=column), outcome="y", unit="unit", time="period", treated="treated",
                  design=design)
        assert (res.estimate, res.se, res.n_pre, res.n_treated) == (by_start.estimate, by_start.se, by_start.n_pre,
                                                                   by_start.n_treated)
        assert res.method == by_start.method + ("; first treated period derived from the 0/1 indicator 'treated' "
                                                "(each unit's first period with treated == 1)")


def test_indicator_that_switches_off_is_refused():
    panel, _ = simulate_panel(n_units=20, n_periods=8, rng=np.random.default_rng(2))
    unit = panel.loc[panel["treated"] == 1, "unit"].iloc[0]
    off = panel.assign(treated=np.where((panel["unit"] == unit) & (panel["period"] == 7), 0, panel["treated"]))
    with pytest.raises(DataContractError, match=rf"switches off again in 1 unit-period\(s\), e.g. unit '{unit}': "
                                                r"1 in 6, 0 in 7") as info:
        did(off, outcome="y", unit="unit", time="period", treated="treated")
    assert info.value.column == "treated"


@pytest.mark.parametrize("values, match", [([0, 1, 2], r"must be 0 or 1.*\[2\]"), ([0, 1, None], "must be 0 or 1")])
def test_indicator_values_other_than_0_or_1_are_refused(values, match):
    panel, _ = simulate_panel(n_units=20, n_periods=8, rng=np.random.default_rng(2))
    bad = panel.assign(treated=panel["treated"].astype(object))
    bad.loc[bad.index[-3:], "treated"] = values
    with pytest.raises(DataContractError, match=match):
        did(bad, outcome="y", unit="unit", time="period", treated="treated")


def test_give_exactly_one_of_first_treated_and_treated():
    panel, _ = simulate_panel(n_units=20, n_periods=8, rng=np.random.default_rng(2))
    with pytest.raises(ParameterError, match="exactly one of first_treated="):
        did(panel, outcome="y", unit="unit", time="period")
    with pytest.raises(ParameterError, match="exactly one of first_treated="):
        did(panel, treated="treated", **KW)
    with pytest.raises(DataContractError, match="'dose' is not in the data"):
        did(panel, outcome="y", unit="unit", time="period", treated="dose")
