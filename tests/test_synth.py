"""Tests of cxlib.synth: the synthetic CX world conforms to the contract and its truth is in the data.

Statistical checks compare the data with the planted truth within sampling
error (|z| < 4 unless said otherwise), on small worlds generated once per module.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from scipy import special

from cxlib.cli import main
from cxlib.errors import ParameterError
from cxlib.schema import TABLES
from cxlib.synth import SynthConfig, generate

SEED = 20261123
N_SMALL = 3000
N_LARGE = 20_000
ARROW_KIND = {"string": pa.types.is_string, "int": pa.types.is_int64, "float": pa.types.is_float64,
              "bool": pa.types.is_boolean, "timestamp": pa.types.is_timestamp, "date": pa.types.is_date32}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth") / "small"
    truth = generate(folder, n_customers=N_SMALL, seed=SEED, chunk_customers=1000)
    return folder, truth


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth") / "large"
    truth = generate(folder, n_customers=N_LARGE, seed=SEED + 1, chunk_customers=10_000)
    return folder, truth


def read(folder: Path, table: str) -> pd.DataFrame:
    df = pd.read_parquet(folder / f"{table}.parquet")
    for c in df.columns:
        if c.endswith("_date"):
            df[c] = pd.to_datetime(df[c])
    return df


def z(observed: float, expected: float, se: float) -> float:
    return (observed - expected) / se


# ---------------------------------------------------------------- the contract

@pytest.mark.parametrize("table", list(TABLES))
def test_table_conforms_to_contract(small, table):
    folder, truth = small
    spec = TABLES[table]
    arrow = pq.read_table(folder / f"{table}.parquet")
    assert arrow.column_names == spec.column_names
    assert arrow.num_rows > 0
    assert arrow.num_rows == truth["sizes"]["rows"][table]
    df = arrow.to_pandas()
    for col in spec.columns:
        assert ARROW_KIND[col.kind](arrow.schema.field(col.name).type), (table, col.name)
        values = df[col.name]
        if not col.nullable:
            assert values.notna().all(), (table, col.name)
        present = values.dropna()
        if col.levels:  # the synthetic world keeps to the contract's usual values
            assert set(present) <= set(col.levels), (table, col.name, set(present) - set(col.levels))
        if col.min is not None:
            assert (present >= col.min).all(), (table, col.name)
        if col.max is not None:
            assert (present <= col.max).all(), (table, col.name)
    assert not df.duplicated(list(spec.key)).any()
    for first, second in spec.ordered:
        both = df[[first, second]].dropna()
        assert (pd.to_datetime(both[first]) <= pd.to_datetime(both[second])).all(), (first, second)


def test_foreign_keys_and_row_rules(small):
    folder, _ = small
    tables = {t: read(folder, t) for t in TABLES}
    for spec in TABLES.values():
        for col in spec.columns:
            if col.references:
                ref_table, ref_col = col.references.split(".")
                present = tables[spec.name][col.name].dropna()
                assert present.isin(tables[ref_table][ref_col]).all(), (spec.name, col.name)
    tx = tables["transactions"]
    assert (tx["returned_items"] <= tx["items"]).all()
    sr = tables["survey_responses"]
    assert sr[["nps", "csat", "ces"]].notna().any(axis=1).all()
    # ids are deterministic, sequential and unique across chunks
    assert tables["customers"].customer_id.iloc[[0, -1]].tolist() == ["C0000001", f"C{N_SMALL:07d}"]
    assert tx.transaction_id.is_monotonic_increasing and tables["events"].event_id.is_monotonic_increasing


def test_lead_loader_accepts_the_output(small):
    data = pytest.importorskip("cxlib.data", reason="cxlib.data.load (the lead's loader) is not available")
    folder, truth = small
    ds = data.load(folder)
    assert (ds.validation["status"] == "valid").all()
    assert dict(zip(ds.validation["table"], ds.validation["rows"])) == {
        t: truth["sizes"]["rows"][t] for t in TABLES}


def test_rollout_design(small):
    folder, truth = small
    rollout = read(folder, "program_rollout")
    units = read(folder, "units")
    assert units.unit_id.tolist() == [f"S{i:02d}" for i in range(1, 25)]
    assert rollout.program.unique().tolist() == ["cx_program"]
    assert rollout.groupby("wave").rollout_date.first().dt.strftime("%Y-%m-%d").tolist() == [
        "2024-10-01", "2025-01-01", "2025-04-01"]
    assert rollout.wave.value_counts().sort_index().tolist() == [6, 6, 6]
    assert len(truth["units"]["never_treated"]) == 6
    assert set(truth["units"]["never_treated"]).isdisjoint(rollout.unit_id)
    assert truth["shock"]["date"] == "2025-06-01"


# ---------------------------------------------------------------- determinism and files

def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes_other_seed_other_data(small, tmp_path):
    folder, _ = small
    again = tmp_path / "again"
    generate(again, n_customers=N_SMALL, seed=SEED, chunk_customers=1000)
    assert _hashes(again) == _hashes(folder)
    other = tmp_path / "other"
    generate(other, n_customers=N_SMALL, seed=SEED + 7, chunk_customers=1000)
    h1, h2 = _hashes(folder), _hashes(other)
    assert all(h1[name] != h2[name] for name in h1)


def test_truth_json_is_sorted_and_complete(small):
    folder, truth = small
    text = (folder / "truth.json").read_text(encoding="utf-8")
    assert json.loads(text) == truth
    assert text == json.dumps(truth, sort_keys=True, indent=1, allow_nan=False) + "\n"
    assert truth["generator"] == {"name": "cxlib.synth", "version": "1.0.0"}
    assert truth["seed"] == SEED and truth["sizes"]["customers"] == N_SMALL
    assert truth["window"]["start"] == "2024-01-01" and truth["window"]["end"] == "2025-12-31"
    effects = truth["program_effects"]
    assert [effects[k]["relative_effect"] for k in ("purchase_frequency", "return_rate", "out_of_stock_rate",
                                                    "complaint_rate")] == [1.2, 0.75, 0.6, 0.7]
    assert truth["bgnbd"]["exact_window"]["end"] == "2024-10-01"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [f"{t}.parquet" for t in TABLES] + ["truth.json", "truth_pii.parquet", "truth_segments.parquet"])


# ---------------------------------------------------------------- purchases

def _bgnbd_mean(t, r, alpha, a, b):
    """E[X(t)] of BG/NBD, Fader, Hardie & Lee (2005) eq. 9 (written here independently of cxlib)."""
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1,
                                                                                       t / (alpha + t)))


@pytest.mark.parametrize("window", ["exact_window", "exact_window_never_treated"])
def test_repeat_purchases_match_bgnbd_in_the_exact_window(small, window):
    folder, truth = small
    bg = truth["bgnbd"]
    end = pd.Timestamp(bg[window]["end"])
    seg = read(folder, "truth_segments").set_index("customer_id")
    cust = read(folder, "customers").set_index("customer_id")
    who = seg.birth_at < end
    if window == "exact_window_never_treated":
        who &= cust.home_unit_id.isin(truth["units"]["never_treated"]).reindex(seg.index)
    tx = read(folder, "transactions")
    in_window = tx[tx.timestamp < end].groupby("customer_id").size().reindex(seg.index[who], fill_value=0) - 1
    t_weeks = (end - seg.birth_at[who]).dt.total_seconds() / (7 * 86400)
    expected = _bgnbd_mean(t_weeks.to_numpy(), bg["r"], bg["alpha"], bg["a"], bg["b"])
    assert in_window.min() >= 0 and who.sum() == bg[window]["n_customers"] > 300
    assert expected.sum() == pytest.approx(bg[window]["expected_repeat_purchases"], rel=1e-9)
    assert in_window.sum() == bg[window]["observed_repeat_purchases"]
    assert abs(z(in_window.mean(), expected.mean(), in_window.std() / np.sqrt(len(in_window)))) < 4


def test_spend_matches_gamma_gamma(small):
    folder, truth = small
    gg = truth["gamma_gamma"]
    assert gg["mean_spend"] == pytest.approx(gg["p"] * gg["gamma"] / (gg["q"] - 1))
    seg = read(folder, "truth_segments").set_index("customer_id")
    tx = read(folder, "transactions")
    nu = seg.nu.reindex(tx.customer_id).to_numpy()
    cond_mean = gg["p"] / nu  # E[amount | nu]
    se = np.sqrt(np.sum(gg["p"] / nu**2)) / len(tx)  # Var[amount | nu] = p / nu^2
    assert abs(z(tx.amount.mean(), cond_mean.mean(), se)) < 4
    spend = seg.expected_spend
    assert abs(z(spend.mean(), gg["mean_spend"], spend.std() / np.sqrt(len(spend)))) < 4
    assert np.allclose(spend, gg["p"] / seg.nu)


def test_segments_follow_their_rule(small):
    folder, truth = small
    seg = read(folder, "truth_segments")
    s = truth["segments"]
    rule = np.where(seg.lambda_per_week < s["lambda_median_per_week"], "occasional",
                    np.where(seg.nu >= s["nu_median"], "regular", "high_value"))
    assert (seg.segment == rule).all()
    assert seg.segment.value_counts().to_dict() == s["counts"]
    shares = seg.segment.value_counts(normalize=True)
    assert shares["occasional"] == pytest.approx(0.5, abs=0.04)


# ---------------------------------------------------------------- subscriptions

def _subscription_covariates(folder: Path, truth: dict) -> pd.DataFrame:
    """Covariates rebuilt from the tables with the coding documented in truth.json."""
    subs = read(folder, "subscriptions")
    sr = read(folder, "survey_responses")
    onb = sr[sr.touchpoint == "onboarding"].merge(subs[["customer_id", "start_date"]], on="customer_id")
    assert (onb.responded_at.dt.normalize() == onb.start_date).all()
    detractors = set(onb.customer_id[onb.nps <= 6])
    tk = read(folder, "tickets").merge(subs[["customer_id", "start_date"]], on="customer_id")
    open_at_start = (tk.opened_at < tk.start_date) & (tk.resolved_at.isna() | (tk.resolved_at >= tk.start_date))
    with_ticket = set(tk.customer_id[open_at_start])
    end = pd.Timestamp(truth["window"]["end"])
    return subs.assign(
        detractor=subs.customer_id.isin(detractors).astype(int),
        unresolved_ticket=subs.customer_id.isin(with_ticket).astype(int),
        plan_plus=(subs.plan == "plus").astype(int), plan_premium=(subs.plan == "premium").astype(int),
        follow_up=(end - subs.start_date).dt.days + 1,
        event=subs.end_date.notna().astype(int),
        duration=np.where(subs.end_date.notna(), (subs.end_date - subs.start_date).dt.days + 0.5,
                          (end - subs.start_date).dt.days + 1))


def test_churn_share_matches_weibull_ph(small):
    folder, truth = small
    st = truth["subscriptions"]
    df = _subscription_covariates(folder, truth)
    assert {k: int(df[k].sum()) for k in st["covariates"]} == st["covariate_counts"]
    beta = np.array([st["log_hazard_ratios"][k] for k in st["covariates"]])
    eta = df[st["covariates"]].to_numpy(float) @ beta
    w = st["weibull"]
    p_end = 1 - np.exp(-((df.follow_up / w["scale_days"]) ** w["shape"]) * np.exp(eta))
    assert p_end.sum() == pytest.approx(st["expected_ended"], rel=1e-9)
    assert df.event.sum() == st["observed_ended"]
    assert abs(z(df.event.sum(), p_end.sum(), np.sqrt(np.sum(p_end * (1 - p_end))))) < 4
    assert len(df) / N_SMALL == pytest.approx(0.5, abs=0.03)


def test_cox_recovers_hazard_ratios(small):
    lifelines = pytest.importorskip("lifelines", reason="lifelines is the Cox oracle")
    folder, truth = small
    st = truth["subscriptions"]
    df = _subscription_covariates(folder, truth)
    cph = lifelines.CoxPHFitter(alpha=0.01).fit(df[[*st["covariates"], "duration", "event"]],
                                                duration_col="duration", event_col="event")
    ci = cph.confidence_intervals_
    for k in st["covariates"]:
        assert ci.loc[k].iloc[0] < st["log_hazard_ratios"][k] < ci.loc[k].iloc[1], (k, ci.loc[k].tolist())
    assert cph.params_["detractor"] > 0.2 and cph.params_["plan_premium"] < -0.1


# ---------------------------------------------------------------- journeys

def _journeys(folder: Path) -> pd.DataFrame:
    ev = read(folder, "events")
    return ev.sort_values(["journey_id", "timestamp", "event_id"], kind="stable")


def test_transition_frequencies_match_the_chain(small):
    folder, truth = small
    jt = truth["journeys"]
    states = jt["states"]
    P = np.array(jt["transition_matrix"])
    assert np.allclose(P.sum(axis=1), 1.0)
    ev = _journeys(folder)
    nxt = ev.touchpoint.shift(-1).where(ev.journey_id.shift(-1) == ev.journey_id)
    src = ev[ev.touchpoint != "purchase"]
    dst = nxt[src.index].fillna("abandon")
    counts = pd.crosstab(src.touchpoint, dst).reindex(index=states[:-2], columns=states, fill_value=0)
    n = counts.sum(axis=1).to_numpy()[:, None]
    expected = P[: len(states) - 2]
    se = np.sqrt(expected * (1 - expected) / n) + 1e-12
    zmax = np.max(np.abs(counts.to_numpy() / n - expected) / np.where(expected > 0, se, 1.0))
    assert zmax < 4.5
    assert counts.to_numpy()[expected == 0].sum() == 0  # impossible transitions never happen
    first = ev.groupby("journey_id").touchpoint.first().value_counts(normalize=True)
    for state, p in jt["start_distribution"].items():
        assert first.get(state, 0.0) == pytest.approx(p, abs=0.015)


def test_removal_effects_match_the_journeys(small):
    folder, truth = small
    jt = truth["journeys"]
    ev = _journeys(folder)
    visits = pd.crosstab(ev.journey_id, ev.touchpoint) > 0
    conv = visits["purchase"]
    assert conv.mean() == pytest.approx(jt["conversion_probability"], abs=4 * np.sqrt(0.19 * 0.81 / len(conv)))
    empirical = {k: 1 - (conv & ~visits[k]).mean() / conv.mean() for k in jt["removal_effects"]}
    for k, exact in jt["removal_effects"].items():
        assert empirical[k] == pytest.approx(exact, abs=4 * np.sqrt(exact * (1 - exact) / conv.sum()) + 1e-9), k
    ranked = sorted(empirical, key=lambda k: -empirical[k])
    assert ranked[:3] == jt["removal_ranking"][:3]
    rho = pd.Series(empirical).rank().corr(pd.Series(jt["removal_effects"]).rank())
    assert rho > 0.9
    # the fail touchpoint is where journeys die: the highest abandonment, in truth and in the data
    ab = jt["abandonment_probability"]
    assert max(ab, key=ab.get) == jt["fail_touchpoint"] == "fitting_room_wait"
    last = ev.groupby("journey_id").touchpoint.last()
    reached = ev.groupby("touchpoint").size()
    empirical_ab = (last[last != "purchase"].value_counts() / reached).dropna()
    assert empirical_ab.idxmax() == "fitting_room_wait"


# ---------------------------------------------------------------- panel metrics (difference in differences)

def _twfe(panel: pd.DataFrame, outcome: str, exposure: str) -> tuple[float, float]:
    """Poisson two-way fixed effects: log E[y] = log(exposure) + unit + month + beta * treated_post."""
    sm = pytest.importorskip("statsmodels.api", reason="statsmodels fits the DiD")
    panel = panel[panel[exposure] > 0]
    X = pd.get_dummies(panel[["unit", "month"]].astype(str), drop_first=True).astype(float)
    X.insert(0, "treated_post", panel.treated_post.astype(float))
    X.insert(0, "const", 1.0)
    fit = sm.GLM(panel[outcome].to_numpy(float), X.to_numpy(), family=sm.families.Poisson(),
                 offset=np.log(panel[exposure].to_numpy(float))).fit(scale="X2")
    return float(fit.params[1]), float(fit.bse[1])


def _rollout(folder: Path) -> pd.Series:
    return read(folder, "program_rollout").set_index("unit_id").rollout_date


def _customers_at_month_start(folder: Path) -> pd.DataFrame:
    cust = read(folder, "customers")
    months = pd.period_range("2024-01", "2025-12", freq="M")
    rows = [cust[cust.signup_date < m.start_time].groupby("home_unit_id").size().rename(str(m)) for m in months]
    return pd.concat(rows, axis=1).fillna(0).stack().rename("customers").rename_axis(["unit", "month"]).reset_index()


def _with_treatment(panel: pd.DataFrame, folder: Path) -> pd.DataFrame:
    rollout = _rollout(folder)
    start = pd.PeriodIndex(panel.month, freq="M").start_time
    r = panel.unit.map(rollout)
    return panel.assign(treated_post=(r.notna() & (start >= r)).to_numpy())


@pytest.mark.parametrize("metric", ["return_rate", "out_of_stock_rate"])
def test_did_recovers_basket_effects(large, metric):
    folder, truth = large
    tx = read(folder, "transactions")
    tx = tx.assign(unit=tx.unit_id, month=tx.timestamp.dt.to_period("M").astype(str),
                   requested=tx["items"] + tx.stockout_items)
    panel = tx.groupby(["unit", "month"], as_index=False)[["returned_items", "stockout_items", "items",
                                                            "requested"]].sum()
    panel = _with_treatment(panel, folder)
    outcome, exposure = (("returned_items", "items") if metric == "return_rate"
                         else ("stockout_items", "requested"))
    beta, se = _twfe(panel, outcome, exposure)
    planted = np.log(truth["program_effects"][metric]["relative_effect"])
    assert abs(beta - planted) < 4 * se, (np.exp(beta), se)
    assert se < 0.06


@pytest.mark.parametrize("metric", ["complaint_rate", "purchase_frequency"])
def test_did_recovers_customer_effects(large, metric):
    folder, truth = large
    base = _customers_at_month_start(folder)
    cust = read(folder, "customers").set_index("customer_id")
    if metric == "complaint_rate":
        tk = read(folder, "tickets")
        tk = tk[(tk.ticket_type == "complaint")]
        counts = tk.groupby([tk.unit_id, tk.opened_at.dt.to_period("M").astype(str)]).size()
    else:
        tx = read(folder, "transactions")
        tx = tx.assign(home=tx.customer_id.map(cust.home_unit_id), signup=tx.customer_id.map(cust.signup_date))
        month = tx.timestamp.dt.to_period("M")
        tx = tx[tx.signup < month.dt.start_time]
        counts = tx.groupby([tx.home, month[tx.index].astype(str)]).size()
    counts = counts.rename_axis(["unit", "month"]).rename("y").reset_index()
    panel = _with_treatment(base.merge(counts, on=["unit", "month"], how="left").fillna({"y": 0}), folder)
    beta, se = _twfe(panel, "y", "customers")
    planted = np.log(truth["program_effects"][metric]["relative_effect"])
    assert abs(beta - planted) < 4 * se, (np.exp(beta), se)
    assert se < 0.1


def test_complaint_counts_match_their_poisson_means(large):
    folder, truth = large
    base = _with_treatment(_customers_at_month_start(folder), folder)
    moy = pd.PeriodIndex(base.month, freq="M").month - 1
    shock = pd.PeriodIndex(base.month, freq="M").start_time >= pd.Timestamp(truth["shock"]["date"])
    rates = base.unit.map({u: v["complaints_per_1000_customers_month"]
                           for u, v in truth["units"]["base_rates"].items()})
    mean = (base.customers / 1000 * rates * np.asarray(truth["seasonality"]["complaints"])[moy]
            * np.where(shock, truth["shock"]["complaints"], 1.0)
            * np.where(base.treated_post, truth["program_effects"]["complaint_rate"]["relative_effect"], 1.0))
    tk = read(folder, "tickets")
    tk = tk[tk.ticket_type == "complaint"]
    obs = tk.groupby([tk.unit_id, tk.opened_at.dt.to_period("M").astype(str)]).size()
    obs = obs.reindex(pd.MultiIndex.from_frame(base[["unit", "month"]]), fill_value=0).to_numpy()
    assert obs.sum() == truth["tickets"]["counts"]["complaint"]
    for sel in (base.treated_post.to_numpy(), ~base.treated_post.to_numpy()):
        assert abs(z(obs[sel].sum(), mean[sel].sum(), np.sqrt(mean[sel].sum()))) < 4


# ---------------------------------------------------------------- surveys and comments

@pytest.mark.parametrize("contrast", ["loyalty_tier", "touchpoint", "region", "program"])
def test_survey_scores_match_their_exact_expectations(small, contrast):
    folder, truth = small
    sr = read(folder, "survey_responses")
    cust = read(folder, "customers").set_index("customer_id")
    if contrast in ("loyalty_tier", "region"):
        sr[contrast] = sr.customer_id.map(cust[contrast])
    elif contrast == "program":
        rollout = _rollout(folder)
        unit = sr.unit_id.fillna(sr.customer_id.map(cust.home_unit_id))
        r = unit.map(rollout)
        sr[contrast] = np.where(r.isna(), "never_treated", np.where(sr.responded_at >= r, "treated_post",
                                                                   "treated_pre"))
    exact = truth["surveys"]["contrasts"][contrast]
    for group, g in sr.groupby(contrast):
        e = exact[group]
        nps = g.nps.dropna()
        assert len(nps) == e["n_nps"]
        score = 100 * (np.where(nps >= 9, 1, 0) - np.where(nps <= 6, 1, 0))
        assert abs(z(score.mean(), e["nps"], score.std() / np.sqrt(len(score)) * 1.3)) < 4, group
        csat = g.csat.dropna()
        p = e["csat_top2"]
        assert abs(z((csat >= 4).mean(), p, np.sqrt(p * (1 - p) / len(csat)) * 1.3)) < 4, group
        ces = g.ces.dropna()
        assert abs(z(ces.mean(), e["ces_mean"], ces.std() / np.sqrt(len(ces)) * 1.3)) < 4, group


def test_planted_survey_differences(small):
    _, truth = small
    c = truth["surveys"]["contrasts"]
    assert c["loyalty_tier"]["gold"]["nps"] - c["loyalty_tier"]["bronze"]["nps"] > 15
    assert c["touchpoint"]["support"]["nps"] < c["touchpoint"]["purchase"]["nps"] - 15
    assert all(v["latent_effect"] == 0.0 for v in c["region"].values())
    regional = [v["nps"] for v in c["region"].values()]
    assert max(regional) - min(regional) < 5  # zero planted effect: only composition differences remain
    assert 3 < truth["program_effects"]["nps"]["effect_on_treated_nps_points"] < 8


def test_comments_and_planted_personal_data(small):
    folder, truth = small
    sr = read(folder, "survey_responses").set_index("response_id")
    pii = read(folder, "truth_pii")
    ct = truth["comments"]
    assert sr.comment.notna().sum() == ct["n_comments"]
    assert sr.comment.notna().mean() == pytest.approx(0.40, abs=0.03)
    assert pii.kind.value_counts().to_dict() == {k: v for k, v in ct["pii_counts"].items() if v}
    assert set(pii.kind) == {"email", "phone", "name"}
    for row in pii.itertuples():
        assert row.value in sr.comment[row.response_id]
        assert sr.customer_id[row.response_id] == row.customer_id
    emails = pii.value[pii.kind == "email"]
    assert emails.str.fullmatch(r"[a-z.]+\d+@example\.(com|org)").all()
    phones = pii.value[pii.kind == "phone"]
    assert phones.str.fullmatch(r"\+44 20 7946 0\d{3}|555-01\d{2}").all()
    cust = read(folder, "customers").set_index("customer_id")
    names = pii[pii.kind == "name"]
    own = (cust.first_name[names.customer_id] + " " + cust.last_name[names.customer_id]).to_numpy()
    assert (names.value.to_numpy() == own).all()
    # sentiment follows the score: every detractor comment opens with a negative template, promoters positive
    from cxlib.synth.comments import TEMPLATES

    def opens_with(texts, sentiment):
        bodies = tuple(b for by_sentiment in TEMPLATES.values() for b in by_sentiment[sentiment])
        return texts.map(lambda t: t.startswith(bodies))

    assert opens_with(sr[(sr.nps <= 6) & sr.comment.notna()].comment, 0).all()
    assert opens_with(sr[(sr.nps >= 9) & sr.comment.notna()].comment, 2).all()
    assert not opens_with(sr[(sr.nps >= 9) & sr.comment.notna()].comment, 0).any()


# ---------------------------------------------------------------- tickets

def test_ticket_times_follow_their_lognormals(large):
    folder, truth = large
    tt = truth["tickets"]
    tk = read(folder, "tickets")
    assert (tk.first_response_at.dropna() >= tk.opened_at[tk.first_response_at.notna()]).all()
    early = tk[tk.opened_at < pd.Timestamp("2025-11-01")]
    n = len(early)
    p = tt["unresolved_share"]
    assert abs(z(early.resolved_at.isna().sum(), n * p, np.sqrt(n * p * (1 - p)))) < 4
    assert 0 < tt["planted_pre_subscription_tickets"] < 0.2 * len(tk)
    plain = early[early.category.isin(["sizing", "staff", "app", "other"]) & early.resolved_at.notna()]
    for channel, g in plain.groupby("channel"):
        minutes = (g.resolved_at - g.opened_at).dt.total_seconds() / 60
        ref = tt["resolution"][channel]
        se = 1.25 * ref["sigma"] / np.sqrt(len(g))  # asymptotic SE of a log-median
        assert abs(np.log(minutes.median()) - np.log(ref["median_minutes"])) < 4 * se + 0.02, channel
    resolved = early[early.resolved_at.notna()]
    first = (resolved.first_response_at - resolved.opened_at).dt.total_seconds() / 60
    med = first.groupby(resolved.channel).median()
    assert med["chatbot"] < 1 < med["chat"] < med["phone"] < med["email"]
    assert (tk.hold_minutes.notna() == tk.channel.isin(["phone", "chat"])).all()


def test_chatbot_share_rises_with_the_program(large):
    folder, truth = large
    tk = read(folder, "tickets")
    cust = read(folder, "customers").set_index("customer_id")
    unit = tk.unit_id.fillna(tk.customer_id.map(cust.home_unit_id))
    r = unit.map(_rollout(folder))
    post = r.notna() & (tk.opened_at >= r)
    shares = truth["program_effects"]["chatbot_share"]
    for sel, p in ((post, shares["treated_post"]["chatbot"]), (~post, shares["base"]["chatbot"])):
        n = int(sel.sum())
        assert abs(z((tk.channel[sel] == "chatbot").mean(), p, np.sqrt(p * (1 - p) / n))) < 4


# ---------------------------------------------------------------- CLI, folders and errors

def test_cli_help():
    result = CliRunner().invoke(main, ["synth", "--help"])
    assert result.exit_code == 0
    for option in ("--out", "--customers", "--seed", "--units", "--start", "--end"):
        assert option in result.output


def test_cli_refuses_a_foreign_folder_and_leaves_it_untouched(tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("precious", encoding="utf-8")
    (target / "customers.parquet").write_bytes(b"not ours")
    before = _hashes(target)
    result = CliRunner().invoke(main, ["synth", "--out", str(target), "--customers", "200", "--seed", "1"])
    assert result.exit_code == 2
    assert "Refusing to write" in result.output and "notes.txt" in result.output
    assert _hashes(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no temporary folder left behind


def test_cli_writes_and_replaces_a_previous_output(tmp_path):
    target = tmp_path / "data"
    runner = CliRunner()
    first = runner.invoke(main, ["synth", "--out", str(target), "--customers", "300", "--seed", "1"])
    assert first.exit_code == 0, first.output
    assert "chunk 1/1 transactions" in first.output and "OK:" in first.output
    h1 = _hashes(target)
    second = runner.invoke(main, ["synth", "--out", str(target), "--customers", "300", "--seed", "2",
                                  "--units", "8"])
    assert second.exit_code == 0, second.output
    assert _hashes(target) != h1
    assert len(read(target, "units")) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_interrupted_run_keeps_the_previous_output(tmp_path):
    target = tmp_path / "data"
    generate(target, n_customers=300, seed=1)
    before = _hashes(target)

    def stop(message: str) -> None:
        if "chunk 2/" in message:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate(target, n_customers=400, seed=2, chunk_customers=200, progress=stop)
    assert _hashes(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_out_is_a_file(tmp_path):
    file = tmp_path / "data"
    file.write_text("x", encoding="utf-8")
    with pytest.raises(ParameterError, match="is a file"):
        generate(file, n_customers=300)
    assert file.read_text(encoding="utf-8") == "x"


@pytest.mark.parametrize("kwargs, message", [
    ({"n_customers": 50}, "n_customers=50"),
    ({"chunk_customers": 10}, "chunk_customers=10"),
    ({"seed": -1}, "seed=-1"),
    ({"n_units": 3}, "n_units=3"),
    ({"end": "2024-12-31"}, "too short"),
    ({"start": "not a date"}, "ISO dates"),
])
def test_bad_arguments_are_refused(tmp_path, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        generate(tmp_path / "x", **{"n_customers": 300, **kwargs})
    assert not (tmp_path / "x").exists()
    assert list(tmp_path.iterdir()) == []


def test_config_is_frozen_and_used():
    import dataclasses

    cfg = SynthConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.purchases = None  # type: ignore[misc]
    assert cfg.subscriptions.weibull_scale_days == pytest.approx(608.75)
