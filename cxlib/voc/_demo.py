"""A tiny synthetic survey with planted themes, sentiment and personal data (doctests and unit tests).

The full synthetic world lives in :mod:`cxlib.synth`; this generator is a few hundred rows that
exercise the text functions without it, with the planted truth returned beside the data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Planted probability that a comment is about each theme (one theme per comment, or none).
DEMO_THEME_SHARES = {"sizing": 0.20, "waiting_time": 0.12, "staff": 0.14, "price": 0.12, "delivery": 0.12,
                     "returns": 0.08, "app": 0.08, "stock": 0.08}

_TEMPLATES = {
    "sizing": (["The size guide was spot on and the fit is perfect.", "Sizing is accurate, it fits really well."],
               ["The sizes run small and the jeans did not fit at all.", "Terrible fit, the size was far too tight."]),
    "waiting_time": (["Hardly any wait at the fitting rooms, very quick.", "No queue at the till, lovely and fast."],
                     ["I had to wait 25 minutes for a fitting room, awful.", "The queue was horrible and so slow."]),
    "staff": (["The staff were friendly and really helpful.", "A lovely assistant helped me, great service."],
              ["The assistant was rude and unhelpful.", "Staff ignored me, very disappointing."]),
    "price": (["Great value for money, fair prices.", "Good prices and a nice discount."],
              ["Far too expensive, the price went up again.", "Overpriced for the quality, a rip off."]),
    "delivery": (["Delivery arrived early and the parcel was well packed.", "Fast delivery, great courier."],
                 ["My delivery was late and the parcel was damaged.", "The courier lost my parcel, awful."]),
    "returns": (["Returning the dress was easy and the refund came fast.", "Easy return, refund in two days."],
                ["The return process is a nightmare and my refund is missing.", "Refund still not paid, terrible."]),
    "app": (["The app is smooth and paying in the app is easy.", "Love the new app, really easy to use."],
            ["The app keeps crashing when I try to pay.", "The app is useless and the login fails."]),
    "stock": (["Everything I wanted was in stock, great.", "Good availability, my size was in stock."],
              ["My size was out of stock again, annoying.", "Sold out everywhere, so frustrating."]),
}
_NEUTRAL = ["Bought a shirt.", "It was a normal visit.", "Picked up an order."]
_FIRST = ["Olivia", "Amelia", "Harry", "Jack", "Isla", "Noah", "Freya", "Oscar"]
_LAST = ["Smith", "Jones", "Taylor", "Brown", "Wilson", "Evans", "Thomas", "Roberts"]


def demo_responses(n: int = 400, *, rng: np.random.Generator, pii_share: float = 0.1) -> tuple[pd.DataFrame,
                                                                                               pd.DataFrame, dict]:
    """Survey responses with comments whose theme and tone follow the planted truth.

    Parameters
    ----------
    n : int
        Responses.
    rng : numpy.random.Generator
        Source of every random draw.
    pii_share : float
        Share of comments given an e-mail, a phone number or the respondent's name.

    Returns
    -------
    responses : DataFrame
        Columns of ``survey_responses`` (``response_id, customer_id, unit_id, touchpoint,
        responded_at, nps, csat, ces, comment``) plus ``loyalty_tier``, ``region`` and the planted
        ``true_theme`` (``"none"`` for a theme-less comment).
    customers : DataFrame
        ``customer_id, first_name, last_name`` (one customer per response).
    truth : dict
        ``theme_shares`` (planted probabilities), ``pii`` (every planted personal item).

    Examples
    --------
    >>> r, c, t = demo_responses(50, rng=np.random.default_rng(1))
    >>> r.shape, sorted(t)
    ((50, 12), ['pii', 'theme_shares'])
    """
    themes = list(DEMO_THEME_SHARES)
    probs = np.array([*DEMO_THEME_SHARES.values(), 1 - sum(DEMO_THEME_SHARES.values())])
    theme = rng.choice([*themes, "none"], size=n, p=probs)
    latent = rng.normal(size=n)
    nps = np.clip(np.round(7.5 + 2.2 * latent), 0, 10).astype(int)
    csat = np.clip(np.round(3.6 + 1.0 * latent + rng.normal(0, 0.5, n)), 1, 5).astype(int)
    ces = np.clip(np.round(3.2 - 1.1 * latent + rng.normal(0, 0.7, n)), 1, 7).astype(int)
    first = rng.choice(_FIRST, size=n)
    last = rng.choice(_LAST, size=n)
    comments, pii = [], []
    for i in range(n):
        if theme[i] == "none":
            text = _NEUTRAL[rng.integers(len(_NEUTRAL))]
        else:
            positive = nps[i] >= 9 or (nps[i] >= 7 and rng.random() < 0.5)
            options = _TEMPLATES[theme[i]][0 if positive else 1]
            text = options[rng.integers(len(options))]
        if rng.random() < pii_share:
            kind = rng.integers(3)
            if kind == 0:
                item = f"{first[i].lower()}.{last[i].lower()}{i}@example.{'com' if i % 2 else 'org'}"
                text += f" Contact me at {item}."
            elif kind == 1:
                item = f"+44 20 7946 0{i % 1000:03d}"
                text += f" Call me on {item}."
            else:
                item = f"{first[i]} {last[i]}"
                text += f" Regards, {item}."
            pii.append(item)
        comments.append(text)
    start = pd.Timestamp("2025-01-01")
    responded = start + pd.to_timedelta(rng.uniform(0, 365, n), unit="D")
    responses = pd.DataFrame({
        "response_id": [f"R{i:06d}" for i in range(n)],
        "customer_id": [f"C{i:06d}" for i in range(n)],
        "unit_id": rng.choice(["U01", "U02", "U03"], size=n),
        "touchpoint": rng.choice(["purchase", "store_visit", "delivery", "app"], size=n),
        "responded_at": responded.floor("s"),
        "nps": nps, "csat": csat, "ces": ces, "comment": comments,
        "loyalty_tier": rng.choice(["bronze", "silver", "gold"], size=n, p=[0.6, 0.3, 0.1]),
        "region": rng.choice(["North", "South"], size=n),
        "true_theme": theme,
    })
    customers = pd.DataFrame({"customer_id": responses["customer_id"], "first_name": first, "last_name": last})
    return responses, customers, {"theme_shares": dict(DEMO_THEME_SHARES), "pii": pii}
