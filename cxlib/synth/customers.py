"""Customers of one chunk: attributes, signup, home store and fake names."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calendar import World
from .config import CustomerParams

FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Karin", "Liam",
    "Maria", "Noah", "Olivia", "Pablo", "Quinn", "Rosa", "Samir", "Tara", "Umar", "Vera", "Wim", "Xenia",
    "Yusuf", "Zoe", "Amira", "Bruno", "Chloe", "Dario", "Emma", "Farah", "Gustav", "Hanna", "Ivan", "Julia",
    "Kofi", "Lea", "Mateo", "Nina", "Oskar", "Priya", "Rafael", "Sofia", "Tomas", "Ulla", "Viktor", "Wanda",
)
LAST_NAMES = (
    "Abbott", "Berger", "Castillo", "Dubois", "Eriksen", "Fischer", "Garcia", "Hansen", "Ivanova", "Jensen",
    "Kowalski", "Larsen", "Moreau", "Nowak", "Okafor", "Petrov", "Quinlan", "Rossi", "Schmidt", "Tanaka",
    "Ueda", "Varga", "Wagner", "Xu", "Yilmaz", "Zimmermann", "Andersson", "Bianchi", "Costa", "Dimitrov",
    "Esposito", "Fernandes", "Gruber", "Horvat", "Iversen", "Janssen", "Keller", "Lindqvist", "Martin",
    "Nielsen", "Oliveira", "Peeters", "Romano", "Santos", "Thomsen", "Urban", "Vogel", "Weber",
)


@dataclass(frozen=True)
class Customers:
    """Customer attributes of one chunk (arrays of length n; indices into the vocabularies).

    ``birth`` is the time (days since the window start) of the first purchase,
    inside the signup day; names are -1 when missing.
    """

    index: np.ndarray  # global 1-based customer number
    signup_day: np.ndarray
    birth: np.ndarray
    region: np.ndarray
    home_unit: np.ndarray
    age_band: np.ndarray
    tier: np.ndarray
    acquisition: np.ndarray
    first_name: np.ndarray
    last_name: np.ndarray

    def __len__(self) -> int:
        return len(self.index)


def draw_customers(first_index: int, n: int, *, world: World, params: CustomerParams,
                   rng: np.random.Generator) -> Customers:
    """Draw ``n`` customers numbered ``first_index .. first_index + n - 1``.

    Signup days are uniform over the window; the home store is a uniform store
    of the customer's region with probability ``home_in_region`` and a uniform
    store otherwise, so it is independent of the rollout assignment.
    """
    signup = rng.integers(0, world.n_days, n)
    birth = signup + rng.random(n)
    region = rng.choice(len(params.region_shares), n, p=_norm(params.region_shares))
    home = rng.integers(0, world.n_units, n)
    in_region = rng.random(n) < params.home_in_region
    pick = rng.random(n)
    for r in range(len(params.region_shares)):
        stores = np.flatnonzero(world.unit_region == r)
        sel = in_region & (region == r)
        if len(stores) and sel.any():
            home[sel] = stores[(pick[sel] * len(stores)).astype(int)]
    missing = rng.random(n) < params.missing_name
    first = np.where(missing, -1, rng.integers(0, len(FIRST_NAMES), n))
    last = np.where(missing, -1, rng.integers(0, len(LAST_NAMES), n))
    return Customers(
        index=np.arange(first_index, first_index + n),
        signup_day=signup, birth=birth, region=region, home_unit=home,
        age_band=rng.choice(len(params.age_band_shares), n, p=_norm(params.age_band_shares)),
        tier=rng.choice(len(params.tier_shares), n, p=_norm(params.tier_shares)),
        acquisition=rng.choice(len(params.acquisition_shares), n, p=_norm(params.acquisition_shares)),
        first_name=first, last_name=last,
    )


def _norm(p: tuple[float, ...]) -> np.ndarray:
    a = np.asarray(p, dtype=float)
    return a / a.sum()
