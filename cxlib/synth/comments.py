"""Free-text survey comments by theme and sentiment, with planted fake personal data.

The sentiment of a comment follows the response's score (NPS, else CSAT,
else CES), the theme is drawn from P(theme | touchpoint, sentiment) (see
``CommentParams``), and the text is a template of that theme and sentiment.
A small share of comments carries one planted piece of personal data: a
fake e-mail address (example.com / example.org, reserved by RFC 2606), a
fake phone number (the UK drama range +44 20 7946 0xxx or the US 555-01xx
range) or the customer's own name; the exact strings go to the truth so a
later test can check that reports never show them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import SENTIMENTS, THEMES, CommentParams
from .customers import FIRST_NAMES, LAST_NAMES

NEGATIVE, MIXED, POSITIVE = range(3)
PII_KINDS = ("email", "phone", "name")

TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "sizing": (("The sizes run small and nothing fit, very frustrating.",
                "Could not find my size anywhere, the size guide is useless.",
                "Terrible fit, I had to return everything."),
               ("Sizing was okay but a bit inconsistent between brands.",
                "Found my size eventually, took some searching."),
               ("The size finder was spot on, everything fit perfectly.",
                "Great fit, finding my size was easy.",
                "Loved that I could see which sizes were in stock.")),
    "waiting_time": (("Waited far too long for a fitting room, I gave up.",
                      "The queue at the till was ridiculous.",
                      "Nobody answered for ages, awful waiting time."),
                     ("Some waiting at the fitting rooms, acceptable.",
                      "The wait was a little long but fine."),
                     ("No waiting at all, the reservation made it quick.",
                      "Fast service, I was in and out in minutes.")),
    "staff": (("The staff were rude and unhelpful.",
               "Nobody helped me, the staff ignored me."),
              ("Staff were polite but seemed busy.",
               "The assistant was friendly enough."),
              ("The staff were wonderful and very helpful.",
               "Lovely assistant who really knew the collection.",
               "Excellent service from the team.")),
    "price": (("Far too expensive for the quality.",
               "Prices went up again, disappointing."),
              ("Prices are fair, nothing special.",
               "A bit pricey but the sale helped."),
              ("Great value for money.",
               "Good prices and nice discounts for members.")),
    "delivery": (("My parcel arrived late and damaged.",
                  "Delivery took two weeks, unacceptable."),
                 ("Delivery was on time but the tracking was confusing.",
                  "Parcel came a day later than promised."),
                 ("Super fast delivery, arrived next day.",
                  "Delivery was quick and well packed.")),
    "returns": (("Returning items was a nightmare, still waiting for my refund.",
                 "The returns process is far too complicated."),
                ("Returns were okay but the refund took a while.",
                 "Return was accepted, a bit slow."),
                ("Easy returns, refund within days.",
                 "Hassle-free return in store.")),
    "app": (("The app keeps crashing and logs me out.",
             "Could not book a fitting room, the app froze."),
            ("The app works but is slow.",
             "App is fine, search could be better."),
            ("The app is brilliant, booking a fitting room took seconds.",
             "Love the app, so easy to use.")),
    "stock": (("Everything I wanted was out of stock.",
               "Out of stock again in my size."),
              ("Most items were available, a few sizes missing.",
               "Stock was okay this time."),
              ("Great selection, everything was in stock.",
               "Found exactly what I wanted, well stocked.")),
}
_CLOSINGS = ((" Very disappointed.", " I will shop elsewhere.", " Please fix this."),
             (" Overall okay.", " Could be better.", " Not bad."),
             (" Will definitely come back!", " Highly recommend.", " Thank you!"))


def theme_probabilities(params: CommentParams) -> np.ndarray:
    """P(theme | touchpoint, sentiment), shape (n_touchpoints, 3, n_themes); rows sum to 1."""
    w = np.asarray(params.theme_base, dtype=float)[:, None, :] * np.asarray(params.theme_tilt, dtype=float)[None]
    return w / w.sum(axis=2, keepdims=True)


def sentiment(nps: np.ndarray, csat: np.ndarray, ces: np.ndarray) -> np.ndarray:
    """Sentiment of each response from NPS (0-6, 7-8, 9-10), else CSAT (1-2, 3, 4-5), else CES (5-7, 3-4, 1-2)."""
    from_nps = np.where(nps <= 6, NEGATIVE, np.where(nps <= 8, MIXED, POSITIVE))
    from_csat = np.where(csat <= 2, NEGATIVE, np.where(csat == 3, MIXED, POSITIVE))
    from_ces = np.where(ces >= 5, NEGATIVE, np.where(ces >= 3, MIXED, POSITIVE))
    return np.where(nps >= 0, from_nps, np.where(csat >= 1, from_csat, from_ces))


@dataclass(frozen=True)
class Comments:
    """Comments of one chunk's responses (None = no comment) and the planted personal data."""

    text: np.ndarray  # object array, one per response
    theme: np.ndarray  # -1 = no comment
    sentiment: np.ndarray
    pii_row: np.ndarray  # response row carrying planted data
    pii_kind: np.ndarray
    pii_value: np.ndarray  # object array of the exact planted strings


def draw_comments(touchpoint: np.ndarray, senti: np.ndarray, first_name: np.ndarray, last_name: np.ndarray, *,
                  params: CommentParams, rng: np.random.Generator) -> Comments:
    """Draw which responses comment, on what theme, in which words; plant personal data in a few.

    ``first_name``/``last_name`` are name indices per response (-1 = unknown).
    """
    n = touchpoint.size
    has = rng.random(n) < params.share
    rows = np.flatnonzero(has)
    probs = theme_probabilities(params)[touchpoint[rows], senti[rows]]
    cum = np.cumsum(probs, axis=1)
    theme_r = np.minimum((rng.random(rows.size)[:, None] >= cum).sum(axis=1), len(THEMES) - 1)
    bodies = [[np.array(TEMPLATES[th][s], dtype=object) for s in range(3)] for th in THEMES]
    text_r = np.empty(rows.size, dtype=object)
    pick = rng.random(rows.size)
    closing = rng.random(rows.size)
    close_pick = rng.integers(0, 3, rows.size)
    for ti in range(len(THEMES)):
        for s in range(3):
            m = (theme_r == ti) & (senti[rows] == s)
            if m.any():
                opts = bodies[ti][s]
                text_r[m] = opts[(pick[m] * len(opts)).astype(int)]
                add = m & (closing < 0.5)
                text_r[add] = text_r[add] + np.array(_CLOSINGS[s], dtype=object)[close_pick[add]]

    pii = rng.random(rows.size) < params.pii_share
    kind = rng.integers(0, len(PII_KINDS), rows.size)
    pii_rows, kinds, values = [], [], []
    for i in np.flatnonzero(pii):  # a few percent of the comments: a Python loop is fine here
        r = rows[i]
        f, la = int(first_name[r]), int(last_name[r])
        k = PII_KINDS[kind[i]]
        if k == "name" and f < 0:
            k = "phone"
        if k == "email":
            num = int(rng.integers(10, 100))
            value = (f"{FIRST_NAMES[f]}.{LAST_NAMES[la]}{num}@example.com".lower() if f >= 0
                     else f"customer{num}@example.org")
            text_r[i] = f"{text_r[i]} You can reach me at {value}."
        elif k == "phone":
            value = (f"+44 20 7946 0{int(rng.integers(0, 1000)):03d}" if rng.random() < 0.5
                     else f"555-01{int(rng.integers(0, 100)):02d}")
            text_r[i] = f"{text_r[i]} Call me back on {value} please."
        else:
            value = f"{FIRST_NAMES[f]} {LAST_NAMES[la]}"
            text_r[i] = f"{text_r[i]} Regards, {value}."
        pii_rows.append(r)
        kinds.append(k)
        values.append(value)
    text = np.full(n, None, dtype=object)
    text[rows] = text_r
    theme = np.full(n, -1)
    theme[rows] = theme_r
    return Comments(text=text, theme=theme, sentiment=senti, pii_row=np.asarray(pii_rows, dtype=int),
                    pii_kind=np.asarray(kinds, dtype=object), pii_value=np.asarray(values, dtype=object))


__all__ = ["PII_KINDS", "SENTIMENTS", "theme_probabilities", "sentiment", "draw_comments", "Comments"]
