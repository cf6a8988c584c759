"""Every planted parameter of the synthetic CX world, with its default and why.

The world is a mid-sized clothing retailer whose stores receive a CX program
(RFID size finder, fitting-room reservations, a 24/7 chatbot) in waves.  All
numbers below are *planted*: the generator draws the data from them and
``truth.json`` records them, so that every later analysis can be checked
against a known answer.

Sequences indexed by a closed vocabulary are tuples aligned with the
vocabulary constants of this module (``MONTHS`` are January..December).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..schema import CHANNELS, SURVEY_TOUCHPOINTS, TICKET_CATEGORIES, TOUCHPOINTS

REGIONS = ("North", "South", "East", "West", "Central")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
TIERS = ("bronze", "silver", "gold")
ACQ_CHANNELS = ("store", "web", "app", "referral")
PLANS = ("basic", "plus", "premium")
TICKET_CHANNELS = ("phone", "email", "chat", "chatbot", "store")
TICKET_TYPES = ("complaint", "inquiry", "request")
THEMES = ("sizing", "waiting_time", "staff", "price", "delivery", "returns", "app", "stock")
SENTIMENTS = ("negative", "mixed", "positive")
PROGRAM = "cx_program"
__all__ = ["SynthConfig", "CustomerParams", "PurchaseParams", "PanelParams", "TicketParams",
           "SubscriptionParams", "JourneyParams", "SurveyParams", "CommentParams", "GroupParams",
           "REGIONS", "AGE_BANDS", "TIERS", "ACQ_CHANNELS", "PLANS", "TICKET_CHANNELS", "TICKET_TYPES",
           "THEMES", "SENTIMENTS", "PROGRAM", "TOUCHPOINTS", "CHANNELS", "SURVEY_TOUCHPOINTS",
           "TICKET_CATEGORIES"]


@dataclass(frozen=True)
class CustomerParams:
    """Who the customers are.

    Shares are fixed (not estimated from anything); they only need to be
    plausible for a European clothing retailer and leave every group big
    enough to analyse at 1,500 customers (gold is the smallest at 10%).
    Signup days are uniform over the window (steady acquisition), so every
    month has new customers and the treated/control customer mix stays
    comparable over time.
    """

    region_shares: tuple[float, ...] = (0.22, 0.22, 0.18, 0.20, 0.18)
    #: probability that the home store lies in the customer's own region (else any store)
    home_in_region: float = 0.9
    age_band_shares: tuple[float, ...] = (0.12, 0.22, 0.21, 0.19, 0.15, 0.11)
    tier_shares: tuple[float, ...] = (0.60, 0.30, 0.10)
    acquisition_shares: tuple[float, ...] = (0.45, 0.30, 0.15, 0.10)
    #: share of customers without a recorded name (both names null): real CRMs have gaps
    missing_name: float = 0.01


@dataclass(frozen=True)
class PurchaseParams:
    """BG/NBD purchase process (Fader, Hardie & Lee 2005) and Gamma-Gamma spend (Fader, Hardie & Lee 2005b).

    Time unit of ``r, alpha``: weeks.  ``lambda ~ Gamma(shape=r, rate=alpha)``
    gives a mean of r/alpha = 0.1 purchases a week (about 5 a year) while
    alive; ``p ~ Beta(a, b)`` with mean a/(a+b) = 0.19 is the dropout
    probability after each repeat purchase, so the average customer makes
    about five repeat purchases before lapsing: typical fashion retail.
    Spend per basket ``z ~ Gamma(shape=p, rate=nu)`` with
    ``nu ~ Gamma(shape=q, rate=gamma)``; E[z] = p*gamma/(q-1) = 60 EUR.
    """

    r: float = 0.8
    alpha: float = 8.0
    a: float = 0.6
    b: float = 2.5
    gg_p: float = 6.0
    gg_q: float = 4.0
    gg_gamma: float = 30.0
    #: relative purchase rate of customers of a treated store after its rollout (+20%)
    program_frequency_effect: float = 1.20
    #: share of baskets bought in the home store (the rest in a random store)
    home_store_share: float = 0.9
    #: items = 1 + Poisson(max(amount - items_offset, 0) / items_eur_per_item): bigger baskets, more items
    items_offset: float = 20.0
    items_eur_per_item: float = 40.0
    #: opening hours into which purchase times of day are mapped (monotone within a day)
    open_hour: float = 9.0
    close_hour: float = 21.0


@dataclass(frozen=True)
class PanelParams:
    """Store-month metrics: seasonality, the common shock and the program effects.

    Month factors are January..December.  Returns peak in January (Christmas
    gifts), stock-outs and complaints in November-December; the common shock
    (a supply problem from ``shock_month_offset`` months after the start)
    hits every store, treated or not, so a naive before/after comparison in
    treated stores is biased while difference-in-differences is not.
    Program effects are multiplicative on the metric's rate: -25% returns,
    -40% out-of-stock, -30% complaints.
    """

    #: rollout waves, as month offsets from the window's first month (default 2024-10, 2025-01, 2025-04)
    rollout_month_offsets: tuple[int, ...] = (9, 12, 15)
    #: share of stores left untreated (about 6 of 24); the rest is split evenly over the waves
    never_treated_share: float = 0.25
    #: common shock from this month offset on (default 2025-06-01)
    shock_month_offset: int = 17
    shock_purchase_keep: float = 0.90
    shock_returns: float = 1.10
    shock_out_of_stock: float = 1.30
    shock_complaints: float = 1.20
    season_returns: tuple[float, ...] = (1.35, 1.10, 0.95, 0.95, 0.95, 0.95, 1.05, 0.95, 0.90, 0.90, 0.95, 1.10)
    season_out_of_stock: tuple[float, ...] = (0.90, 0.85, 0.90, 0.95, 1.0, 1.0, 1.05, 1.0, 0.95, 1.0, 1.25, 1.35)
    season_complaints: tuple[float, ...] = (1.25, 1.0, 0.95, 0.90, 0.90, 0.95, 1.0, 0.95, 0.90, 0.95, 1.10, 1.30)
    #: store base rates are uniform on these ranges (stores differ; fixed effects absorb it)
    return_base: tuple[float, float] = (0.10, 0.16)
    out_of_stock_base: tuple[float, float] = (0.04, 0.08)
    complaints_per_1000_base: tuple[float, float] = (8.0, 14.0)
    effect_returns: float = 0.75
    effect_out_of_stock: float = 0.60
    effect_complaints: float = 0.70


@dataclass(frozen=True)
class TicketParams:
    """Support tickets: volumes, channel mix and lognormal times (minutes).

    Medians are typical service levels: a bot answers in seconds, chat in
    minutes, e-mail within a working day.  ``sigma`` is the log-scale standard
    deviation.  Resolution time is measured from ``opened_at``; the first
    response is ``min(first-response draw, resolution)`` so it never comes
    after the resolution.
    """

    inquiries_per_1000: float = 12.0
    #: tickets are opened between these hours (UTC) of a uniformly drawn day of the month
    open_hours: tuple[float, float] = (7.0, 23.0)
    requests_per_1000: float = 5.0
    #: inquiries and requests name a store with this probability (complaints always do)
    store_named: float = 0.5
    channel_shares: tuple[float, ...] = (0.30, 0.25, 0.20, 0.10, 0.15)
    #: chatbot weight multiplier in treated stores after rollout (the chatbot is part of the program)
    program_chatbot_weight: float = 4.0
    first_response_median_min: tuple[float, ...] = (4.0, 240.0, 2.0, 0.1, 5.0)
    first_response_sigma: tuple[float, ...] = (0.7, 0.8, 0.6, 0.4, 0.7)
    resolution_median_min: tuple[float, ...] = (30.0, 1440.0, 45.0, 20.0, 60.0)
    resolution_sigma: tuple[float, ...] = (1.0, 0.9, 0.9, 0.8, 1.0)
    #: category multipliers of the resolution median (TICKET_CATEGORIES order)
    category_resolution_factor: tuple[float, ...] = (1.0, 0.8, 1.0, 1.2, 3.0, 2.5, 1.0, 1.5, 2.0, 1.0)
    unresolved_share: float = 0.08
    #: planted pre-subscription tickets are resolved this many days (mean, exponential) after the start
    planted_resolution_mean_days: float = 7.0
    #: category probabilities by ticket type (rows TICKET_TYPES, columns TICKET_CATEGORIES)
    category_probs: tuple[tuple[float, ...], ...] = (
        (0.20, 0.15, 0.12, 0.05, 0.10, 0.15, 0.05, 0.13, 0.02, 0.03),  # complaint
        (0.10, 0.02, 0.02, 0.12, 0.20, 0.12, 0.10, 0.12, 0.05, 0.15),  # inquiry
        (0.03, 0.00, 0.00, 0.02, 0.20, 0.35, 0.05, 0.05, 0.20, 0.10),  # request
    )
    hold_median_min: tuple[float, ...] = (3.0, 1.0)  # phone, chat
    hold_sigma: float = 0.8
    handle_median_min: tuple[float, ...] = (7.0, 9.0)  # phone, chat
    handle_sigma: float = 0.5


@dataclass(frozen=True)
class SubscriptionParams:
    """Membership (contractual) churn: Weibull proportional hazards.

    ``S(t | x) = exp(-(t / scale)^shape * exp(x'beta))`` with ``t`` in days
    since ``start_date``.  Shape 1.3 > 1: the cancellation hazard rises
    slowly with tenure (members who joined for a promotion leave after it).
    Scale 20 months: median baseline lifetime about 15 months.  Covariates
    are measured at the start (no immortal-time bias).
    """

    share: float = 0.5
    #: subscriptions start 1 + Poisson(mean) days after signup (room for a pre-start ticket)
    start_delay_mean_days: float = 13.0
    #: plan probabilities by loyalty tier (rows bronze, silver, gold; columns basic, plus, premium)
    plan_probs: tuple[tuple[float, ...], ...] = ((0.60, 0.30, 0.10), (0.45, 0.35, 0.20), (0.30, 0.35, 0.35))
    monthly_fee: tuple[float, ...] = (9.90, 14.90, 24.90)
    weibull_shape: float = 1.3
    weibull_scale_days: float = 20 * 365.25 / 12
    hr_detractor: float = 1.8
    hr_unresolved_ticket: float = 1.5
    hr_plus: float = 0.8
    hr_premium: float = 0.6
    #: share of subscribers given a billing request between signup and start, still open at the start
    pre_start_ticket: float = 0.10
    #: share of subscribers answering the onboarding survey (on the start date, NPS always given)
    onboarding_response: float = 0.8


_P = {  # transition probabilities (rows: from; remaining mass goes to abandonment)
    "ad_click": {"product_page": 0.45, "homepage": 0.15, "search": 0.10},
    "email_click": {"product_page": 0.50, "homepage": 0.15, "cart": 0.05},
    "homepage": {"search": 0.30, "product_page": 0.30, "store_visit": 0.05, "chatbot": 0.05,
                 "size_finder": 0.05},
    "search": {"product_page": 0.62, "chatbot": 0.06, "size_finder": 0.05},
    "product_page": {"size_finder": 0.20, "cart": 0.25, "fitting_room_reservation": 0.10, "search": 0.10,
                     "chatbot": 0.05, "store_visit": 0.05},
    "size_finder": {"product_page": 0.15, "cart": 0.45, "fitting_room_reservation": 0.10},
    "store_visit": {"fitting_room_wait": 0.30, "size_finder": 0.15, "checkout": 0.20},
    "fitting_room_reservation": {"store_visit": 0.50, "cart": 0.15},
    "fitting_room_wait": {"checkout": 0.20, "chatbot": 0.05, "store_visit": 0.05},
    "cart": {"checkout": 0.60, "product_page": 0.10, "chatbot": 0.05},
    "checkout": {"purchase": 0.75, "chatbot": 0.05},
    "chatbot": {"product_page": 0.25, "size_finder": 0.15, "cart": 0.15, "checkout": 0.10},
}


def _default_transitions() -> tuple[tuple[str, str, float], ...]:
    return tuple((a, b, p) for a, row in _P.items() for b, p in row.items())


@dataclass(frozen=True)
class JourneyParams:
    """First-order Markov chain of journeys over ``cxlib.schema.TOUCHPOINTS``.

    ``transitions`` lists (from, to, probability); each row's remaining mass
    goes to abandonment (the journey ends without an event).  'purchase' is
    absorbing (conversion).  The fail touchpoint 'fitting_room_wait' loses 70%
    of journeys, far more than any other (20-35%).  Every row abandons with
    probability >= 0.2, so journeys end after a few steps (no cap needed).
    """

    start: tuple[tuple[str, float], ...] = (("ad_click", 0.20), ("email_click", 0.12), ("homepage", 0.25),
                                             ("search", 0.18), ("store_visit", 0.20), ("chatbot", 0.05))
    transitions: tuple[tuple[str, str, float], ...] = field(default_factory=_default_transitions)
    fail_touchpoint: str = "fitting_room_wait"
    journeys_per_year: float = 6.0
    #: journeys start between these hours (UTC) of a uniformly drawn day
    active_hours: tuple[float, float] = (7.0, 23.0)
    #: mean gap before an event of each touchpoint, minutes (TOUCHPOINTS order)
    gap_mean_min: tuple[float, ...] = (1.0, 1.0, 2.0, 1.5, 2.0, 3.0, 1440.0, 30.0, 8.0, 4.0, 3.0, 2.0, 2.0)
    #: channel probabilities by touchpoint (rows TOUCHPOINTS, columns CHANNELS)
    channel_probs: tuple[tuple[float, ...], ...] = (
        (0.6, 0.4, 0, 0, 0, 0, 0),  # ad_click
        (0, 0, 0, 1.0, 0, 0, 0),  # email_click
        (0.6, 0.4, 0, 0, 0, 0, 0),  # homepage
        (0.5, 0.5, 0, 0, 0, 0, 0),  # search
        (0.5, 0.5, 0, 0, 0, 0, 0),  # product_page
        (0.2, 0.5, 0.3, 0, 0, 0, 0),  # size_finder (RFID terminals in store, app, web)
        (0, 0, 1.0, 0, 0, 0, 0),  # store_visit
        (0.2, 0.8, 0, 0, 0, 0, 0),  # fitting_room_reservation
        (0, 0, 1.0, 0, 0, 0, 0),  # fitting_room_wait
        (0.5, 0.5, 0, 0, 0, 0, 0),  # cart
        (0.35, 0.35, 0.3, 0, 0, 0, 0),  # checkout
        (0, 0, 0, 0, 0, 0, 1.0),  # chatbot
        (0.35, 0.35, 0.3, 0, 0, 0, 0),  # purchase
    )
    #: share of journeys with an app event that get an 'app' survey
    app_survey_share: float = 0.04


@dataclass(frozen=True)
class SurveyParams:
    """Latent-normal survey model.

    ``L = mu + u_customer + e`` with ``u ~ N(0, rho)``, ``e ~ N(0, 1 - rho)``
    (so ``L | mu ~ N(mu, 1)``) and ``mu = tier + touchpoint + quarter_trend *
    quarter_index + month + shock + program_lift * treated_post``; region has
    a planted effect of exactly zero.  NPS counts the thresholds ``L`` passes;
    thresholds are the N(0, 1) quantiles of ``nps_pmf`` (at mu = 0 NPS is
    +25).  CSAT uses ``L + N(0, csat_noise^2)``; CES uses
    ``-L + N(0, ces_noise^2)`` (higher = harder).  Latent shifts are in SD
    units: 0.1 moves NPS by about 7 points near mu = 0.
    """

    nps_pmf: tuple[float, ...] = (0.02, 0.01, 0.02, 0.03, 0.03, 0.06, 0.08, 0.10, 0.15, 0.20, 0.30)
    csat_pmf: tuple[float, ...] = (0.05, 0.08, 0.17, 0.35, 0.35)
    ces_pmf: tuple[float, ...] = (0.25, 0.25, 0.18, 0.12, 0.09, 0.06, 0.05)
    csat_noise: float = 0.6
    ces_noise: float = 0.8
    customer_share: float = 0.3
    tier_effect: tuple[float, ...] = (-0.10, 0.05, 0.25)
    touchpoint_effect: tuple[float, ...] = (0.10, 0.0, -0.15, -0.40, 0.05, 0.20)  # SURVEY_TOUCHPOINTS order
    region_effect: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0, 0.0)
    quarter_trend: float = 0.015
    month_effect: tuple[float, ...] = (-0.05, 0, 0, 0, 0, 0, 0, 0, 0, 0, -0.05, -0.10)
    shock_effect: float = -0.10
    program_lift: float = 0.08
    #: survey invitations answered, per transaction (purchase, store_visit, delivery) and per ticket
    purchase_rate: float = 0.06
    store_visit_rate: float = 0.03
    delivery_rate: float = 0.02
    support_rate: float = 0.30
    #: probabilities that a score is missing (independent; NPS restored when all three are missing)
    missing: tuple[float, ...] = (0.08, 0.15, 0.25)
    #: mean delay between the experience and the answer, hours (purchase, store_visit, delivery, support, app)
    delay_mean_hours: tuple[float, ...] = (20.0, 20.0, 96.0, 6.0, 2.0)


@dataclass(frozen=True)
class CommentParams:
    """Free-text comments and planted personal data.

    ``theme_base`` rows follow ``SURVEY_TOUCHPOINTS`` and columns ``THEMES``;
    ``theme_tilt`` rows follow ``SENTIMENTS``.  P(theme | touchpoint,
    sentiment) is proportional to base * tilt.  Sentiment follows the score:
    NPS 0-6 negative, 7-8 mixed, 9-10 positive (CSAT, then CES when NPS is
    missing).
    """

    share: float = 0.40
    theme_base: tuple[tuple[float, ...], ...] = (
        (3, 1, 2, 3, 0.5, 2, 0.5, 2),  # purchase
        (3, 3, 3, 1, 0, 0.5, 0.5, 3),  # store_visit
        (0.5, 1, 0.5, 0.5, 6, 2, 0.5, 0.5),  # delivery
        (0.5, 4, 4, 0.5, 1, 2, 1, 0.5),  # support
        (1, 0.5, 0, 1, 1, 0.5, 6, 1),  # app
        (1, 0.5, 2, 3, 0.5, 0.5, 3, 0.5),  # onboarding
    )
    theme_tilt: tuple[tuple[float, ...], ...] = (
        (1.0, 2.0, 1.0, 1.5, 1.5, 2.0, 1.0, 2.0),  # negative: waiting, returns, stock
        (1.0, 1.0, 1.0, 1.5, 1.0, 1.0, 1.0, 1.0),  # mixed: price
        (2.0, 0.5, 2.0, 0.7, 1.0, 0.5, 1.0, 0.7),  # positive: sizing, staff
    )
    #: share of comments with planted personal data (one of e-mail, phone, own name)
    pii_share: float = 0.03


@dataclass(frozen=True)
class GroupParams:
    """Latent behavioural groups: four clusters of customers that differ in rate, spend, engagement and CX.

    The group is a *function* of the customer's BG/NBD purchase rate ``lambda`` and Gamma-Gamma spend
    rate ``nu`` (which stay independent draws from their planted Gamma distributions, so BG/NBD and
    Gamma-Gamma remain exact): ``heavy = lambda >= median``, ``premium = nu < median`` (higher mean
    spend), ``group = 2 * heavy + premium`` (``names`` order), each a quarter of the customers.  The group
    then *modulates* what has no per-customer truth of its own: the journey rate is
    ``journeys_per_year * engagement[group]`` (share-weighted mean 1, so the expected number of journeys is
    unchanged) and the survey latent mean ``mu`` gains ``cx_shift[group]`` (SD units; it enters ``mu``, so
    the exact survey expectations of ``truth.json`` stay exact; symmetric within light and heavy buyers, so
    the response-weighted mean shift is zero).  The app-survey share per journey is divided by the
    engagement level, so app surveys per customer-year do not depend on the group.
    """

    names: tuple[str, ...] = ("light_budget", "light_premium", "heavy_budget", "heavy_premium")
    #: multipliers of ``JourneyParams.journeys_per_year`` (mean over the four equal groups = 1)
    engagement: tuple[float, ...] = (0.06, 0.3, 1.0, 2.64)
    #: shift of the survey latent mean (SD units; +-0.25 is about 30 NPS points between budget and premium)
    cx_shift: tuple[float, ...] = (-0.25, 0.25, -0.25, 0.25)


@dataclass(frozen=True)
class SynthConfig:
    """All planted parameters of the synthetic CX world (see each part's docstring).

    >>> cfg = SynthConfig()
    >>> cfg.purchases.program_frequency_effect, cfg.panel.effect_returns
    (1.2, 0.75)
    """

    customers: CustomerParams = field(default_factory=CustomerParams)
    purchases: PurchaseParams = field(default_factory=PurchaseParams)
    panel: PanelParams = field(default_factory=PanelParams)
    tickets: TicketParams = field(default_factory=TicketParams)
    subscriptions: SubscriptionParams = field(default_factory=SubscriptionParams)
    journeys: JourneyParams = field(default_factory=JourneyParams)
    surveys: SurveyParams = field(default_factory=SurveyParams)
    comments: CommentParams = field(default_factory=CommentParams)
    groups: GroupParams = field(default_factory=GroupParams)
