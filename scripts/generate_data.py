"""Generate the example growth warehouse: a deterministic, synthetic B2C food e-shop.

Usage:
    python scripts/generate_data.py                      # default seeds: 5,000 users, CSV into seeds/
    python scripts/generate_data.py --users 1000000 --format parquet --out data/big
    python scripts/generate_data.py --users 20000 --months 12 --seed 7 --out /tmp/small

From Python (benchmarks import this file by path):
    generate(users=5000, months=24, seed=1, out_dir="seeds", fmt="csv")

The same arguments always give the same bytes: every random draw comes from `random.Random` seeded with the
seed and the chunk number, users are simulated in fixed chunks of 5,000 (in parallel processes at large scale),
and DuckDB turns the chunks into the final, sorted tables (ids are renumbered in time order).

What the data is built to show (figures measured on the default seeds after `metrics build` with
scripts/figures.sql):
- Acquisition: new users grow ~2x over the two years, with a November/December peak. A paid-acquired user
  comes back through more paid clicks (retargeting), so per paid channel the cost per new user is 1.5-2x
  the cost per click (default seeds: paid_search 1.76x, paid_social 1.69x over the period; monthly medians
  1.75/1.71; the launch month, November 2024, is lower). Ad platforms report spend without the 20% VAT and
  without the agency fee (paid_search 10%, paid_social 15%); ad_spend.clicks is exactly the paid sessions.
- CRM channels: WhatsApp 98% opened vs email 23% (SMS has no read receipts: opened_at is always NULL);
  cost per message push 0.03, email 0.12, sms 2.40, whatsapp 11.50 roubles (WhatsApp ~96x email).
- North Star: clicks on CRM messages lead to orders within days (most the same session, some up to 10 days
  later, beyond the 7-day window). The programme grows ~12% per user per quarter, with push from March 2025
  and WhatsApp from July 2025, and a winter sale in January and February, so completed CRM-attributed orders
  grow 20-30% quarter over quarter in the latest quarters (default seeds: 2025-Q4 192, 2026-Q1 237 (+23%),
  2026-Q2 305 (+29%), 2026-Q3 380 (+25%); 2026-Q4 holds October only).
- Customer base: ~2% "office" customers order several times a month with large baskets: the top 1% of
  customers bring ~64% of revenue (top 18 customers ~52%, top 10% ~84%). Customers churn month over month
  (monthly churn 51-73%) and some come back after a pause; ~21% of registered users never buy. Half the
  customers buy once: some anonymous visitors come back once and register at checkout without marketing consent
  (a try, a cheap basket), so the CRM sends them only the order's messages.
- The CRM knows more people than the shop has seen: 5 contacts per visitor who never visited (newsletter
  subscribers from tastings and partners, and the brand's old list imported at the launch, 40% of whose addresses
  bounce), rows of users with no first_seen_at. They get the monthly newsletter until a bounce, an unsubscribe or
  3 unopened emails in a row suppress them. As of 2026-10 the customer base is 28,377 ever contacted, 7,543 in
  active communication (a delivered message in 90 days), 3,144 bought in 2 years, 1,306 twice in 12 months and
  40 bring 70% of the year's revenue: each level far smaller than the one above, as the domain's food
  manufacturer's 15,000 / 600 / 250 / 100 / 18. Contacts and one-off buyers draw from their own random streams
  and ids, so adding them changed no session, ad spend, or earlier customer's order or message.
- Reactivation: on the 3rd and 17th of each month customers whose last order is 60-365 days old are
  offered 15% off by email (later rotating email, sms, whatsapp), with a 10/15/20% held-out control group;
  completed orders per member within 14 days: treatment 0.082 vs control 0.0625 (+31%).
- Seasonality: visits and orders peak in November (x1.25) and December (x1.4); gifts sell in December.
- Products: 6 product lines, 48 SKUs; each customer buys from 1-3 lines (white space elsewhere).
- Funnels: login ~8% of attempts fail, signup ~13%, password reset ~4%, checkout ~5% (incl. abandoned carts).
- Incident: in the week of Monday 2026-03-16 to Sunday 2026-03-22 (ISO week 2026-W12) the payment
  provider fails: ~40% of checkout attempts fail (vs 3-6% in other weeks) and half of the customers who
  hit a failure give up (lost orders).
- Support contacts follow the data's own events: a failed payment brings `payment_failed` (18 in the incident
  week vs about 1 a week otherwise), a failed login `login_problem`, a returned order `return_request`, and
  orders bring `delivery_status` and `promo_question`; anonymous visitors and unknown callers leave user_id
  NULL. A chat costs 30-60 roubles, a call 60-120, an email 25-45; more contacts on Mondays, fewer at
  weekends. Contacts draw from their own random stream, so adding them changed no other table.
- Reactivation campaigns carry their promo code (campaigns.promo_code), so its use on orders is measurable;
  customers never buy some product lines (white space), most of all gifts, the line bought least often (as of
  2026-10, 86.8% of active customers did not buy gifts in 12 months vs 81.9% pantry, the next).
"""

from __future__ import annotations

import argparse
import bisect
import csv
import math
import multiprocessing
import os
import random
import shutil
import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

DAY = 86_400
HOUR = 3_600
MONTH = 30 * DAY
CHUNK_USERS = 5_000
DEFAULT_SEED = 1
LAST_MONTH = (2026, 10)

TABLES = (
    "users",
    "sessions",
    "session_events",
    "orders",
    "order_items",
    "products",
    "campaigns",
    "campaign_members",
    "communications",
    "ad_spend",
    "channel_fees",
    "support_contacts",
)
# The tables simulated per chunk of users; the others are static or derived in the final DuckDB step.
USER_TABLES = (
    "users",
    "sessions",
    "session_events",
    "orders",
    "order_items",
    "campaign_members",
    "communications",
    "support_contacts",
)
PAID = ("paid_search", "paid_social")
CRM = ("email", "sms", "push", "whatsapp")
# Calendar-month seasonality of visits and orders (January..December): a November/December peak.
SEASON = (0.92, 0.9, 0.97, 0.97, 1.0, 0.93, 0.9, 0.92, 1.0, 1.05, 1.25, 1.4)
INCIDENT = (date(2026, 3, 16), date(2026, 3, 23))
PUSH_LAUNCH = date(2025, 3, 1)
# Support contacts: which channel a customer picks per scenario, what a contact costs per channel (kopecks,
# uniform in the range: a chat 30-60 roubles, a call 60-120, an email 25-45), and how much likelier a contact is
# on each weekday (Monday..Sunday): people write on Monday about what went wrong over the weekend.
SUPPORT_CHANNELS = {
    "payment_failed": (("chat", 0.55), ("call", 0.35), ("email", 0.10)),
    "login_problem": (("chat", 0.50), ("call", 0.20), ("email", 0.30)),
    "return_request": (("email", 0.45), ("chat", 0.35), ("call", 0.20)),
    "delivery_status": (("chat", 0.60), ("call", 0.30), ("email", 0.10)),
    "promo_question": (("chat", 0.60), ("email", 0.30), ("call", 0.10)),
}
SUPPORT_COST = {"chat": (3000, 6000), "call": (6000, 12000), "email": (2500, 4500)}
SUPPORT_WEEKDAY = (1.3, 1.1, 1.0, 1.0, 0.95, 0.7, 0.65)
WHATSAPP_LAUNCH = date(2025, 7, 1)
# The CRM's contact base is larger than the shop's visitors: email subscribers collected at tastings, fairs and
# partner promotions, and the brand's old contact list imported at the launch, who never visited the shop. Per
# simulated user, LEADS_PER_USER contacts; LEAD_IMPORT_SHARE of them are the imported list, whose stale addresses
# bounce more. A contact gets the email promos until the CRM suppresses them (a bounce, an unsubscribe, or
# LEAD_SUNSET delivered emails in a row left unopened), so most of the base falls out of active communication.
LEADS_PER_USER = 5
LEAD_IMPORT_SHARE = 0.55
LEAD_BOUNCE = {"import": 0.4, "collected": 0.03}
LEAD_SUNSET = 3
LEAD_UNSUBSCRIBE = 0.02
# Share of the anonymous visitors who come back to buy once, registering at checkout without marketing consent
# (a gift, a try): one-time buyers who get only transactional messages.
ONE_OFF_BUYERS = 0.55
# Provisional ids of the rows drawn from the contact and one-off streams live apart from the users' own ids, so
# adding those streams renumbered nothing the users' simulation wrote.
EXTRA_IDS = 9_000_000_000

ACQ_CHANNELS = (("paid_search", 0.24), ("paid_social", 0.20), ("seo", 0.24), ("direct", 0.17), ("referral", 0.15))
RETURN_CHANNELS = (
    ("direct", 0.594),
    ("seo", 0.303),
    ("referral", 0.09),
    ("paid_search", 0.008),
    ("paid_social", 0.005),
)
CITIES = (
    ("Moscow", 0.34),
    ("Saint Petersburg", 0.15),
    ("Novosibirsk", 0.07),
    ("Yekaterinburg", 0.07),
    ("Kazan", 0.06),
    ("Nizhny Novgorod", 0.05),
    ("Krasnodar", 0.06),
    ("Samara", 0.05),
    ("Rostov-on-Don", 0.05),
    ("Other", 0.10),
)
DEVICES = (("app", 0.35), ("mobile_web", 0.40), ("desktop", 0.25))
# Per CRM channel: delivery rate, open rate of delivered (None: no read receipts), click rate of opened
# (of delivered for sms), cost per message in kopecks.
CHANNEL_TERMS = {
    "email": (0.97, 0.25, 0.16, 12),
    "sms": (0.95, None, 0.045, 240),
    "push": (0.92, 0.10, 0.55, 3),
    "whatsapp": (0.995, 0.985, 0.07, 1150),
}
# Probability that a click on a message of this kind leads to an order within days.
CONVERSION = {"promo": 0.30, "reactivation": 0.42, "trigger": 0.30, "transactional": 0.0}
AGENCY_FEES = (("paid_search", "0.10"), ("paid_social", "0.15"))
PRODUCT_LINES = (
    (
        "coffee",
        0.34,
        900,
        (
            "Espresso blend",
            "Colombia Supremo",
            "Ethiopia Yirgacheffe",
            "Decaf Brazil",
            "Kenya AA",
            "Guatemala Antigua",
            "Sumatra Mandheling",
            "Drip bags",
        ),
    ),
    (
        "tea",
        0.20,
        550,
        ("Earl Grey", "Sencha", "Assam", "Rooibos", "Milk oolong", "Chamomile", "Darjeeling", "Masala chai"),
    ),
    (
        "confectionery",
        0.16,
        450,
        (
            "Dark chocolate 72%",
            "Milk chocolate",
            "Pastila",
            "Marshmallow",
            "Truffles",
            "Halva",
            "Nougat",
            "Candied orange",
        ),
    ),
    (
        "snacks",
        0.13,
        300,
        ("Almonds", "Cashews", "Granola", "Dried mango", "Protein bar", "Pistachios", "Rice crackers", "Trail mix"),
    ),
    ("pantry", 0.12, 400, ("Honey", "Jam", "Maple syrup", "Olive oil", "Pasta", "Pesto", "Spice set", "Buckwheat")),
    (
        "gifts",
        0.05,
        2500,
        (
            "Coffee gift box",
            "Tea gift box",
            "Chocolate box",
            "Hamper small",
            "Hamper large",
            "Advent calendar",
            "Mug set",
            "Gift card box",
        ),
    ),
)

# A try is a cheap basket: a one-off buyer's product line is drawn by its share over its base price, so the
# expensive gift boxes are rarely the one thing someone buys (weights: coffee 20%, ..., gifts 1%).
_TRY_WEIGHTS = {line: share / price for line, share, price, _names in PRODUCT_LINES}
ONE_OFF_LINES = tuple((line, weight / sum(_TRY_WEIGHTS.values())) for line, weight in _TRY_WEIGHTS.items())


def _pick(rng: random.Random, options: tuple) -> str:
    """Weighted choice over ((value, weight), ...) whose weights add up to 1."""
    r = rng.random()
    for value, weight in options:
        r -= weight
        if r < 0:
            return value
    return options[-1][0]


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _monthly_sends(first: date) -> list[tuple[str, int, str]]:
    """The CRM sends of the month starting ``first``, (channel, day, kind), in the order they go out."""
    year, month = first.year, first.month
    sends = [("email", 6, "promo"), ("email", 20, "promo"), ("sms", 12, "promo")]
    if month in (1, 2):
        sends.append(("email", 13, "promo"))  # the winter sale lifts the quiet first quarter
    if first >= PUSH_LAUNCH:
        sends.append(("push", 9, "promo"))
    if first >= WHATSAPP_LAUNCH:
        sends.append(("whatsapp", 15, "promo"))
    if month == 11:
        black_friday = max(d for d in range(22, 29) if date(year, 11, d).weekday() == 4)
        sends.append(("email", black_friday, "black_friday"))
    for day in (3, 17):
        sends.append(("reactivation", day, "reactivation"))
    return sorted(sends, key=lambda s: (s[1], s[0]))


def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + delta
    return index // 12, index % 12 + 1


class Campaign(NamedTuple):
    campaign_id: int
    name: str
    kind: str
    channel: str
    start: int  # seconds since the frame start
    discount_rate: float
    control_share: float
    code: str
    audience: float  # share of the reachable base a one-shot promo targets


class World:
    """Everything the users share: the time frame, the calendars, the catalogue. Built from (months, seed)."""

    def __init__(self, months: int, seed: int):
        first_year, first_month = _add_months(*LAST_MONTH, -(months - 1))
        end_year, end_month = _add_months(*LAST_MONTH, 1)
        self.start_date = date(first_year, first_month, 1)
        self.end_date = date(end_year, end_month, 1)
        self.days = (self.end_date - self.start_date).days
        self.end = self.days * DAY - HOUR  # nothing starts in the last hour, so sessions end inside the frame
        rng = random.Random(f"{seed}:world")
        day_dates = [self.start_date + timedelta(days=d) for d in range(self.days)]
        self.season = [SEASON[d.month - 1] for d in day_dates]
        # Acquisition grows linearly to 2x over two years, with the seasonal peak and busier weekends.
        cumulative, total = [], 0.0
        for d, day in enumerate(day_dates):
            absolute_days = (day - date(2024, 11, 1)).days
            total += (1 + absolute_days / 730) * self.season[d] * (1.1 if day.weekday() >= 5 else 1.0)
            cumulative.append(total)
        self.acquisition_cdf = [c / total for c in cumulative]
        self.price_index = [0.9 + 0.1 * (day - date(2024, 11, 1)).days / 730 for day in day_dates]
        self.incident = (self._offset(INCIDENT[0]), self._offset(INCIDENT[1]))
        self.push_launch = self._offset(PUSH_LAUNCH)
        self.whatsapp_launch = self._offset(WHATSAPP_LAUNCH)
        self.products = self._products(rng)
        self.line_skus = {}
        for sku, line, _name, price, popularity in self.products:
            self.line_skus.setdefault(line, []).append((sku, price, popularity))
        self.campaigns = self._campaigns(rng)
        by_name = {c.name: c for c in self.campaigns}
        self.welcome = by_name["Welcome series - email"]
        self.cart_email = by_name["Abandoned cart - email"]
        self.cart_push = by_name["Abandoned cart - push"]
        self.confirmation = by_name["Order confirmation - email"]
        self.delivery = by_name["Delivery updates - sms"]
        self.one_shot = sorted(
            (c for c in self.campaigns if c.kind in ("promo", "reactivation") and c.channel in CRM),
            key=lambda c: (c.start, c.campaign_id),
        )
        self.one_shot_starts = [c.start for c in self.one_shot]
        self.ads = [c for c in self.campaigns if c.channel in PAID]

    def _offset(self, day: date) -> int:
        return (day - self.start_date).days * DAY

    def date_of(self, t: int) -> date:
        return self.start_date + timedelta(days=t // DAY)

    def _products(self, rng: random.Random) -> list[tuple]:
        products = []
        for line, _share, base_price, names in PRODUCT_LINES:
            for i, name in enumerate(names, start=1):
                price = int(base_price * rng.uniform(0.6, 1.6) / 10) * 1000 - 100  # kopecks, ends in .00 - 1
                popularity = 1.0 / i
                products.append((f"{line[:3].upper()}-{i:03d}", line, name, price, popularity))
        return products

    def _campaigns(self, rng: random.Random) -> list[Campaign]:
        """The ad campaigns and the CRM calendar: ongoing triggers, then monthly promos and reactivations."""
        campaigns: list[Campaign] = []

        def add(name, kind, channel, start, discount=0.0, control=0.0, code="", audience=0.0):
            campaigns.append(
                Campaign(len(campaigns) + 1, name, kind, channel, start, discount, control, code, audience)
            )

        for name, channel in (
            ("Search - Brand", "paid_search"),
            ("Search - Generic", "paid_search"),
            ("Social - Prospecting", "paid_social"),
            ("Social - Retargeting", "paid_social"),
        ):
            add(name, "promo", channel, 0)
        for year in range(self.start_date.year, self.end_date.year + 1):
            start = self._offset(date(year, 11, 10))
            if 0 <= start < self.end:
                add(f"Social - Black Friday {year}", "promo", "paid_social", start)
        add("Welcome series - email", "trigger", "email", 0)
        add("Abandoned cart - email", "trigger", "email", 0)
        add("Abandoned cart - push", "trigger", "push", max(0, self._offset(PUSH_LAUNCH)))
        add("Order confirmation - email", "transactional", "email", 0)
        add("Delivery updates - sms", "transactional", "sms", 0)

        year, month = self.start_date.year, self.start_date.month
        shares = (0.10, 0.15, 0.20)
        reactivation_channels = ("email", "sms", "whatsapp")
        n_reactivation = 0
        while date(year, month, 1) < self.end_date:
            first = date(year, month, 1)
            progress = max(0.0, (first - date(2024, 11, 1)).days / 730)
            label = first.strftime("%Y-%m")
            for channel, day, kind in _monthly_sends(first):
                start = self._offset(date(year, month, day)) + 7 * HOUR
                if not 0 <= start < self.end:
                    continue
                if kind == "reactivation":
                    channel = reactivation_channels[n_reactivation % 3] if first >= WHATSAPP_LAUNCH else "email"
                    control = shares[n_reactivation % 3]
                    n_reactivation += 1
                    add(
                        f"{label} Win-back day {day} - {channel}",
                        "reactivation",
                        channel,
                        start,
                        0.15,
                        control,
                        f"BACK{label[2:4]}{label[5:]}{day:02d}",
                    )
                    continue
                discount = 0.30 if kind == "black_friday" else rng.choice((0.10, 0.15, 0.20))
                base = {"email": 0.45, "sms": 0.22, "push": 0.40, "whatsapp": 0.25}[channel]
                title = "Black Friday" if kind == "black_friday" else f"Promo day {day}"
                add(
                    f"{label} {title} - {channel}",
                    "promo",
                    channel,
                    start,
                    discount,
                    0.05,
                    f"{channel[:2].upper()}{label[2:4]}{label[5:]}{day:02d}",
                    base * 1.12 ** (progress * 8),  # the programme grows ~12% a quarter per user
                )
            year, month = _add_months(year, month, 1)
        return campaigns

    def ad_campaign(self, rng: random.Random, channel: str, t: int, returning: bool) -> int:
        """Which ad campaign a paid click at time t came through."""
        if channel == "paid_search":
            return 1 if returning or rng.random() < 0.35 else 2
        if returning:
            return 4
        for c in self.ads[4:]:
            if c.start <= t < c.start + 25 * DAY and rng.random() < 0.5:
                return c.campaign_id
        return 3


class Chunk:
    """Rows of one chunk of users, with provisional ids made unique across chunks by the chunk number."""

    def __init__(self, world: World, index: int, seed: int):
        self.w = world
        self.rng = random.Random(f"{seed}:chunk:{index}")
        self.base = index * 10_000_000_000
        self.next_id = 0
        self.rows = {name: [] for name in USER_TABLES}
        # Support contacts draw from their own stream (and ids): adding them left every other table as it was.
        self.support_rng = random.Random(f"{seed}:support:{index}")
        self.next_contact = 0
        # CRM-only contacts and one-off buyers: their own streams and id space (see EXTRA_IDS).
        self.lead_rng = random.Random(f"{seed}:leads:{index}")
        self.one_off_rng = random.Random(f"{seed}:one-off:{index}")
        self.next_extra = 0

    def new_id(self) -> int:
        self.next_id += 1
        return self.base + self.next_id

    def extra_id(self) -> int:
        self.next_extra += 1
        return self.base + EXTRA_IDS + self.next_extra

    def crm_message(self, rng: random.Random, campaign: Campaign, user_id: int, t: int, delivery: float) -> str:
        """Write a message no visit of this person follows; returns ``late`` (past the frame, not written),
        ``bounced``, ``unopened`` or ``opened``.

        A click is recorded (the email provider redirects it), but the visit it opens is a new anonymous cookie the
        shop cannot tie to this person, so it brings no session of theirs.
        """
        if t >= self.w.end:
            return "late"
        _delivery, open_rate, click_rate, cost = CHANNEL_TERMS[campaign.channel]
        opened = clicked = None
        delivered = rng.random() < delivery
        if delivered and open_rate is not None and rng.random() < open_rate:
            opened = t + int(rng.expovariate(1 / (3 * HOUR))) + 20
            if campaign.kind != "transactional" and rng.random() < click_rate:
                clicked = opened + rng.randrange(5, 300)
        if opened is not None and opened >= self.w.end:
            opened = clicked = None
        if clicked is not None and clicked >= self.w.end:
            clicked = None
        self.rows["communications"].append(
            (self.extra_id(), campaign.campaign_id, user_id, campaign.channel, t, int(delivered), opened, clicked, cost)
        )
        return "opened" if opened is not None else "unopened" if delivered else "bounced"


def _user_first_seen(w: World, rng: random.Random, user_index: int, users: int) -> int:
    """Stratified draw from the acquisition curve: user ids increase with first_seen_at."""
    q = (user_index + rng.random()) / users
    day = min(bisect.bisect_left(w.acquisition_cdf, q), w.days - 1)
    return day * DAY + _time_of_day(rng)


def _time_of_day(rng: random.Random) -> int:
    # Moscow daytime and evening (UTC+3): most visits between 05:00 and 20:00 UTC.
    hour = _pick(
        rng,
        (
            (5, 0.05),
            (6, 0.07),
            (7, 0.08),
            (8, 0.08),
            (9, 0.08),
            (10, 0.08),
            (11, 0.08),
            (12, 0.08),
            (13, 0.07),
            (14, 0.07),
            (15, 0.08),
            (16, 0.09),
            (17, 0.08),
            (18, 0.06),
            (19, 0.04),
            (20, 0.02),
            (2, 0.01),
            (3, 0.01),
            (4, 0.02),
        ),
    )
    return hour * HOUR + rng.randrange(HOUR)


class UserSim:
    """Simulates one user's whole life: visits, registration, orders, CRM messages and their effects."""

    def __init__(self, chunk: Chunk, user_id: int, first_seen: int):
        self.c = chunk
        self.w = chunk.w
        self.rng = chunk.rng
        self.user_id = user_id
        self.t0 = first_seen
        rng = self.rng
        self.device = _pick(rng, DEVICES)
        self.city = _pick(rng, CITIES)
        self.channel = _pick(rng, ACQ_CHANNELS)
        self.has_phone = rng.random() < 0.8
        self.registered_at: int | None = None
        self.orders: list[list] = []  # [time, session_id or None, campaign or None]
        self.order_times: list[int] = []
        self.ongoing: set[int] = set()
        self.visits: list[tuple[int, int]] = []  # (session id, start) of every session
        self.customer = False
        self.office = rng.random() < 0.02
        self.rate = rng.uniform(2.0, 4.5) if self.office else min(rng.lognormvariate(math.log(0.5), 0.8), 3.0)
        self.basket = rng.uniform(10, 22) if self.office else rng.lognormvariate(0, 0.3)
        primary = _pick(rng, tuple((line, share) for line, share, _p, _n in PRODUCT_LINES))
        self.lines = [primary] + [
            line for line, share, _p, _n in PRODUCT_LINES if line != primary and rng.random() < share * 0.8
        ]

    # -- sessions and their events -------------------------------------------------------------------
    def session(self, t: int, channel: str, campaign_id: int | None = None) -> int:
        sid = self.c.new_id()
        self.visits.append((sid, t))
        device = self.device if self.rng.random() < 0.85 else _pick(self.rng, DEVICES)
        self.c.rows["sessions"].append((sid, self.user_id, t, channel, campaign_id, device))
        logged_in = self.registered_at is not None and t > self.registered_at
        if logged_in and self.rng.random() < (0.15 if device == "app" else 0.35):
            self.login(sid, t + self.rng.randrange(5, 60))
        return sid

    def event(self, sid: int, t: int, kind: str, success: bool) -> None:
        self.c.rows["session_events"].append((sid, t, kind, int(success), self.c.new_id()))

    def login(self, sid: int, t: int) -> None:
        rng = self.rng
        if rng.random() >= 0.07:
            self.event(sid, t, "login", True)
            return
        self.event(sid, t, "login", False)
        self.contact(t, "login_problem", 0.25)
        r = rng.random()
        if r < 0.7:
            self.event(sid, t + rng.randrange(10, 60), "login", rng.random() >= 0.25)
        elif r < 0.9:
            t += rng.randrange(30, 300)
            ok = rng.random() >= 0.08
            self.event(sid, t, "password_reset", ok)
            if ok:
                self.event(sid, t + rng.randrange(60, 600), "login", True)

    def visit(self, t: int) -> int:
        """A return visit through the user's usual channels (paid users return through ads more)."""
        rng = self.rng
        channel = _pick(rng, RETURN_CHANNELS)
        if self.channel in PAID and rng.random() < 0.03:
            channel = self.channel
        campaign = self.w.ad_campaign(rng, channel, t, True) if channel in PAID else None
        return self.session(t, channel, campaign)

    # -- the life ------------------------------------------------------------------------------------
    def run(self) -> None:
        w, rng, t0 = self.w, self.rng, self.t0
        campaign = w.ad_campaign(rng, self.channel, t0, False) if self.channel in PAID else None
        first_sid = self.session(t0, self.channel, campaign)
        if rng.random() < 0.008:
            # Two sessions at the same second (e.g. an app deep link and a browser tab): first-touch ties.
            self.session(t0, "direct")
        if self.channel in PAID:
            for _ in range(_poisson(rng, 0.4)):
                t = t0 + rng.randrange(HOUR, 21 * DAY)
                if t < w.end:
                    self.session(t, self.channel, w.ad_campaign(rng, self.channel, t, True))
        for _ in range(_poisson(rng, 0.9)):
            t = t0 + int(rng.expovariate(1 / (12 * DAY))) + 60
            if t < w.end:
                self.visit(t)
        self.register(first_sid)
        if self.registered_at is not None:
            self.become_customer()
            self.triggers()
            self.one_shot_campaigns()
        self.finish_orders()
        self.write_user()

    def register(self, first_sid: int) -> None:
        w, rng, t0 = self.w, self.rng, self.t0
        if rng.random() >= 0.55:
            if rng.random() < 0.06:
                self.event(first_sid, t0 + rng.randrange(60, 600), "signup", False)
            return
        if rng.random() < 0.6:
            t, sid = t0 + rng.randrange(60, 900), first_sid
        else:
            t = t0 + int(rng.expovariate(1 / (6 * DAY))) + HOUR
            if t >= w.end:
                return
            sid = self.visit(t - rng.randrange(60, 600))
        while rng.random() < 0.10:
            self.event(sid, t - rng.randrange(20, 60), "signup", False)
        self.event(sid, t, "signup", True)
        self.registered_at = t
        self.registration_session = sid

    def become_customer(self) -> None:
        rng = self.rng
        if rng.random() >= 0.72:
            return
        self.customer = True
        reg = self.registered_at
        if rng.random() < 0.35:
            self.add_order(reg + rng.randrange(120, 1500), self.registration_session)
        else:
            self.add_order(reg + int(rng.expovariate(1 / (5 * DAY))) + 600)
        if not self.order_times:
            return
        first = self.order_times[0]
        life = rng.expovariate(1 / ((30 if self.office else 9) * MONTH))
        self.organic_orders(first, first + life)
        if rng.random() < 0.3:
            back = first + life + rng.expovariate(1 / (4 * MONTH))
            self.organic_orders(back, back + rng.expovariate(1 / (6 * MONTH)))

    def organic_orders(self, start: float, stop: float) -> None:
        """Orders and browsing visits as Poisson processes while the customer is alive, thinned by season."""
        w, rng = self.w, self.rng
        stop = min(stop, w.end)
        peak = max(SEASON)
        for rate, is_order in ((self.rate, True), (min(self.rate, 2.0) * 1.2, False)):
            t = start
            while True:
                t += rng.expovariate(rate * peak / MONTH)
                if t >= stop:
                    break
                if rng.random() < w.season[int(t) // DAY] / peak:
                    when = int(t) // DAY * DAY + _time_of_day(rng)
                    if when >= w.end or when <= self.t0:
                        continue
                    if is_order:
                        # A spell's first day: the drawn time of day may fall before the spell started.
                        self.add_order(max(when, int(start) + 60))
                    else:
                        self.browse(when)

    def browse(self, t: int) -> None:
        sid = self.visit(t)
        if self.rng.random() < 0.02:
            self.event(sid, t + self.rng.randrange(120, 900), "checkout", False)
        if self.rng.random() < 0.10:
            push = self.device == "app" and t >= self.w.push_launch
            self.message(self.w.cart_push if push else self.w.cart_email, t + HOUR + self.rng.randrange(600))

    def add_order(self, t: int, sid: int | None = None, campaign: Campaign | None = None) -> None:
        if t >= self.w.end:
            return
        self.orders.append([t, sid, campaign])
        bisect.insort(self.order_times, t)

    def triggers(self) -> None:
        self.message(self.w.welcome, self.registered_at + 60 + self.rng.randrange(60))

    def one_shot_campaigns(self) -> None:
        w, rng = self.w, self.rng
        first = bisect.bisect_left(w.one_shot_starts, self.registered_at)
        for campaign in w.one_shot[first:]:
            send = campaign.start
            if campaign.kind == "reactivation":
                if not self.order_times or campaign.channel != "email" and not self.has_phone:
                    continue
                last = self.order_times[bisect.bisect_left(self.order_times, send) - 1]
                if not (last < send and 60 * DAY <= send - last <= 365 * DAY):
                    continue
            else:
                reachable = (
                    self.device == "app"
                    if campaign.channel == "push"
                    else self.has_phone
                    if campaign.channel in ("sms", "whatsapp")
                    else True
                )
                if not reachable or rng.random() >= campaign.audience:
                    continue
            if rng.random() < campaign.control_share:
                self.c.rows["campaign_members"].append((campaign.campaign_id, self.user_id, "control"))
                continue
            self.c.rows["campaign_members"].append((campaign.campaign_id, self.user_id, "treatment"))
            self.message(campaign, send + rng.randrange(1800))

    def _engagement(self, campaign: Campaign, t: int) -> tuple[bool, int | None, int | None]:
        """Whether a message is delivered, and when it is opened and clicked (None: never)."""
        rng = self.rng
        delivery, open_rate, click_rate, _cost = CHANNEL_TERMS[campaign.channel]
        opened = clicked = None
        boost = 1.3 if campaign.kind == "reactivation" else 1.0  # a personal win-back offer gets more clicks
        delivered = rng.random() < delivery
        if delivered:
            if open_rate is None:
                if rng.random() < click_rate * boost:
                    clicked = t + int(rng.expovariate(1 / (2 * HOUR))) + 30
            elif rng.random() < open_rate:
                opened = t + int(rng.expovariate(1 / (3 * HOUR))) + 20
                if rng.random() < click_rate * boost:
                    clicked = opened + rng.randrange(5, 300)
        return delivered, opened, clicked

    def message(self, campaign: Campaign, t: int) -> None:
        """Send one message; a click opens a session and may lead to an order within days."""
        w, rng = self.w, self.rng
        if t >= w.end:
            return
        if campaign.kind in ("trigger", "transactional") and campaign.campaign_id not in self.ongoing:
            self.ongoing.add(campaign.campaign_id)
            self.c.rows["campaign_members"].append((campaign.campaign_id, self.user_id, "treatment"))
        cost = CHANNEL_TERMS[campaign.channel][3]
        delivered, opened, clicked = self._engagement(campaign, t)
        if campaign.kind == "transactional" and clicked is not None and rng.random() > 0.1:
            clicked = None
        if clicked is not None and clicked >= w.end:
            clicked = None
        self.c.rows["communications"].append(
            (
                self.c.new_id(),
                campaign.campaign_id,
                self.user_id,
                campaign.channel,
                t,
                int(delivered),
                opened,
                clicked,
                cost,
            )
        )
        if clicked is None:
            return
        sid = self.session(clicked, campaign.channel, campaign.campaign_id)
        conversion = CONVERSION[campaign.kind] * (1.0 if self.customer else 0.5)
        if rng.random() >= conversion:
            return
        r = rng.random()
        if r < 0.55:
            self.add_order(clicked + rng.randrange(120, 1800), sid, campaign)
        else:
            days = rng.uniform(0.2, 3) if r < 0.85 else rng.uniform(3, 10)
            self.add_order(clicked + int(days * DAY), None, campaign)
        if campaign.kind == "reactivation" and rng.random() < 0.3:
            # Some reactivated customers come back for good: a new spell of regular orders.
            back = clicked + 2 * DAY
            self.organic_orders(back, back + rng.expovariate(1 / (5 * MONTH)))

    # -- orders ----------------------------------------------------------------------------------------
    def finish_orders(self) -> None:
        w, rng = self.w, self.rng
        self.orders.sort(key=lambda o: o[0])
        lo, hi = w.incident
        first = True
        for t, sid, campaign in self.orders:
            if sid is None and rng.random() >= 0.04:  # else a phone order: no web session
                sid = self.visit(max(t - rng.randrange(300, 1800), self.t0 + 1))
            failures = 0
            if sid is not None:
                failure = 0.35 if lo <= t < hi else 0.03
                while rng.random() < failure and failures < 4:
                    failures += 1
                    self.event(sid, t - 20 * failures - rng.randrange(20), "checkout", False)
                if failures and rng.random() < (0.5 if lo <= t < hi else 0.1):
                    self.contact(t + 60, "payment_failed", 0.7)  # asks support why, about no order
                    continue  # the customer gave up: a lost order
                self.event(sid, t, "checkout", True)
            order_id = self.write_order(t, sid, campaign, first)
            if sid is not None and failures:
                self.contact(t + 60, "payment_failed", 0.35, order_id)  # it went through in the end: why not at first?
            first = False

    def write_order(self, t: int, sid: int | None, campaign: Campaign | None, first: bool) -> int:
        w, rng = self.w, self.rng
        order_id = self.c.new_id()
        day = t // DAY
        lines = list(self.lines)
        if w.date_of(t).month in (11, 12) and "gifts" not in lines and rng.random() < 0.3:
            lines.append("gifts")
        n_items = min(1 + _poisson(rng, 1.1), 6)
        chosen: dict[str, tuple[int, int]] = {}
        for _ in range(n_items * 2):
            if len(chosen) >= n_items:
                break
            skus = w.line_skus[rng.choice(lines)]
            sku, price, _popularity = rng.choices(skus, weights=[s[2] for s in skus])[0]
            if sku in chosen:
                continue
            quantity = _pick(rng, ((1, 0.68), (2, 0.2), (3, 0.08), (4, 0.04)))
            quantity = max(1, round(quantity * self.basket))
            unit = round(price * w.price_index[day] / 1000) * 1000 - 100  # prices end in 9 roubles
            chosen[sku] = (quantity, max(unit, 900))
        items_total = sum(q * u for q, u in chosen.values())
        for sku, (quantity, unit) in chosen.items():
            self.c.rows["order_items"].append((order_id, sku, quantity, unit))
        rate, code = 0.0, None
        if campaign is not None and campaign.discount_rate and rng.random() < 0.85:
            rate, code = campaign.discount_rate, campaign.code
        elif first and rng.random() < 0.3:
            rate, code = 0.10, "WELCOME10"
        discount = round(items_total * rate)
        status = _pick(rng, (("completed", 0.89), ("cancelled", 0.065), ("returned", 0.045)))
        payment = 0 if status == "cancelled" else items_total - discount
        self.c.rows["orders"].append((order_id, self.user_id, sid, t, status, items_total, discount, payment, code))
        self.order_contacts(t, order_id, status, code)
        self.message(w.confirmation, t + 60 + rng.randrange(60))
        if status != "cancelled" and self.has_phone and rng.random() < 0.5:
            self.message(w.delivery, t + DAY + rng.randrange(DAY))
        return order_id

    def write_user(self) -> None:
        if self.registered_at is None:
            # An anonymous visitor asks about delivery or a promo before buying: a contact nobody can identify.
            srng = self.c.support_rng
            if srng.random() < 0.04:
                scenario = "delivery_status" if srng.random() < 0.5 else "promo_question"
                self.contact(self.t0 + srng.randrange(HOUR, 3 * DAY), scenario, 1.0, anonymous=True)
            self.one_off_purchase()
        self.c.rows["users"].append((self.user_id, self.t0, self.registered_at, self.city))

    # -- one-off buyers (their own random stream: see Chunk) --------------------------------------------------
    def one_off_purchase(self) -> None:
        """Some anonymous visitors come back once to buy (a gift, a try): they register at checkout without
        marketing consent, so the CRM sends them the order's transactional messages and nothing else."""
        w, rng = self.w, self.c.one_off_rng
        if rng.random() >= ONE_OFF_BUYERS:
            return
        sid, start = rng.choice(self.visits)
        registered = start + rng.randrange(60, 240)
        t = registered + rng.randrange(120, 1500)
        if t >= w.end:
            return
        while rng.random() < 0.10:
            self.extra_event(sid, registered - rng.randrange(20, 60), "signup", False)
        self.extra_event(sid, registered, "signup", True)
        self.registered_at = registered
        lo, hi = w.incident
        failures = 0
        while rng.random() < (0.35 if lo <= t < hi else 0.03) and failures < 4:
            failures += 1
            self.extra_event(sid, t - 20 * failures - rng.randrange(20), "checkout", False)
        if failures and rng.random() < (0.5 if lo <= t < hi else 0.1):
            return  # gave up: registered, never bought
        self.extra_event(sid, t, "checkout", True)
        order_id = self.c.extra_id()
        day = t // DAY
        lines = [_pick(rng, ONE_OFF_LINES)]
        chosen: dict[str, tuple[int, int]] = {}
        for _ in range(min(1 + _poisson(rng, 0.8), 4)):
            skus = w.line_skus[lines[0]]
            sku, price, _popularity = rng.choices(skus, weights=[s[2] for s in skus])[0]
            if sku not in chosen:
                unit = round(price * w.price_index[day] / 1000) * 1000 - 100
                chosen[sku] = (_pick(rng, ((1, 0.75), (2, 0.2), (3, 0.05))), max(unit, 900))
        for sku, (quantity, unit) in chosen.items():
            self.c.rows["order_items"].append((order_id, sku, quantity, unit))
        items_total = sum(q * u for q, u in chosen.values())
        status = _pick(rng, (("completed", 0.89), ("cancelled", 0.065), ("returned", 0.045)))
        payment = 0 if status == "cancelled" else items_total
        self.c.rows["orders"].append((order_id, self.user_id, sid, t, status, items_total, 0, payment, None))
        sends = [(w.confirmation, t + 60 + rng.randrange(60))]
        if status != "cancelled" and self.has_phone and rng.random() < 0.5:
            sends.append((w.delivery, t + DAY + rng.randrange(DAY)))
        for campaign, at in sends:
            if self.c.crm_message(rng, campaign, self.user_id, at, CHANNEL_TERMS[campaign.channel][0]) != "late":
                self.c.rows["campaign_members"].append((campaign.campaign_id, self.user_id, "treatment"))

    def extra_event(self, sid: int, t: int, kind: str, success: bool) -> None:
        self.c.rows["session_events"].append((sid, t, kind, int(success), self.c.extra_id()))

    # -- support contacts (their own random stream: see Chunk) ------------------------------------------------
    def order_contacts(self, t: int, order_id: int, status: str, code: str | None) -> None:
        """Contacts an order brings: a return asks for its refund, some ask where the parcel is or about a code."""
        srng = self.c.support_rng
        if status == "returned":
            self.contact(t + srng.randrange(DAY, 10 * DAY), "return_request", 0.75, order_id)
        elif status == "completed":
            self.contact(t + srng.randrange(DAY, 4 * DAY), "delivery_status", 0.05, order_id)
        if code is not None:
            self.contact(t - srng.randrange(600, DAY), "promo_question", 0.04, order_id)

    def contact(
        self, t: int, scenario: str, chance: float, order_pid: int | None = None, anonymous: bool = False
    ) -> None:
        """Maybe open a support contact at about time t (more on Mondays, fewer at weekends).

        ``order_pid`` is the provisional id of the order the contact is about, if any.
        """
        w, srng = self.w, self.c.support_rng
        if srng.random() >= chance:
            return
        t = max(t + srng.randrange(60, 4 * HOUR), self.t0 + 1)
        if t >= w.end or srng.random() >= SUPPORT_WEEKDAY[w.date_of(t).weekday()] / max(SUPPORT_WEEKDAY):
            return
        channel = _pick(srng, SUPPORT_CHANNELS[scenario])
        # A call from a number the CRM does not know: the agent finds the order, not the customer.
        if channel == "call" and srng.random() < 0.1:
            anonymous = True
        low, high = SUPPORT_COST[channel]
        self.c.next_contact += 1
        self.c.rows["support_contacts"].append(
            (
                self.c.base + self.c.next_contact,
                None if anonymous else self.user_id,
                order_pid,
                t,
                channel,
                scenario,
                srng.randrange(low, high + 1, 100),
            )
        )


def _simulate_leads(w: World, chunk: Chunk, users: int, first: int, last: int) -> None:
    """The CRM-only contacts of users [first, last): rows in users (never seen: no first_seen_at), their email
    promos and promo memberships. Ids follow every user's: users + LEADS_PER_USER x first + 1, ..."""
    rng = chunk.lead_rng
    # Subscribers get the newsletter: the first email promo of each month.
    promos, months = [], set()
    for c in w.one_shot:
        if c.kind == "promo" and c.channel == "email" and w.date_of(c.start).replace(day=1) not in months:
            months.add(w.date_of(c.start).replace(day=1))
            promos.append(c)
    starts = [c.start for c in promos]
    for j in range((last - first) * LEADS_PER_USER):
        user_id = users + first * LEADS_PER_USER + j + 1
        chunk.rows["users"].append((user_id, None, None, _pick(rng, CITIES)))
        imported = rng.random() < LEAD_IMPORT_SHARE
        if imported:
            joined = 0
        else:
            joined = min(bisect.bisect_left(w.acquisition_cdf, rng.random()), w.days - 1) * DAY + _time_of_day(rng)
        bounces = rng.random() < LEAD_BOUNCE["import" if imported else "collected"]
        unopened = 0
        for campaign in promos[bisect.bisect_left(starts, joined) :]:
            if rng.random() >= campaign.audience:
                continue
            if rng.random() < campaign.control_share:
                chunk.rows["campaign_members"].append((campaign.campaign_id, user_id, "control"))
                continue
            at = campaign.start + rng.randrange(1800)
            delivery = 0.0 if bounces else CHANNEL_TERMS["email"][0]
            result = chunk.crm_message(rng, campaign, user_id, at, delivery)
            if result == "late":
                break
            chunk.rows["campaign_members"].append((campaign.campaign_id, user_id, "treatment"))
            if result == "bounced" and bounces:
                break  # a hard bounce: the CRM suppresses the address
            unopened = 0 if result == "opened" else unopened + (result == "unopened")
            if unopened >= LEAD_SUNSET or rng.random() < LEAD_UNSUBSCRIBE:
                break  # the sunset policy suppresses a cold contact; or the contact unsubscribed


def _simulate_chunk(args: tuple) -> str:
    """Simulate users [first, last) into CSV files `<tmp>/<table>/<index>.csv`; returns the chunk's label."""
    users, months, seed, index, tmp = args
    world = World(months, seed)
    chunk = Chunk(world, index, seed)
    first, last = index * CHUNK_USERS, min((index + 1) * CHUNK_USERS, users)
    for user_index in range(first, last):
        UserSim(chunk, user_index + 1, _user_first_seen(world, chunk.rng, user_index, users)).run()
    _simulate_leads(world, chunk, users, first, last)
    for table, rows in chunk.rows.items():
        if rows or index == 0:  # chunk 0 always writes, so every table has a file even when it is empty
            with open(Path(tmp) / table / f"{index:05d}.csv", "w", newline="") as f:
                csv.writer(f).writerows(rows)
    return f"{first}-{last}"


def _run_chunks(jobs: list[tuple], workers: int) -> None:
    """Simulate the chunks, in `workers` forked processes when there are several.

    Forked processes run their share without pickling anything, so this works however the module was loaded
    (benchmarks load it by path, where a process pool could not find `_simulate_chunk` by name).
    """
    if workers <= 1:
        for job in jobs:
            _simulate_chunk(job)
        return
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_run_chunks, args=(jobs[k::workers], 1)) for k in range(workers)]
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    failed = [process.exitcode for process in processes if process.exitcode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} of {workers} generator processes failed (exit codes {failed}).")


def _write_static(world: World, tmp: Path) -> None:
    """The small tables that do not depend on the users: products, campaigns, channel fees."""
    with open(tmp / "products" / "static.csv", "w", newline="") as f:
        csv.writer(f).writerows((sku, line, name, price) for sku, line, name, price, _pop in world.products)
    with open(tmp / "campaigns" / "static.csv", "w", newline="") as f:
        csv.writer(f).writerows(
            (
                c.campaign_id,
                c.name,
                c.kind,
                c.channel,
                c.start,
                f"{c.discount_rate:.2f}",
                f"{c.control_share:.2f}",
                c.code,
            )
            for c in world.campaigns
        )
    with open(tmp / "channel_fees" / "static.csv", "w", newline="") as f:
        csv.writer(f).writerows(AGENCY_FEES)


# The final step, in DuckDB: type the chunk files, renumber ids in time order, derive ad spend from the paid
# sessions (clicks are exactly the paid sessions), and write sorted tables.
# The chunk files' columns: provisional ids (pid), times in seconds since the frame start, money in kopecks.
STAGED_COLUMNS = {
    "users": {"user_id": "bigint", "first_seen": "bigint", "registered": "bigint", "city": "varchar"},
    "sessions": {
        "pid": "bigint",
        "user_id": "bigint",
        "t": "bigint",
        "channel": "varchar",
        "campaign_id": "bigint",
        "device": "varchar",
    },
    "session_events": {"sid": "bigint", "t": "bigint", "event_type": "varchar", "success": "int", "pid": "bigint"},
    "orders": {
        "pid": "bigint",
        "user_id": "bigint",
        "sid": "bigint",
        "t": "bigint",
        "status": "varchar",
        "items": "bigint",
        "discount": "bigint",
        "payment": "bigint",
        "promo_code": "varchar",
    },
    "order_items": {"oid": "bigint", "sku": "varchar", "quantity": "int", "unit": "bigint"},
    "campaign_members": {"campaign_id": "bigint", "user_id": "bigint", "group_name": "varchar"},
    "communications": {
        "pid": "bigint",
        "campaign_id": "bigint",
        "user_id": "bigint",
        "channel": "varchar",
        "t": "bigint",
        "delivered": "int",
        "opened": "bigint",
        "clicked": "bigint",
        "cost": "bigint",
    },
    "products": {"sku": "varchar", "product_line": "varchar", "name": "varchar", "price": "bigint"},
    "campaigns": {
        "campaign_id": "bigint",
        "name": "varchar",
        "kind": "varchar",
        "channel": "varchar",
        "t": "bigint",
        "discount_rate": "decimal(4,2)",
        "control_share": "decimal(4,2)",
        "code": "varchar",
    },
    "channel_fees": {"channel": "varchar", "agency_fee_rate": "decimal(4,2)"},
    "support_contacts": {
        "pid": "bigint",
        "user_id": "bigint",
        "oid": "bigint",
        "t": "bigint",
        "channel": "varchar",
        "scenario": "varchar",
        "cost": "bigint",
    },
}


def _staged_table(tmp: Path, table: str) -> str:
    """SQL creating `p_<table>` from the chunk files (or empty, with the right columns, when there are none)."""
    columns = STAGED_COLUMNS[table]
    if any(f.stat().st_size for f in (tmp / table).glob("*.csv")):
        source = f"read_csv('{(tmp / table).as_posix()}/*.csv', header=false, columns={columns!r})"
    else:
        source = "(select " + ", ".join(f"null::{t} as {c}" for c, t in columns.items()) + " limit 0)"
    return f"create table p_{table} as select * from {source};"


# The final step, in DuckDB: type the chunk files, renumber ids in time order, derive ad spend from the paid
# sessions (clicks are exactly the paid sessions), and write sorted tables.
FINALIZE_SQL = """
create macro ts(s) as timestamp '{start}' + to_seconds(s);
create macro rub(k) as (k / 100)::decimal(12,2);

create table session_ids as
    select pid, row_number() over (order by t, pid) as session_id from p_sessions;
create table order_ids as
    select pid, row_number() over (order by t, pid) as order_id from p_orders;

create view users as
    select user_id, ts(first_seen) as first_seen_at, ts(registered) as registered_at, city
    from p_users order by user_id;
create view sessions as
    select i.session_id, s.user_id, ts(s.t) as started_at, s.channel, s.campaign_id,
           s.channel in ('paid_search', 'paid_social') as is_paid, s.device
    from p_sessions s join session_ids i using (pid) order by i.session_id;
create view session_events as
    select row_number() over (order by e.t, i.session_id, e.pid) as event_id, i.session_id,
           ts(e.t) as event_at, e.event_type, e.success::boolean as success
    from p_session_events e join session_ids i on i.pid = e.sid order by event_id;
create view orders as
    select i.order_id, o.user_id, s.session_id, ts(o.t) as ordered_at, o.status, rub(o.items) as items_total,
           rub(o.discount) as discount, rub(o.payment) as payment_total, o.promo_code
    from p_orders o join order_ids i using (pid) left join session_ids s on s.pid = o.sid
    order by i.order_id;
create view order_items as
    select i.order_id, it.sku, it.quantity, rub(it.unit) as unit_price
    from p_order_items it join order_ids i on i.pid = it.oid order by i.order_id, it.sku;
create view products as
    select sku, product_line, name, rub(price) as list_price from p_products order by sku;
create view campaigns as
    select campaign_id, name, kind, channel, ts(t) as started_at, discount_rate, control_share,
           nullif(code, '') as promo_code
    from p_campaigns order by campaign_id;
create view campaign_members as
    select campaign_id, user_id, group_name from p_campaign_members order by campaign_id, user_id;
create view communications as
    select row_number() over (order by t, pid) as message_id, campaign_id, user_id, channel,
           ts(t) as sent_at, delivered::boolean as delivered, ts(opened) as opened_at, ts(clicked) as clicked_at,
           rub(cost) as cost
    from p_communications order by message_id;
-- Ad platforms bill per click at a price that drifts with the season and the auction (a deterministic wobble).
create view ad_spend as
    with clicks as (
        select ts(t)::date as spend_date, channel, campaign_id, count(*) as clicks
        from p_sessions where channel in ('paid_search', 'paid_social') group by all
    )
    select spend_date, channel, campaign_id,
           round(clicks * (case channel when 'paid_search' then 34 else 23 end)
                 * (1 + 0.25 * (month(spend_date) in (11, 12))::int)
                 * (1 + 0.12 * sin(epoch(spend_date) / 86400 * 1.7 + campaign_id)), 2)::decimal(12,2) as spend,
           clicks,
           round(clicks / (case channel when 'paid_search' then 0.045 else 0.012 end)
                 * (1 + 0.2 * cos(epoch(spend_date) / 86400 * 0.9 + campaign_id)))::bigint as impressions
    from clicks order by spend_date, channel, campaign_id;
create view channel_fees as select channel, agency_fee_rate from p_channel_fees order by channel;
create view support_contacts as
    select row_number() over (order by c.t, c.pid) as contact_id, c.user_id, i.order_id, ts(c.t) as opened_at,
           c.channel, c.scenario, rub(c.cost) as cost
    from p_support_contacts c left join order_ids i on i.pid = c.oid order by contact_id;
"""


def _finalize(world: World, tmp: Path, out_dir: Path, fmt: str) -> None:
    import duckdb

    con = duckdb.connect(str(tmp / "build.duckdb"))
    con.execute("set preserve_insertion_order = true")
    # Stay memory-reasonable at millions of users: DuckDB spills its sorts and joins to disk past this.
    con.execute(f"set memory_limit = '2GB'; set temp_directory = '{(tmp / 'spill').as_posix()}'")
    for table in STAGED_COLUMNS:
        con.execute(_staged_table(tmp, table))
    con.execute(FINALIZE_SQL.format(start=world.start_date.isoformat()))
    out_dir.mkdir(parents=True, exist_ok=True)
    for table in TABLES:
        target = out_dir / f"{table}.{fmt}"
        options = "format csv, header true" if fmt == "csv" else "format parquet, compression zstd"
        con.execute(f"copy (select * from {table}) to '{target.as_posix()}' ({options})")
    con.close()


def generate(
    users: int = 5000, months: int = 24, seed: int = DEFAULT_SEED, out_dir: str | Path = "seeds", fmt: str = "csv"
) -> Path:
    """Generate all raw tables into `out_dir` as `<table>.csv` or `<table>.parquet`; returns the directory."""
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be csv or parquet, not {fmt!r}")
    if users < 1 or not 1 <= months <= 120:
        raise ValueError("users must be positive and months between 1 and 120")
    out = Path(out_dir)
    world = World(months, seed)
    tmp = Path(tempfile.mkdtemp(prefix="growth-data-"))
    try:
        for table in TABLES:
            (tmp / table).mkdir()
        _write_static(world, tmp)
        jobs = [(users, months, seed, i, str(tmp)) for i in range(math.ceil(users / CHUNK_USERS))]
        _run_chunks(jobs, min(len(jobs), os.cpu_count() or 1))
        _finalize(world, tmp, out, fmt)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=5000, help="number of users (default 5000)")
    parser.add_argument("--months", type=int, default=24, help="months of history ending 2026-10 (default 24)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed")
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv", dest="fmt")
    parser.add_argument("--out", default=None, help="output directory (default: seeds/ next to scripts/)")
    args = parser.parse_args(argv)
    out = args.out or Path(__file__).resolve().parent.parent / "seeds"
    started = datetime.now()
    generate(args.users, args.months, args.seed, out, args.fmt)
    print(f"wrote {len(TABLES)} tables to {out} in {(datetime.now() - started).total_seconds():.1f}s")


if __name__ == "__main__":
    main()
