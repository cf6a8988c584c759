"""The closed forms behind truth.json, checked against brute-force simulation written in the test.

Each reference is an independent Monte Carlo (seeded) of the model as
described in the paper, compared with the closed form within 4 standard errors.
"""
from __future__ import annotations

import numpy as np
import pytest

from cxlib.errors import ParameterError
from cxlib.synth.config import JourneyParams, SubscriptionParams, SurveyParams
from cxlib.synth.journeys import (ABANDON, PURCHASE, STATES, chain, conversion_probability, removal_effects,
                                  simulate_chain)
from cxlib.synth.purchases import bgnbd_expected_repeat, gamma_gamma_mean
from cxlib.synth.subscriptions import weibull_ph_survival
from cxlib.synth.surveys import expected_scores, thresholds


@pytest.mark.parametrize("t", [4.0, 26.0, 104.0])
def test_bgnbd_closed_form_matches_simulation(t):
    """Fader, Hardie & Lee (2005): lambda ~ Gamma(r, alpha), p ~ Beta(a, b), dropout after each repeat purchase."""
    r, alpha, a, b = 0.8, 8.0, 0.6, 2.5
    rng = np.random.default_rng(1)
    n = 200_000
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    purchases_before_dropout = rng.geometric(p)
    in_window = rng.poisson(lam * t)
    x = np.minimum(in_window, purchases_before_dropout)
    exact = bgnbd_expected_repeat(t, r=r, alpha=alpha, a=a, b=b)
    assert abs(x.mean() - exact) < 4 * x.std() / np.sqrt(n)
    assert exact > 0


def test_gamma_gamma_mean_matches_simulation():
    rng = np.random.default_rng(2)
    nu = rng.gamma(4.0, 1 / 30.0, 400_000)
    z = rng.gamma(6.0, 1.0, nu.size) / nu
    assert abs(z.mean() - gamma_gamma_mean(p=6.0, q=4.0, gamma=30.0)) < 4 * z.std() / np.sqrt(z.size)


def test_chain_rows_sum_to_one_and_absorb():
    P, start = chain(JourneyParams())
    assert P.shape == (len(STATES), len(STATES))
    assert np.allclose(P.sum(axis=1), 1.0)
    assert P[PURCHASE, PURCHASE] == 1.0 and P[ABANDON, ABANDON] == 1.0
    assert start[PURCHASE] == 0 and start.sum() == pytest.approx(1.0)
    assert P[:PURCHASE, ABANDON].min() >= 0.2 - 1e-12  # every journey ends quickly (purchase is last)
    assert P[STATES.index("fitting_room_wait"), ABANDON] == pytest.approx(0.70)


def test_removal_effects_match_simulation():
    """Removing k (transitions into k go to abandonment) converts exactly the journeys that never visit k."""
    P, start = chain(JourneyParams())
    journey, _, state, converted = simulate_chain(P, start, 300_000, np.random.default_rng(3))
    base = conversion_probability(P, start)
    assert abs(converted.mean() - base) < 4 * np.sqrt(base * (1 - base) / converted.size)
    exact = removal_effects(P, start)
    assert exact["checkout"] == pytest.approx(1.0)  # every conversion passes checkout
    for k, re in exact.items():
        visited = np.zeros(converted.size, bool)
        visited[journey[state == STATES.index(k)]] = True
        simulated = 1 - (converted & ~visited).mean() / converted.mean()
        assert simulated == pytest.approx(re, abs=0.01), k


@pytest.mark.parametrize("transitions, message", [
    ((("homepage", "nowhere", 0.5),), "'nowhere' is not one of"),
    ((("purchase", "homepage", 0.5),), "absorbing"),
    ((("homepage", "search", 0.7), ("homepage", "cart", 0.6)), "sum to more than 1"),
])
def test_bad_chains_are_refused(transitions, message):
    with pytest.raises(ParameterError, match=message):
        chain(JourneyParams(transitions=transitions))


@pytest.mark.parametrize("mu", [-0.5, 0.0, 0.4])
def test_expected_scores_match_sampling(mu):
    sp = SurveyParams()
    rng = np.random.default_rng(4)
    n = 400_000
    latent = mu + rng.normal(0, 1, n)
    th = thresholds(sp)
    nps = np.searchsorted(th["nps"], latent, side="right")
    csat = 1 + np.searchsorted(th["csat"], latent + rng.normal(0, sp.csat_noise, n), side="right")
    ces = 1 + np.searchsorted(th["ces"], -latent + rng.normal(0, sp.ces_noise, n), side="right")
    exact = {k: float(v[0]) for k, v in expected_scores(np.array([mu]), sp).items()}
    score = 100 * ((nps >= 9).astype(int) - (nps <= 6).astype(int))
    assert abs(score.mean() - exact["nps"]) < 4 * score.std() / np.sqrt(n)
    assert abs((csat >= 4).mean() - exact["csat_top2"]) < 4 * np.sqrt(0.25 / n)
    assert abs(ces.mean() - exact["ces_mean"]) < 4 * ces.std() / np.sqrt(n)


def test_score_distribution_at_zero_is_the_configured_pmf():
    sp = SurveyParams()
    e = expected_scores(np.array([0.0]), sp)
    pmf = np.asarray(sp.nps_pmf)
    assert e["nps"][0] == pytest.approx(100 * (pmf[9:].sum() - pmf[:7].sum()))
    assert e["csat_top2"][0] == pytest.approx(sum(sp.csat_pmf[3:]))
    assert e["ces_mean"][0] == pytest.approx(np.dot(np.arange(1, 8), sp.ces_pmf))


def test_weibull_ph_survival_matches_simulation():
    sp = SubscriptionParams()
    beta = np.log([sp.hr_detractor, sp.hr_unresolved_ticket, sp.hr_plus, sp.hr_premium])
    x = np.array([1, 0, 0, 1])
    rng = np.random.default_rng(5)
    e = rng.exponential(1.0, 200_000)
    t = sp.weibull_scale_days * (e * np.exp(-(x @ beta))) ** (1 / sp.weibull_shape)
    for horizon in (90.0, 365.0, 700.0):
        s = weibull_ph_survival([horizon], [x], shape=sp.weibull_shape, scale=sp.weibull_scale_days, beta=beta)[0]
        assert abs((t > horizon).mean() - s) < 4 * np.sqrt(s * (1 - s) / t.size)
