"""Synthetic shop events: vectorised with NumPy, reproducible from a seed.

One `ShopGenerator.batch` call emits every kind of event a shop produces in a
window of time, as NDJSON lines per landing table: orders with their lines,
order status changes, returns, payments, inventory movements, customer and
product changes (SCD2 material) and web sessions whose purchases are the orders.
The first batch of a fresh shop starts with the reference pools (every
customer_created and product_created); orders follow once they are all out.

How it stays fast and small:

- Columns are drawn as arrays and formatted with f-string templates; Faker only
  builds the reference pools (names, e-mail domains, brands) once per seed.
- An order's content (customer, lines, prices, discounts, payment method) and its
  lifecycle (payment retry, paid, shipped, delivered, cancelled, returned,
  refunds, inventory movements) are pure functions of (seed, order number,
  minute it was placed in), computed with a counter-based hash. The first
  payment attempt comes with the order, seconds after it; the later steps
  happen minutes to days after it. Instead of keeping millions of open orders,
  the state keeps one record per minute of orders ("cohort": minute, order
  count) for the longest lifecycle (4 days). Within a cohort, the k-th fastest
  order for a step is found through an affine permutation, so the events due
  in any window are enumerated directly.
- Time-driven events (lifecycle steps, customer sign-ups and changes, price
  changes, stock adjustments and restocks) are emitted in time order up to the
  batch's event budget; if the budget is too small (a tiny final batch), the
  rest waits for the next batch ("horizon") and no new orders are placed until
  everything due is out. New orders and their web sessions take what the budget
  leaves, abandoned web sessions fill the rest, so a batch has exactly `events`
  lines (faults included).

Time: internally the generator runs on its own continuous shop clock. Each batch
continues where the previous one ended; if the caller's window does not start
where the last one ended (a restart hours later), the output is shifted so that
events keep coming out in the caller's window: the shop "paused" while the
producer was down, nothing is lost and nothing arrives late. The daily and
weekly rhythm and the promotions follow output (wall-clock) time, also after a
pause: the state keeps the few clock offsets that recent orders need.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import numpy as np

TABLES = (
    "orders",
    "order_status",
    "returns",
    "payments",
    "inventory",
    "customers",
    "products",
    "web_events",
)

US = 1_000_000
MINUTE_US = 60 * US
HOUR_US = 3600 * US
DAY_US = 86400 * US
EPOCH = datetime(1970, 1, 1)

# ---------------------------------------------------------------- reference data

# code, Faker locale, share of demand, growth (relative, reached over ~2 months),
# regions with their cities (first region of a country is the busiest).
COUNTRIES = (
    ("US", "en_US", 0.30, 0.10, (
        ("California", ("Los Angeles", "San Francisco", "San Diego")),
        ("Texas", ("Houston", "Austin", "Dallas")),
        ("New York", ("New York", "Buffalo", "Rochester")),
        ("Florida", ("Miami", "Orlando", "Tampa")),
        ("Illinois", ("Chicago", "Springfield")),
        ("Washington", ("Seattle", "Spokane")),
    )),
    ("GB", "en_GB", 0.11, -0.10, (
        ("England", ("London", "Manchester", "Birmingham", "Leeds")),
        ("Scotland", ("Edinburgh", "Glasgow")),
        ("Wales", ("Cardiff", "Swansea")),
        ("Northern Ireland", ("Belfast",)),
    )),
    ("DE", "de_DE", 0.10, 0.05, (
        ("Bayern", ("München", "Nürnberg")),
        ("Nordrhein-Westfalen", ("Köln", "Düsseldorf", "Dortmund")),
        ("Berlin", ("Berlin",)),
        ("Hamburg", ("Hamburg",)),
        ("Hessen", ("Frankfurt am Main", "Wiesbaden")),
    )),
    ("CA", "en_CA", 0.07, 0.15, (
        ("Ontario", ("Toronto", "Ottawa")),
        ("Quebec", ("Montreal", "Quebec City")),
        ("British Columbia", ("Vancouver", "Victoria")),
        ("Alberta", ("Calgary", "Edmonton")),
    )),
    ("FR", "fr_FR", 0.07, 0.00, (
        ("Île-de-France", ("Paris", "Versailles")),
        ("Auvergne-Rhône-Alpes", ("Lyon", "Grenoble")),
        ("Provence-Alpes-Côte d'Azur", ("Marseille", "Nice")),
        ("Occitanie", ("Toulouse", "Montpellier")),
    )),
    ("AU", "en_AU", 0.06, 0.20, (
        ("New South Wales", ("Sydney", "Newcastle")),
        ("Victoria", ("Melbourne", "Geelong")),
        ("Queensland", ("Brisbane", "Gold Coast")),
        ("Western Australia", ("Perth",)),
    )),
    ("IN", "en_IN", 0.06, 1.50, (
        ("Maharashtra", ("Mumbai", "Pune")),
        ("Karnataka", ("Bengaluru", "Mysuru")),
        ("Delhi", ("New Delhi",)),
        ("Tamil Nadu", ("Chennai", "Coimbatore")),
        ("Telangana", ("Hyderabad",)),
    )),
    ("JP", "ja_JP", 0.05, -0.20, (
        ("Tokyo", ("Tokyo",)),
        ("Osaka", ("Osaka", "Sakai")),
        ("Kanagawa", ("Yokohama", "Kawasaki")),
        ("Aichi", ("Nagoya",)),
        ("Hokkaido", ("Sapporo",)),
    )),
    ("BR", "pt_BR", 0.05, 0.90, (
        ("São Paulo", ("São Paulo", "Campinas")),
        ("Rio de Janeiro", ("Rio de Janeiro", "Niterói")),
        ("Minas Gerais", ("Belo Horizonte",)),
        ("Bahia", ("Salvador",)),
    )),
    ("ES", "es_ES", 0.05, 0.20, (
        ("Madrid", ("Madrid",)),
        ("Cataluña", ("Barcelona", "Girona")),
        ("Andalucía", ("Sevilla", "Málaga")),
        ("Comunidad Valenciana", ("Valencia", "Alicante")),
    )),
    ("MX", "es_MX", 0.04, 0.70, (
        ("Ciudad de México", ("Ciudad de México",)),
        ("Jalisco", ("Guadalajara", "Zapopan")),
        ("Nuevo León", ("Monterrey",)),
        ("Puebla", ("Puebla",)),
    )),
    ("NL", "nl_NL", 0.04, 0.30, (
        ("Noord-Holland", ("Amsterdam", "Haarlem")),
        ("Zuid-Holland", ("Rotterdam", "Den Haag")),
        ("Utrecht", ("Utrecht",)),
        ("Noord-Brabant", ("Eindhoven",)),
    )),
)  # fmt: skip

# category, median list price in dollars, product nouns
CATEGORIES = (
    ("electronics", 120.0, ("Wireless Earbuds", "Smart Watch", "Bluetooth Speaker", "USB-C Charger",
                            "Tablet", "Action Camera", "Mechanical Keyboard", "Monitor")),
    ("home", 45.0, ("Cast Iron Pan", "Desk Lamp", "Throw Blanket", "Coffee Grinder", "Knife Set",
                    "Storage Baskets", "Bed Sheets", "Air Purifier")),
    ("apparel", 38.0, ("Denim Jacket", "Running Shorts", "Wool Sweater", "Rain Coat", "Chinos",
                       "Hoodie", "Sneakers", "Baseball Cap")),
    ("beauty", 22.0, ("Face Serum", "Hand Cream", "Shampoo", "Lip Balm", "Sunscreen",
                      "Hair Dryer", "Perfume", "Nail Kit")),
    ("sports", 55.0, ("Yoga Mat", "Dumbbell Set", "Water Bottle", "Tennis Racket", "Bike Helmet",
                      "Resistance Bands", "Trail Backpack", "Jump Rope")),
    ("toys", 28.0, ("Building Blocks", "Puzzle", "Plush Bear", "Board Game", "Toy Car",
                    "Kite", "Science Kit", "Doll House")),
    ("grocery", 9.0, ("Espresso Beans", "Green Tea", "Olive Oil", "Dark Chocolate", "Granola",
                      "Hot Sauce", "Honey", "Pasta")),
    ("books", 16.0, ("Cookbook", "Travel Guide", "Mystery Novel", "Sketchbook", "Atlas",
                     "Poetry Collection", "Biography", "Comic Album")),
)  # fmt: skip
ADJECTIVES = ("Classic", "Pro", "Eco", "Ultra", "Essential", "Premium", "Smart", "Compact",
              "Deluxe", "Everyday", "Vintage", "Sport")  # fmt: skip

AGE_GROUPS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
AGE_WEIGHTS = (0.14, 0.28, 0.23, 0.16, 0.11, 0.08)
SEGMENTS = ("consumer", "small_business", "corporate", "vip")
SEGMENT_WEIGHTS = (0.72, 0.14, 0.08, 0.06)
CHANNELS = ("web", "mobile", "marketplace")
CHANNEL_WEIGHTS = (0.55, 0.35, 0.10)
METHODS = ("card", "paypal", "apple_pay", "bank_transfer", "gift_card")
METHOD_WEIGHTS = (0.52, 0.20, 0.13, 0.05, 0.10)
LINE_COUNT_WEIGHTS = (0.25, 0.25, 0.20, 0.12, 0.08, 0.05, 0.03, 0.02)  # 1..8 lines, mean ~2.9
QUANTITY_WEIGHTS = (0.62, 0.22, 0.09, 0.04, 0.02, 0.01)  # 1..6 units
STATUSES = ("paid", "shipped", "delivered", "cancelled", "returned")
PAID, SHIPPED, DELIVERED, CANCELLED, RETURNED = range(5)
MOVEMENT_TYPES = ("restock", "sale", "return", "adjustment")
RESTOCK, SALE, RETURN_MOVE, ADJUSTMENT = range(4)
WEB_TYPES = ("page_view", "add_to_cart", "checkout", "purchase")
VIEW, CART, CHECKOUT, PURCHASE = range(4)
PAYMENT_TYPES = ("payment_authorized", "payment_failed", "payment_refunded")
PAYMENT_STATUSES = ("authorized", "failed", "refunded")
AUTHORIZED, FAILED, REFUNDED = range(3)

# Shape of demand: relative volume per UTC hour (peaks ~12:00 and ~20:00),
# weekends busier, promotion hours busier still.
HOURLY_PROFILE = (0.35, 0.25, 0.20, 0.18, 0.20, 0.28, 0.45, 0.65, 0.85, 1.00, 1.10, 1.25,
                  1.45, 1.30, 1.15, 1.05, 1.05, 1.15, 1.35, 1.55, 1.75, 1.50, 1.00, 0.60)  # fmt: skip
WEEKEND_FACTOR = 1.25
PROMO_FACTOR = 1.6
_WEEK_MEAN = sum(HOURLY_PROFILE) / 24 * (5 + 2 * WEEKEND_FACTOR) / 7

# Mix and rates.
ORDER_SHARE = 0.058  # new orders per line of budget; their lifecycle fills most of the rest
GUEST_RATE = 0.05
FIRST_PAYMENT_FAILS = 0.06
SECOND_PAYMENT_FAILS = 0.25  # of those: the order is cancelled
CANCEL_AFTER_PAYMENT = 0.03
RETURN_RATE = 0.08  # of delivered orders
CUSTOMER_POWER = 2.5  # repeat customers: early customers of a country order most
SIGNUPS_PER_DAY = 0.01  # new customers a day, as a share of the initial pool
CUSTOMER_CHANGES_PER_DAY = 0.05  # customer updates a day, as a share of the initial pool
PRICE_CHANGES_PER_DAY = 0.25  # product updates a day, as a share of products
ADJUSTMENTS_PER_HOUR = 1.0
RESTOCK_PERIOD_US = 10 * MINUTE_US  # each product's stock is checked this often
GROWTH_DAYS = 30.0  # growth reaches tanh(days / GROWTH_DAYS) of its full effect


@dataclass(frozen=True)
class Delay:
    """Delay after the end of an order's minute, as quantiles: (probability, seconds)."""

    probs: tuple[float, ...]
    seconds: tuple[float, ...]

    @property
    def log_seconds(self) -> np.ndarray:
        return np.log(np.asarray(self.seconds))

    def quantile_us(self, p: np.ndarray) -> np.ndarray:
        return (np.exp(np.interp(p, self.probs, self.log_seconds)) * US).astype(np.int64)

    def cdf(self, delay_us: np.ndarray) -> np.ndarray:
        seconds = np.maximum(delay_us / US, 1e-9)
        return np.interp(np.log(seconds), self.log_seconds, self.probs)

    @property
    def min_us(self) -> int:
        return int(self.seconds[0] * US)

    @property
    def max_us(self) -> int:
        return int(self.seconds[-1] * US) + 1


# Lifecycle step groups. Supports do not overlap, so each order's steps come in
# lifecycle order whatever its random draws.
PAY1, PAY2, CANCEL_STEP, SHIP, DELIVER, RETURN_STEP = range(6)
GROUPS = (
    Delay((0, 0.5, 0.9, 1), (0.2, 3, 10, 25)),  # first payment attempt
    Delay((0, 0.5, 0.9, 1), (30, 70, 180, 360)),  # retry after a failed attempt
    Delay((0, 0.5, 1), (480, 1200, 3000)),  # customer cancels a paid order
    Delay((0, 0.5, 0.9, 1), (3300, 7200, 12600, 18000)),  # shipped
    Delay((0, 0.5, 0.9, 1), (21600, 43200, 79200, 108000)),  # delivered
    Delay((0, 0.5, 1), (115200, 180000, 345600)),  # returned
)
GROUP_MAX_OFFSET_US = (US // 4, US, 2 * US, US // 2, 0, 3 * US)
MAX_LIFE_US = max(g.max_us + o for g, o in zip(GROUPS, GROUP_MAX_OFFSET_US, strict=True))
EARLIEST_STEP_US = GROUPS[PAY2].min_us  # no lifecycle step of a cohort comes sooner
PRIMES = (1000000007, 1000000009, 1000000021, 1000000033, 1000000087, 1000000093, 1000000097,
          1000000103)  # fmt: skip


@dataclass(frozen=True)
class Faults:
    """Fault knobs for tests and benchmarks; all default 0 = off."""

    duplicate_rate: float = 0.0  # events re-emitted (same event_id and payload) later
    late_rate: float = 0.0  # events whose event time is before the window
    late_max_s: float = 3 * 86400
    out_of_order_rate: float = 0.0  # status updates emitted before the status they follow
    malformed_rate: float = 0.0  # lines replaced by a truncated (broken) line
    schema_drift_rate: float = 0.0  # events with an extra unknown field "_drift"
    # Well-formed events staging must quarantine: unknown event type, impossible
    # timestamp, missing key, or (returns) negative quantities.
    invalid_rate: float = 0.0

    @property
    def any(self) -> bool:
        return any(
            (
                self.duplicate_rate,
                self.late_rate,
                self.out_of_order_rate,
                self.malformed_rate,
                self.schema_drift_rate,
                self.invalid_rate,
            )
        )


@dataclass(frozen=True)
class Batch:
    """One micro-batch: NDJSON lines per landing table, and what they hold."""

    number: int
    lines_by_table: dict[str, list[str]]
    ledger: dict[str, dict[str, float]]

    @property
    def events(self) -> int:
        return sum(len(lines) for lines in self.lines_by_table.values())


# ---------------------------------------------------------------- hashing

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _smix(x: int) -> int:
    x &= _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _key(*parts: int) -> int:
    value = 0x243F6A8885A308D3
    for part in parts:
        value = _smix(value ^ _smix((part & _M64) + _GOLDEN))
    return value


_NP_C1 = np.uint64(0xBF58476D1CE4E5B9)
_NP_C2 = np.uint64(0x94D049BB133111EB)
_NP_G = np.uint64(_GOLDEN)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))


def _hash(key: int, values: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each value under `key` (splitmix64), vectorised."""
    x = np.asarray(values).astype(np.uint64)
    x *= _NP_G
    x += np.uint64(key)
    x ^= x >> _S30
    x *= _NP_C1
    x ^= x >> _S27
    x *= _NP_C2
    x ^= x >> _S31
    return x


def _uniform(key: int, values: np.ndarray) -> np.ndarray:
    return (_hash(key, values) >> _S11).astype(np.float64) * (1.0 / (1 << 53))


def _cum(weights) -> np.ndarray:
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    cum /= cum[-1]
    cum[-1] = 1.0 + 1e-12
    return cum


def _pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.searchsorted(cum, u, side="right").astype(np.int64)


# ---------------------------------------------------------------- time helpers


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch; naive datetimes are UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(us))


def _timestamps(us: np.ndarray) -> list[str]:
    return np.datetime_as_string(
        np.asarray(us, dtype=np.int64).astype("M8[us]"), unit="us"
    ).tolist()


def _money(cents: np.ndarray) -> list[str]:
    cents = np.asarray(cents, dtype=np.int64)
    dollars, rest = np.divmod(cents, 100)
    return [f"{d}.{_CENTS[r]}" for d, r in zip(dollars.tolist(), rest.tolist(), strict=True)]


_CENTS = [f"{c:02d}" for c in range(100)]


def _escaped(text: str) -> str:
    """The inside of a JSON string literal."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _ascii(text: str) -> str:
    text = text.replace("ß", "ss")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum()) or "user"


# ---------------------------------------------------------------- reference pools


@dataclass(frozen=True)
class Reference:
    """Everything static for a seed: names, e-mail parts, geography, products."""

    first_names: tuple[tuple[str, ...], ...]  # per country, JSON-escaped
    last_names: tuple[tuple[str, ...], ...]
    first_ascii: tuple[tuple[str, ...], ...]
    last_ascii: tuple[tuple[str, ...], ...]
    domains: tuple[tuple[str, ...], ...]
    country_codes: tuple[str, ...]
    country_cum: np.ndarray
    growth: np.ndarray
    base_weights: np.ndarray
    region_names: tuple[str, ...]  # flattened over countries, JSON-escaped
    region_first: np.ndarray  # first region index of each country
    region_count: np.ndarray
    city_names: tuple[str, ...]  # flattened over regions, JSON-escaped
    city_first: np.ndarray  # first city index of each region
    city_count: np.ndarray
    product_ids: tuple[str, ...]
    product_names: tuple[str, ...]  # JSON-escaped
    product_category: np.ndarray
    base_price: np.ndarray  # cents
    base_cost: np.ndarray
    initial_stock: np.ndarray
    popularity_cum: np.ndarray  # over popularity ranks
    popularity_order: np.ndarray  # product index of each popularity rank


@lru_cache(maxsize=16)
def reference(seed: int, products: int) -> Reference:
    from faker import Faker

    first, last, first_ascii, last_ascii, domains = [], [], [], [], []
    for index, (_, locale, *_rest) in enumerate(COUNTRIES):
        fake = Faker(locale)
        fake.seed_instance(_key(seed, 1, index) & 0x7FFFFFFF)
        if locale == "ja_JP":
            firsts = [fake.first_romanized_name() for _ in range(60)]
            lasts = [fake.last_romanized_name() for _ in range(60)]
        else:
            firsts = [fake.first_name() for _ in range(60)]
            lasts = [fake.last_name() for _ in range(60)]
        first.append(tuple(_escaped(name) for name in firsts))
        last.append(tuple(_escaped(name) for name in lasts))
        first_ascii.append(tuple(_ascii(name) for name in firsts))
        last_ascii.append(tuple(_ascii(name) for name in lasts))
        found = sorted({fake.free_email_domain() for _ in range(30)})
        domains.append(tuple(found))

    region_names, region_first, region_count = [], [], []
    city_names, city_first, city_count = [], [], []
    for _, _, _, _, regions in COUNTRIES:
        region_first.append(len(region_names))
        region_count.append(len(regions))
        for region, cities in regions:
            region_names.append(_escaped(region))
            city_first.append(len(city_names))
            city_count.append(len(cities))
            city_names.extend(_escaped(city) for city in cities)

    rng = np.random.default_rng([seed, 2])
    fake = Faker("en_US")
    fake.seed_instance(_key(seed, 2) & 0x7FFFFFFF)
    brands = [fake.last_name() for _ in range(40)]
    category = rng.integers(0, len(CATEGORIES), size=products)
    medians = np.array([c[1] for c in CATEGORIES])[category]
    dollars = np.maximum(np.round(medians * rng.lognormal(0.0, 0.5, size=products)), 1)
    price = (dollars * 100 - 1).astype(np.int64)
    cost = np.round(price * rng.uniform(0.35, 0.7, size=products)).astype(np.int64)
    names, seen = [], set()
    for index in range(products):
        nouns = CATEGORIES[category[index]][2]
        name = (
            f"{brands[rng.integers(len(brands))]} {ADJECTIVES[rng.integers(len(ADJECTIVES))]} "
            f"{nouns[rng.integers(len(nouns))]}"
        )
        if name in seen:
            name = f"{name} {index + 1}"
        seen.add(name)
        names.append(_escaped(name))
    popularity = 1.0 / np.arange(1, products + 1) ** 1.1
    return Reference(
        first_names=tuple(first),
        last_names=tuple(last),
        first_ascii=tuple(first_ascii),
        last_ascii=tuple(last_ascii),
        domains=tuple(domains),
        country_codes=tuple(c[0] for c in COUNTRIES),
        country_cum=_cum([c[2] for c in COUNTRIES]),
        growth=np.array([c[3] for c in COUNTRIES]),
        base_weights=np.array([c[2] for c in COUNTRIES]),
        region_names=tuple(region_names),
        region_first=np.array(region_first),
        region_count=np.array(region_count),
        city_names=tuple(city_names),
        city_first=np.array(city_first),
        city_count=np.array(city_count),
        product_ids=tuple(f"P{i:05d}" for i in range(1, products + 1)),
        product_names=tuple(names),
        product_category=category,
        base_price=price,
        base_cost=cost,
        initial_stock=rng.integers(50, 500, size=products),
        popularity_cum=_cum(popularity),
        popularity_order=rng.permutation(products),
    )


# ---------------------------------------------------------------- hash slots

(
    _GUEST, _COUNTRY, _CUSTOMER, _CHANNEL, _METHOD, _LINES, _PRODUCT, _QUANTITY, _DISCOUNT,
    _DISCOUNT_RATE, _FAIL1, _FAIL2, _CANCEL, _RETURN, _RETURN_LINE, _RETURN_QTY, _HOLD1, _HOLD2,
    _HOLD3, _NAME_FIRST, _NAME_LAST, _DOMAIN, _PROMO_DAY, _PROMO_START, _PROMO_LENGTH,
    _RESTOCK_PHASE,
) = range(26)  # fmt: skip
_JITTER, _PERM_A, _PERM_C = 100, 200, 300  # + group


@dataclass
class _Cohorts:
    """Orders per minute of placement: order numbers first_k .. first_k + count - 1."""

    minute: np.ndarray
    first_k: np.ndarray
    count: np.ndarray

    @classmethod
    def empty(cls) -> _Cohorts:
        return cls(*(np.zeros(0, dtype=np.int64) for _ in range(3)))

    def __len__(self) -> int:
        return len(self.minute)

    def take(self, index) -> _Cohorts:
        return _Cohorts(self.minute[index], self.first_k[index], self.count[index])

    def extended(self, minutes: np.ndarray, first_k: int) -> _Cohorts:
        """With orders first_k, first_k + 1, ... placed in `minutes` (sorted, not
        before the last cohort's minute)."""
        if not len(minutes):
            return self
        unique, counts = np.unique(minutes, return_counts=True)
        minute, first, count = self.minute.copy(), self.first_k.copy(), self.count.copy()
        if len(minute) and minute[-1] == unique[0]:
            count[-1] += counts[0]
            first_k += int(counts[0])
            unique, counts = unique[1:], counts[1:]
        starts = (first_k + np.cumsum(counts) - counts).astype(np.int64)
        return _Cohorts(
            np.concatenate((minute, unique)).astype(np.int64),
            np.concatenate((first, starts)).astype(np.int64),
            np.concatenate((count, counts)).astype(np.int64),
        )


@dataclass
class _Orders:
    """Order content, per order and per order line (pure functions of k and minute)."""

    k: np.ndarray
    minute: np.ndarray
    customer: np.ndarray  # customer index, -1 for a guest
    country: np.ndarray
    channel: np.ndarray
    method: np.ndarray
    line_count: np.ndarray
    line_start: np.ndarray
    gross: np.ndarray  # cents
    discount: np.ndarray
    # per line
    line_order: np.ndarray
    line_number: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    line_discount: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.gross - self.discount


class _Part(dict):
    """Columns of one table's rows: numpy arrays of one length; 't' is the event
    time (shop clock), 'key' the position in the file (= t unless a fault moves it)."""


# Lifecycle streams: events of one step group, each at an offset after the step.
(
    FAIL2, PF_CANCEL, AUTH2, PAID2, CANCEL, CANCEL_REFUND, SHIP_STATUS, SALE_MOVES,
    DELIVER_STATUS, RETURN_EVENT, RETURN_STATUS, RETURN_REFUND, RETURN_MOVES,
) = range(13)  # fmt: skip
# The first payment attempt (and "paid") comes with the order, seconds after it:
# PAY1 has no stream here (see _BatchBuilder._emit_orders).
STREAMS = {
    PAY1: (),
    PAY2: ((FAIL2, 0), (PF_CANCEL, US), (AUTH2, 0), (PAID2, US // 4)),
    CANCEL_STEP: ((CANCEL, 0), (CANCEL_REFUND, 2 * US)),
    SHIP: ((SHIP_STATUS, 0), (SALE_MOVES, US // 2)),
    DELIVER: ((DELIVER_STATUS, 0),),
    RETURN_STEP: (
        (RETURN_EVENT, 0),
        (RETURN_STATUS, US),
        (RETURN_REFUND, 2 * US),
        (RETURN_MOVES, 3 * US),
    ),
}


@dataclass
class _Due:
    """Lifecycle events due in a window: one row per (order, stream)."""

    t: np.ndarray
    k: np.ndarray
    minute: np.ndarray
    stream: np.ndarray
    pred_t: np.ndarray  # time of a held-back predecessor status emitted with it, or -1
    lines: np.ndarray

    @classmethod
    def empty(cls) -> _Due:
        return cls(*(np.zeros(0, dtype=np.int64) for _ in range(6)))

    @classmethod
    def concat(cls, parts: list[_Due]) -> _Due:
        parts = [p for p in parts if len(p.t)]
        if not parts:
            return cls.empty()
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__)
        )

    def where(self, mask: np.ndarray) -> _Due:
        return _Due(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))

    @property
    def line_total(self) -> int:
        return int(self.lines.sum())


@dataclass
class _Scheduled:
    """Entity events scheduled by time: sign-ups, customer and product changes,
    stock adjustments. `u` holds each event's own uniform draws."""

    kind: np.ndarray
    t: np.ndarray
    u: np.ndarray  # (n, 4)

    def where(self, mask: np.ndarray) -> _Scheduled:
        return _Scheduled(self.kind[mask], self.t[mask], self.u[mask])


SIGNUP, CUSTOMER_CHANGE, PRICE_CHANGE, STOCK_ADJUSTMENT = range(4)


class ShopGenerator:
    """Every event of a shop, batch by batch; deterministic for a seed and state."""

    def __init__(
        self, seed: int = 42, faults: Faults = Faults(), customers: int = 1000, products: int = 200
    ) -> None:
        if customers < 1 or products < 1:
            raise ValueError("customers and products must be >= 1")
        self.seed = seed
        self.faults = faults
        self.customers = customers
        self.products = products
        self.ref = reference(seed, products)
        self._keys = {slot: _key(seed, 7, slot) for slot in range(26)}
        for group in range(len(GROUPS)):
            for base in (_JITTER, _PERM_A, _PERM_C):
                self._keys[base + group] = _key(seed, 7, base + group)
        self._fresh()

    # ------------------------------------------------------------ state

    def _fresh(self) -> None:
        rng = np.random.default_rng([self.seed, 3])
        ref, n = self.ref, self.customers
        country = _pick(ref.country_cum, rng.random(n))
        region = ref.region_first[country] + (
            rng.random(n) ** 1.6 * ref.region_count[country]
        ).astype(np.int64)
        city = ref.city_first[region] + (rng.random(n) * ref.city_count[region]).astype(np.int64)
        self.origin: int | None = None  # shop clock at the first batch
        self.offset = 0  # output time = shop clock + offset (the current one)
        # Offset history: from shop time offset_from[i] on, offset_value[i] applies.
        # Rhythm and promotions follow output (wall) time, also after a pause.
        self.offset_from = np.zeros(0, dtype=np.int64)
        self.offset_value = np.zeros(0, dtype=np.int64)
        self.last_end: int | None = None
        self.horizon: int | None = None
        self.pool_at: int | None = None
        self.pool_emitted = 0
        self.next_order = 1
        self.next_movement = 1
        self.next_session = 1
        self.c_country = country
        self.c_region = region
        self.c_city = city
        self.c_age = _pick(_cum(AGE_WEIGHTS), rng.random(n))
        self.c_segment = _pick(_cum(SEGMENT_WEIGHTS), rng.random(n))
        self.c_email_version = np.zeros(n, dtype=np.int64)
        # Sign-up up to three years before the first batch (relative until then).
        self.c_signup = -(rng.random(n) * 3 * 365 * DAY_US).astype(np.int64)
        self.c_created = np.full(n, -1, dtype=np.int64)  # the pool exists from the start
        self.p_price = ref.base_price.copy()
        self.p_cost = ref.base_cost.copy()
        self.p_stock = ref.initial_stock.astype(np.int64).copy()
        self.p_rate = np.zeros(self.products)  # units sold per hour, smoothed
        self.h_product = np.arange(self.products, dtype=np.int64)
        self.h_minute = np.zeros(self.products, dtype=np.int64)
        self.h_price = ref.base_price.copy()
        self.cohorts = _Cohorts.empty()
        self.carry: dict[str, list[str]] = {}
        self._invalidate()

    def _invalidate(self) -> None:
        self._eligible = None
        self._customer_json = None
        self._history_key = self.h_product * (1 << 40) + self.h_minute

    def state(self) -> dict:
        """Everything needed to continue, JSON-serialisable."""
        return {
            "version": 1,
            "customers": self.customers,
            "products": self.products,
            "origin": self.origin,
            "offset": self.offset,
            "offsets": [self.offset_from.tolist(), self.offset_value.tolist()],
            "last_end": self.last_end,
            "horizon": self.horizon,
            "pool_at": self.pool_at,
            "pool_emitted": self.pool_emitted,
            "next_order": self.next_order,
            "next_movement": self.next_movement,
            "next_session": self.next_session,
            "customer": {
                "country": self.c_country.tolist(),
                "region": self.c_region.tolist(),
                "city": self.c_city.tolist(),
                "age": self.c_age.tolist(),
                "segment": self.c_segment.tolist(),
                "email_version": self.c_email_version.tolist(),
                "signup": self.c_signup.tolist(),
                "created": self.c_created.tolist(),
            },
            "product": {
                "price": self.p_price.tolist(),
                "cost": self.p_cost.tolist(),
                "stock": self.p_stock.tolist(),
                "rate": [round(float(x), 6) for x in self.p_rate],
            },
            "price_history": {
                "product": self.h_product.tolist(),
                "minute": self.h_minute.tolist(),
                "price": self.h_price.tolist(),
            },
            # Orders are numbered in placement order: a cohort starts where the last
            # ended, so its first order number is implied; minutes as steps.
            "cohorts": {
                "first_k": int(self.cohorts.first_k[0]) if len(self.cohorts) else self.next_order,
                "minute_steps": np.diff(self.cohorts.minute, prepend=0).tolist(),
                "count": self.cohorts.count.tolist(),
            },
            "carry": {table: list(lines) for table, lines in self.carry.items() if lines},
        }

    @classmethod
    def restore(
        cls,
        seed: int,
        faults: Faults,
        state: dict,
        customers: int | None = None,
        products: int | None = None,
    ) -> ShopGenerator:
        """A generator continuing from `state` (the pool sizes are the state's)."""
        generator = cls(
            seed, faults, customers=state.get("customers", customers or 1000),
            products=state.get("products", products or 200),
        )  # fmt: skip
        if not state:
            return generator
        for name in (
            "origin", "offset", "last_end", "horizon", "pool_at", "pool_emitted", "next_order",
            "next_movement", "next_session",
        ):  # fmt: skip
            setattr(generator, name, state[name])

        def ints(values) -> np.ndarray:
            return np.asarray(values, dtype=np.int64)

        c = state["customer"]
        generator.c_country, generator.c_region, generator.c_city = (
            ints(c["country"]), ints(c["region"]), ints(c["city"]),
        )  # fmt: skip
        generator.c_age, generator.c_segment = ints(c["age"]), ints(c["segment"])
        generator.c_email_version = ints(c["email_version"])
        generator.c_signup, generator.c_created = ints(c["signup"]), ints(c["created"])
        p = state["product"]
        generator.p_price, generator.p_cost = ints(p["price"]), ints(p["cost"])
        generator.p_stock = ints(p["stock"])
        generator.p_rate = np.asarray(p["rate"], dtype=np.float64)
        h = state["price_history"]
        generator.h_product, generator.h_minute = ints(h["product"]), ints(h["minute"])
        generator.h_price = ints(h["price"])
        generator.offset_from, generator.offset_value = (ints(v) for v in state["offsets"])
        k = state["cohorts"]
        count = ints(k["count"])
        generator.cohorts = _Cohorts(
            np.cumsum(ints(k["minute_steps"])), k["first_k"] + np.cumsum(count) - count, count
        )
        generator.carry = {table: list(lines) for table, lines in state["carry"].items()}
        generator._invalidate()
        return generator

    # ------------------------------------------------------------ shape of demand

    def _u(self, slot: int, values: np.ndarray) -> np.ndarray:
        return _uniform(self._keys[slot], values)

    def _promo(self, hours: np.ndarray) -> np.ndarray:
        """Promotion hours: on about a third of days, a 2-5 hour campaign from 09-18h."""
        hours = np.asarray(hours, dtype=np.int64)
        day = hours // 24
        start = 9 + (self._u(_PROMO_START, day) * 10).astype(np.int64)
        length = 2 + (self._u(_PROMO_LENGTH, day) * 4).astype(np.int64)
        hour_of_day = hours % 24
        return (
            (self._u(_PROMO_DAY, day) < 0.35)
            & (hour_of_day >= start)
            & (hour_of_day < start + length)
        )

    def _hour_weight(self, hours: np.ndarray) -> np.ndarray:
        hours = np.asarray(hours, dtype=np.int64)
        weekday = (hours // 24 + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        weight = np.asarray(HOURLY_PROFILE)[hours % 24] / _WEEK_MEAN
        weight = weight * np.where(weekday >= 5, WEEKEND_FACTOR, 1.0)
        return weight * np.where(self._promo(hours), PROMO_FACTOR, 1.0)

    def _mass(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative demand over [lo, hi) at hour boundaries: (times, cumulative)."""
        hours = np.arange(lo // HOUR_US, (hi - 1) // HOUR_US + 1, dtype=np.int64)
        bounds = np.concatenate(([lo], np.clip(hours[1:] * HOUR_US, lo, hi), [hi]))
        mass = np.diff(bounds) / US * self._hour_weight(hours)
        return bounds, np.concatenate(([0.0], np.cumsum(mass)))

    def activity(self, window_start: datetime, window_end: datetime) -> float:
        """Expected demand in a window, in average-seconds: the window's length in
        seconds weighted by the daily/weekly rhythm and promotions (a week of
        activity is ~604,800). Multiply by an average rate for a volume."""
        lo, hi = to_us(window_start), to_us(window_end)
        if hi <= lo:
            return 0.0
        return float(self._mass(lo, hi)[1][-1])

    def _times(self, rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
        """n sorted shop times in [lo, hi) following the rhythm (of output time)."""
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        bounds, cum = self._mass(lo + self.offset, hi + self.offset)
        u = np.sort(rng.random(n)) * cum[-1]
        times = np.interp(u, cum, bounds.astype(np.float64)).astype(np.int64) - self.offset
        return np.clip(times, lo, hi - 1)

    def _offset_at(self, shop_us: np.ndarray) -> np.ndarray:
        """The output-time offset that applied at each shop time."""
        if not len(self.offset_from):
            return np.zeros(len(shop_us), dtype=np.int64)
        position = np.searchsorted(self.offset_from, shop_us, side="right") - 1
        return self.offset_value[np.maximum(position, 0)]

    # ------------------------------------------------------------ order content

    def _eligibility(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per country: customer indexes and creation times, in creation order."""
        if self._eligible is None:
            order = np.argsort(self.c_country, kind="stable")
            bounds = np.searchsorted(self.c_country[order], np.arange(len(COUNTRIES) + 1))
            self._eligible = [
                (order[bounds[c] : bounds[c + 1]], self.c_created[order[bounds[c] : bounds[c + 1]]])
                for c in range(len(COUNTRIES))
            ]
        return self._eligible

    def _country_cum(self, minute: np.ndarray) -> np.ndarray:
        """Cumulative country weights (n, countries) with regional growth."""
        ref = self.ref
        days = (minute * MINUTE_US - (self.origin or 0)) // DAY_US if self.origin else minute * 0
        unique, inverse = np.unique(np.maximum(days, 0), return_inverse=True)
        growth = np.tanh(unique / GROWTH_DAYS)[:, None] * ref.growth[None, :]
        cum = np.cumsum(ref.base_weights[None, :] * (1 + growth), axis=1)
        return (cum / cum[:, -1:])[inverse]

    def _prices(self, product: np.ndarray, minute: np.ndarray) -> np.ndarray:
        position = np.searchsorted(self._history_key, product * (1 << 40) + minute, side="right")
        return self.h_price[position - 1]

    def _order_content(self, k: np.ndarray, minute: np.ndarray) -> _Orders:
        """Who ordered what at which price, for orders k placed in `minute`."""
        k = np.asarray(k, dtype=np.int64)
        n = len(k)
        u = self._u
        guest = u(_GUEST, k) < GUEST_RATE
        country = (self._country_cum(minute) < u(_COUNTRY, k)[:, None]).sum(axis=1)
        country = np.minimum(country, len(COUNTRIES) - 1)
        customer = np.full(n, -1, dtype=np.int64)
        pick = u(_CUSTOMER, k) ** CUSTOMER_POWER
        minute_start = minute * MINUTE_US
        for c, (ids, created) in enumerate(self._eligibility()):
            rows = np.flatnonzero((country == c) & ~guest)
            if not len(rows) or not len(ids):
                continue
            eligible = np.searchsorted(created, minute_start[rows], side="left")
            index = np.minimum(
                (eligible * pick[rows]).astype(np.int64), np.maximum(eligible - 1, 0)
            )
            found = eligible > 0
            customer[rows[found]] = ids[index[found]]
        channel, line_count = self._channel_and_lines(k)
        line_start = np.concatenate(([0], np.cumsum(line_count)[:-1])).astype(np.int64)
        total_lines = int(line_count.sum())
        line_order = np.repeat(np.arange(n), line_count)
        line_index = np.arange(total_lines) - line_start[line_order]
        line_key = k[line_order] * 16 + line_index
        ref = self.ref
        rank = _pick(ref.popularity_cum, u(_PRODUCT, line_key))
        for attempt in range(1, 6):  # one product per line of an order
            key = line_order * self.products + rank
            order = np.argsort(key, kind="stable")
            repeated = np.zeros(total_lines, dtype=bool)
            repeated[order[1:]] = key[order[1:]] == key[order[:-1]]
            if not repeated.any():
                break
            rank = np.where(repeated, (rank + attempt) % self.products, rank)
        product = ref.popularity_order[rank]
        quantity = _pick(_cum(QUANTITY_WEIGHTS), u(_QUANTITY, line_key)) + 1
        line_minute = minute[line_order]
        unit_price = self._prices(product, line_minute)
        start = minute * MINUTE_US
        promo = self._promo((start + self._offset_at(start)) // HOUR_US)[line_order]
        has_discount = u(_DISCOUNT, line_key) < np.where(promo, 0.6, 0.12)
        rate_draw = u(_DISCOUNT_RATE, line_key)
        rate = np.where(
            promo,
            np.array([10, 15, 20, 30])[(rate_draw * 4).astype(np.int64)],
            np.array([5, 10, 15])[(rate_draw * 3).astype(np.int64)],
        )
        line_gross = quantity * unit_price
        line_discount = np.where(has_discount, (line_gross * rate + 50) // 100, 0)
        return _Orders(
            k=k,
            minute=minute,
            customer=customer,
            country=country,
            channel=channel,
            method=_pick(_cum(METHOD_WEIGHTS), u(_METHOD, k)),
            line_count=line_count,
            line_start=line_start,
            gross=np.add.reduceat(line_gross, line_start) if n else line_gross[:0],
            discount=np.add.reduceat(line_discount, line_start) if n else line_discount[:0],
            line_order=line_order,
            line_number=line_index + 1,
            product=product,
            quantity=quantity,
            unit_price=unit_price,
            line_discount=line_discount,
        )

    def _channel_and_lines(self, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        channel = _pick(_cum(CHANNEL_WEIGHTS), self._u(_CHANNEL, k))
        return channel, _pick(_cum(LINE_COUNT_WEIGHTS), self._u(_LINES, k)) + 1

    def _returned_lines(self, content: _Orders) -> np.ndarray:
        """Quantity returned per order line (0: kept) for orders that are returned."""
        line_key = content.k[content.line_order] * 16 + content.line_number - 1
        chosen = self._u(_RETURN_LINE, line_key) < 0.6
        # At least one line per order: the first if none was drawn.
        any_chosen = np.add.reduceat(chosen.astype(np.int64), content.line_start) > 0
        chosen[content.line_start[~any_chosen]] = True
        quantity = 1 + (self._u(_RETURN_QTY, line_key) * content.quantity).astype(np.int64)
        return np.where(chosen, np.minimum(quantity, content.quantity), 0)

    # ------------------------------------------------------------ lifecycle

    def _outcomes(self, k: np.ndarray) -> dict[str, np.ndarray]:
        u = self._u
        fail1 = u(_FAIL1, k) < FIRST_PAYMENT_FAILS
        fail2 = fail1 & (u(_FAIL2, k) < SECOND_PAYMENT_FAILS)
        cancel = ~fail2 & (u(_CANCEL, k) < CANCEL_AFTER_PAYMENT)
        fulfilled = ~fail2 & ~cancel
        returned = fulfilled & (u(_RETURN, k) < RETURN_RATE)
        rate = self.faults.out_of_order_rate
        if rate > 0:
            hold_paid = (u(_HOLD1, k) < rate) & (fulfilled | cancel)
            hold_shipped = fulfilled & ~hold_paid & (u(_HOLD2, k) < rate)
            hold_delivered = returned & ~hold_shipped & (u(_HOLD3, k) < rate)
        else:
            hold_paid = hold_shipped = hold_delivered = np.zeros(len(k), dtype=bool)
        return {
            "fail1": fail1,
            "fail2": fail2,
            "cancel": cancel,
            "fulfilled": fulfilled,
            "returned": returned,
            "hold_paid": hold_paid,
            "hold_shipped": hold_shipped,
            "hold_delivered": hold_delivered,
        }

    def _permutation(
        self, group: int, minute: np.ndarray, count: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Affine permutation rank -> order offset of each cohort: (a, c)."""
        a = np.asarray(PRIMES, dtype=np.int64)[
            (_hash(self._keys[_PERM_A + group], minute) % np.uint64(len(PRIMES))).astype(np.int64)
        ]
        c = (_hash(self._keys[_PERM_C + group], minute) >> np.uint64(2)).astype(
            np.int64
        ) % np.maximum(count, 1)
        return a, c

    def _step_time(
        self, cohorts: _Cohorts, group: int, offset_us: int, k: np.ndarray, minute: np.ndarray
    ) -> np.ndarray:
        """When order k (placed in `minute`) reaches a step: the inverse of the
        enumeration in _due, for a predecessor status emitted late."""
        if not len(k):
            return np.zeros(0, dtype=np.int64)
        end = (minute + 1) * MINUTE_US
        jitter = self._u(_JITTER + group, k)
        if group == PAY1:  # paid came with the order: any time before the next step will do
            return end + GROUPS[PAY1].quantile_us(jitter) + offset_us
        cohort = np.searchsorted(cohorts.minute, minute)
        first, count = cohorts.first_k[cohort], cohorts.count[cohort]
        a, c = self._permutation(group, minute, count)
        inverse = np.array([pow(int(x), -1, int(n)) for x, n in zip(a, count, strict=True)])
        rank = ((k - first - c) % count) * inverse % count
        return end + GROUPS[group].quantile_us((rank + jitter) / count) + offset_us

    def _due(self, cohorts: _Cohorts, lo: int, hi: int) -> _Due:
        """Every lifecycle event of these cohorts' orders with a time in [lo, hi)."""
        if not len(cohorts) or hi <= lo:
            return _Due.empty()
        end_all = (cohorts.minute + 1) * MINUTE_US
        found = []
        for group, delay in enumerate(GROUPS):
            if not STREAMS[group]:
                continue
            offset = GROUP_MAX_OFFSET_US[group]
            relevant = np.flatnonzero(
                (end_all + delay.min_us < hi)
                & (end_all + delay.max_us + offset >= lo)
                & (cohorts.count > 0)
            )
            if not len(relevant):
                continue
            end = end_all[relevant]
            count = cohorts.count[relevant]
            minute = cohorts.minute[relevant]
            first = np.clip(np.floor(count * delay.cdf(lo - offset - end)) - 1, 0, count)
            last = np.clip(np.ceil(count * delay.cdf(hi - end)) + 1, 0, count)
            first, last = first.astype(np.int64), last.astype(np.int64)
            n_ranks = np.maximum(last - first, 0)
            total = int(n_ranks.sum())
            if not total:
                continue
            which = np.repeat(np.arange(len(relevant)), n_ranks)
            rank = (
                first[which] + np.arange(total) - np.repeat(np.cumsum(n_ranks) - n_ranks, n_ranks)
            )
            a, c = self._permutation(group, minute, count)
            n = count[which]
            k = cohorts.first_k[relevant][which] + (a[which] * rank + c[which]) % n
            k_minute = minute[which]
            base = end[which] + delay.quantile_us((rank + self._u(_JITTER + group, k)) / n)
            o = self._outcomes(k)
            for stream, stream_offset in STREAMS[group]:
                t = base + stream_offset
                mask = (t >= lo) & (t < hi) & self._stream_mask(stream, o)
                if not mask.any():
                    continue
                ks, minutes, ts = k[mask], k_minute[mask], t[mask]
                lines = np.ones(len(ks), dtype=np.int64)
                pred_t = np.full(len(ks), -1, dtype=np.int64)
                held = self._held_predecessor(stream, {name: v[mask] for name, v in o.items()})
                if held is not None and held[0].any():
                    rows, group_of, pred_offset = held
                    lines[rows] = 2
                    for pred_group in np.unique(group_of[rows]):
                        sel = np.flatnonzero(rows & (group_of == pred_group))
                        pred_t[sel] = self._step_time(
                            cohorts, int(pred_group), pred_offset, ks[sel], minutes[sel]
                        )
                if stream == SALE_MOVES:
                    lines = self._channel_and_lines(ks)[1]
                elif stream == RETURN_MOVES:
                    content = self._order_content(ks, minutes)
                    returned = self._returned_lines(content) > 0
                    lines = np.add.reduceat(returned.astype(np.int64), content.line_start)
                found.append(
                    _Due(ts, ks, minutes, np.full(len(ks), stream, dtype=np.int64), pred_t, lines)
                )
        return _Due.concat(found)

    @staticmethod
    def _stream_mask(stream: int, o: dict[str, np.ndarray]) -> np.ndarray:
        f1, f2, fulfilled, returned = o["fail1"], o["fail2"], o["fulfilled"], o["returned"]
        return {
            FAIL2: f2,
            PF_CANCEL: f2,
            AUTH2: f1 & ~f2,
            PAID2: f1 & ~f2 & ~o["hold_paid"],
            CANCEL: o["cancel"],
            CANCEL_REFUND: o["cancel"],
            SHIP_STATUS: fulfilled & ~o["hold_shipped"],
            SALE_MOVES: fulfilled,
            DELIVER_STATUS: fulfilled & ~o["hold_delivered"],
            RETURN_EVENT: returned,
            RETURN_STATUS: returned,
            RETURN_REFUND: returned,
            RETURN_MOVES: returned,
        }[stream]

    @staticmethod
    def _held_predecessor(stream: int, o: dict[str, np.ndarray]):
        """Rows of a follower status that carry their held-back predecessor:
        (rows, predecessor group per row, predecessor offset)."""
        if stream in (SHIP_STATUS, CANCEL):
            group_of = np.where(o["fail1"], PAY2, PAY1)
            return o["hold_paid"], group_of, US // 4
        if stream == DELIVER_STATUS:
            return o["hold_shipped"], np.full(len(o["fail1"]), SHIP), 0
        if stream == RETURN_STATUS:
            return o["hold_delivered"], np.full(len(o["fail1"]), DELIVER), 0
        return None

    # ------------------------------------------------------------ scheduled entity events

    def _scheduled(self, lo: int, hi: int) -> _Scheduled:
        kinds, times, draws = [], [], []
        pool, products = self.customers, self.products
        per_hour = {
            SIGNUP: SIGNUPS_PER_DAY * pool / 24,
            CUSTOMER_CHANGE: CUSTOMER_CHANGES_PER_DAY * pool / 24,
            PRICE_CHANGE: PRICE_CHANGES_PER_DAY * products / 24,
            STOCK_ADJUSTMENT: ADJUSTMENTS_PER_HOUR,
        }
        if hi > lo:
            for hour in range(lo // HOUR_US, (hi - 1) // HOUR_US + 1):
                # Shop-clock rhythm: a schedule cannot depend on later pauses.
                weight = float(self._hour_weight(np.array([hour]))[0])
                for kind, rate in per_hour.items():
                    rng = np.random.default_rng([self.seed, 10 + kind, hour])
                    count = int(rng.poisson(rate * (weight if kind == SIGNUP else 1.0)))
                    if not count:
                        continue
                    if kind == PRICE_CHANGE:  # prices change on the minute
                        t = hour * HOUR_US + np.sort(rng.integers(0, 60, count)) * MINUTE_US
                    else:
                        t = hour * HOUR_US + np.sort(rng.integers(0, HOUR_US, count))
                    u = rng.random((count, 4))
                    keep = (t >= lo) & (t < hi)
                    kinds.append(np.full(int(keep.sum()), kind))
                    times.append(t[keep])
                    draws.append(u[keep])
        if not kinds:
            return _Scheduled(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)))
        kind, t, u = np.concatenate(kinds), np.concatenate(times), np.concatenate(draws)
        order = np.argsort(t, kind="stable")
        return _Scheduled(kind[order].astype(np.int64), t[order].astype(np.int64), u[order])

    def _restock_slots(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(times, products) of stock checks in [lo, hi), in time order."""
        if hi <= lo:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        products = np.arange(self.products, dtype=np.int64)
        phase = (self._u(_RESTOCK_PHASE, products) * RESTOCK_PERIOD_US).astype(np.int64)
        periods = np.arange(lo // RESTOCK_PERIOD_US - 1, hi // RESTOCK_PERIOD_US + 1)
        t = (periods[:, None] * RESTOCK_PERIOD_US + phase[None, :]).ravel()
        p = np.broadcast_to(products, (len(periods), self.products)).ravel()
        keep = (t >= lo) & (t < hi)
        t, p = t[keep], p[keep]
        order = np.lexsort((p, t))
        return t[order], p[order]

    # ------------------------------------------------------------ the batch

    def batch(
        self, number: int, events: int, window_start: datetime, window_end: datetime
    ) -> Batch:
        """About `events` lines (exactly, unless a fault adds lines) of every table,
        placed in [window_start, window_end), continuing from the state."""
        ws = to_us(window_start)
        span = max(to_us(window_end) - ws, 1)
        if self.last_end is None:
            self.origin = ws - ws % DAY_US
            self.last_end = self.horizon = ws
            self.c_signup = self.c_signup + ws
        lo, hi = self.last_end, self.last_end + span
        if ws - lo != self.offset or not len(self.offset_from):
            self.offset_from = np.append(self.offset_from, lo)
            self.offset_value = np.append(self.offset_value, ws - lo)
        self.offset = ws - lo
        rng = np.random.default_rng([self.seed, 4, number])
        builder = _BatchBuilder(self, number, max(int(events), 0), lo, hi, rng)
        return builder.build()


class _BatchBuilder:
    """One batch: decides what goes in, builds the rows, applies faults, formats."""

    def __init__(self, gen: ShopGenerator, number: int, events: int, lo: int, hi: int, rng) -> None:
        self.g, self.number, self.events, self.lo, self.hi, self.rng = (
            gen,
            number,
            events,
            lo,
            hi,
            rng,
        )
        self.parts: dict[str, list[_Part]] = {table: [] for table in TABLES}
        self.used = 0

    def add(self, table: str, **columns) -> None:
        part = _Part(columns)
        if "key" not in part:
            part["key"] = part["t"]
        if len(part["t"]):
            self.parts[table].append(part)
            self.used += len(part["t"])

    # ---------------------------------------------------------------- plan

    def build(self) -> Batch:
        g, lo, hi = self.g, self.lo, self.hi
        faults = g.faults
        carried = self._carried()
        budget = self.events - sum(len(lines) for _, lines in carried)
        self.dup_here = 0
        if faults.duplicate_rate > 0 and budget > 1:
            base = int(round(budget / (1 + 0.7 * faults.duplicate_rate)))
            self.dup_here, budget = budget - base, base
        self.budget = budget

        horizon = g.horizon
        cohorts = g.cohorts
        open_from = len(cohorts)
        if len(cohorts) and (cohorts.minute[-1] + 1) * MINUTE_US > lo:
            open_from = len(cohorts) - 1  # may still receive orders in this window
        # The reference pools come first, stamped at the window's start; the shop
        # opens (orders, sessions, scheduled changes) once they are all out.
        pool_total = g.products + g.customers
        pool_take = min(pool_total - g.pool_emitted, budget)
        if pool_take:
            self._apply_pool(np.full(pool_take, lo, dtype=np.int64))
            if g.pool_emitted == pool_total:
                g.pool_at = lo
        if g.pool_emitted < pool_total:
            g.horizon = g.last_end = hi
            self._filler(budget - self.used, False)
            return self._finish(carried)
        budget -= pool_take
        scheduled = g._scheduled(horizon, hi)
        due_closed = g._due(cohorts.take(slice(0, open_from)), horizon, hi)
        guard = hi
        if open_from < len(cohorts):
            guard = min(hi, int((cohorts.minute[-1] + 1) * MINUTE_US + EARLIEST_STEP_US))

        # Decide first (line counts depend on hashes only), then apply in time order.
        times = np.concatenate((scheduled.t, due_closed.t))
        lines = np.concatenate((np.ones(len(scheduled.t), dtype=np.int64), due_closed.lines))
        placed, due = None, due_closed
        if lines.sum() > budget:
            cut = min(self._cut(times, lines, budget), guard)
        else:
            placed, due_open, accepted = self._place_orders(budget - int(lines.sum()), open_from)
            due = _Due.concat([due_closed, due_open])
            cut = hi
            if not accepted:  # even without new orders, the open cohort overflows
                times = np.concatenate((scheduled.t, due.t))
                lines = np.concatenate((np.ones(len(scheduled.t), dtype=np.int64), due.lines))
                cut = self._cut(times, lines, budget)
        g.horizon = cut
        caught_up = cut >= hi
        self._apply_scheduled(scheduled.where(scheduled.t < cut))
        self._lifecycle(due.where(due.t < cut))
        if placed is not None:
            self._emit_orders(placed)
        self._stock(scheduled.where((scheduled.t < cut) & (scheduled.kind == STOCK_ADJUSTMENT)))
        self._filler(self.budget - self.used, caught_up)
        g.last_end = hi
        self._prune()
        return self._finish(carried)

    def _cut(self, times: np.ndarray, lines: np.ndarray, budget: int) -> int:
        """The earliest time such that everything before it fits the budget."""
        if not len(times):
            return self.hi
        order = np.argsort(times, kind="stable")
        cum = np.cumsum(lines[order])
        over = np.searchsorted(cum, budget, side="right")
        if over >= len(times):
            return self.hi
        return int(times[order][over])

    def _carried(self) -> list[tuple[str, list[str]]]:
        """Duplicates left over from the last batch: as many as fit this batch."""
        g, room, taken, left = self.g, self.events, [], {}
        for table in TABLES:
            lines = g.carry.get(table, [])
            take = min(len(lines), room)
            if take:
                taken.append((table, lines[:take]))
            if lines[take:]:
                left[table] = lines[take:]
            room -= take
        g.carry = left
        return taken

    # ---------------------------------------------------------------- entities

    def _apply_pool(self, times: np.ndarray) -> None:
        g = self.g
        if not len(times):
            return
        index = np.arange(g.pool_emitted, g.pool_emitted + len(times))
        g.pool_emitted += len(times)
        is_product = index < g.products
        if is_product.any():
            products = index[is_product]
            self.add(
                "products",
                t=times[is_product],
                etype=np.zeros(len(products), dtype=np.int64),
                body=np.array([self._product_body(int(p)) for p in products], dtype=object),
            )
        if (~is_product).any():
            customers = index[~is_product] - g.products
            self.add(
                "customers",
                t=times[~is_product],
                etype=np.zeros(len(customers), dtype=np.int64),
                body=np.array([self._customer_body(int(c)) for c in customers], dtype=object),
            )

    def _apply_scheduled(self, s: _Scheduled) -> None:
        """Sign-ups, customer changes and price changes, in time order."""
        g, ref = self.g, self.g.ref
        customer_rows, product_rows = [], []
        for kind, t, u in zip(s.kind.tolist(), s.t.tolist(), s.u.tolist(), strict=True):
            if kind == SIGNUP:
                weights = ref.base_weights * (
                    1 + ref.growth * math.tanh(max(t - g.origin, 0) / DAY_US / GROWTH_DAYS) * 2
                )
                country = int(_pick(_cum(weights), np.array([u[0]]))[0])
                region = int(
                    ref.region_first[country] + int(u[1] ** 1.6 * ref.region_count[country])
                )
                city = int(ref.city_first[region] + int(u[2] * ref.city_count[region]))
                g.c_country = np.append(g.c_country, country)
                g.c_region = np.append(g.c_region, region)
                g.c_city = np.append(g.c_city, city)
                g.c_age = np.append(g.c_age, int(_pick(_cum(AGE_WEIGHTS), np.array([u[3]]))[0]))
                g.c_segment = np.append(g.c_segment, 0 if u[3] < 0.85 else 1)
                g.c_email_version = np.append(g.c_email_version, 0)
                g.c_signup = np.append(g.c_signup, t)
                g.c_created = np.append(g.c_created, t)
                g._invalidate()
                customer_rows.append((t, 0, self._customer_body(len(g.c_country) - 1)))
            elif kind == CUSTOMER_CHANGE:
                existing = int(np.searchsorted(g.c_created, t, side="left"))
                if not existing:
                    continue
                c = min(int(u[0] * existing), existing - 1)
                if u[1] < 0.4:
                    g.c_segment[c] = (g.c_segment[c] + 1 + int(u[2] * 3)) % len(SEGMENTS)
                elif u[1] < 0.7:
                    country = g.c_country[c]
                    region = ref.region_first[country] + int(u[2] * ref.region_count[country])
                    g.c_region[c] = region
                    g.c_city[c] = ref.city_first[region] + int(u[3] * ref.city_count[region])
                else:
                    g.c_email_version[c] += 1
                customer_rows.append((t, 1, self._customer_body(c)))
            elif kind == PRICE_CHANGE:
                p = min(int(u[0] * g.products), g.products - 1)
                if u[1] < 0.8:
                    dollars = round(g.p_price[p] * (0.85 + 0.3 * u[2]) / 100)
                    g.p_price[p] = max(dollars * 100 - 1, 99)
                if u[1] >= 0.6:
                    g.p_cost[p] = max(round(g.p_cost[p] * (0.95 + 0.13 * u[3])), 1)
                floor = -(-g.p_cost[p] * 11 // 1000) * 100 - 1  # margin of at least ~10%
                g.p_price[p] = max(g.p_price[p], floor)
                self._record_price(p, t // MINUTE_US, int(g.p_price[p]))
                product_rows.append((t, 1, self._product_body(p)))
        for table, rows in (("customers", customer_rows), ("products", product_rows)):
            if rows:
                t, etype, body = zip(*rows, strict=True)
                self.add(
                    table,
                    t=np.array(t, dtype=np.int64),
                    etype=np.array(etype, dtype=np.int64),
                    body=np.array(body, dtype=object),
                )

    def _record_price(self, product: int, minute: int, price: int) -> None:
        g = self.g
        g.h_product = np.append(g.h_product, product)
        g.h_minute = np.append(g.h_minute, minute)
        g.h_price = np.append(g.h_price, price)
        order = np.lexsort((g.h_minute, g.h_product))
        g.h_product, g.h_minute, g.h_price = g.h_product[order], g.h_minute[order], g.h_price[order]
        g._invalidate()

    def _customer_body(self, c: int) -> str:
        g, ref = self.g, self.g.ref
        country = int(g.c_country[c])
        first = _smix(g._keys[_NAME_FIRST] ^ c) % len(ref.first_names[country])
        last = _smix(g._keys[_NAME_LAST] ^ c) % len(ref.last_names[country])
        version = int(g.c_email_version[c])
        domains = ref.domains[country]
        domain = domains[_smix(g._keys[_DOMAIN] ^ (c * 64 + version)) % len(domains)]
        fa, la = ref.first_ascii[country][first], ref.last_ascii[country][last]
        email = (
            f"{fa}.{la}{c + 1}@{domain}"
            if not version
            else f"{fa[0]}{la}{c + 1}.{version}@{domain}"
        )
        signup = _timestamps(np.array([g.c_signup[c] + g.offset]))[0]
        return (
            f'"customer_id":"C{c + 1:06d}","name":"{ref.first_names[country][first]} '
            f'{ref.last_names[country][last]}","email":"{email}",'
            f'"country_code":"{ref.country_codes[country]}","region":"{ref.region_names[g.c_region[c]]}",'
            f'"city":"{ref.city_names[g.c_city[c]]}","age_group":"{AGE_GROUPS[g.c_age[c]]}",'
            f'"segment":"{SEGMENTS[g.c_segment[c]]}","signup_at":"{signup}"'
        )

    def _product_body(self, p: int) -> str:
        g, ref = self.g, self.g.ref
        cost, price = _money(np.array([g.p_cost[p], g.p_price[p]]))
        return (
            f'"product_id":"{ref.product_ids[p]}","name":"{ref.product_names[p]}",'
            f'"category":"{CATEGORIES[ref.product_category[p]][0]}","unit_cost":{cost},'
            f'"list_price":{price},"initial_stock":{int(ref.initial_stock[p])}'
        )

    # ---------------------------------------------------------------- orders

    def _place_orders(self, room: int, open_from: int):
        """New orders and their web sessions, as many as fit `room` together with
        the lifecycle they start inside this window. (placed, due, accepted)"""
        g, rng = self.g, self.rng
        place_lo = max(self.lo, g.pool_at + 1)
        wanted = int(self.budget * ORDER_SHARE + rng.random()) if place_lo < self.hi else 0
        n = min(wanted, max(room, 0) // 12)
        for attempt in range(4):
            if attempt == 3:
                n = 0
            placed = self._draw_orders(n, place_lo) if n else None
            cohorts = g.cohorts.extended(placed["minute"], g.next_order) if n else g.cohorts
            due = g._due(cohorts.take(slice(open_from, None)), g.horizon, self.hi)
            need = (placed["lines"] if n else 0) + due.line_total
            if need <= room:
                if n:
                    g.cohorts = cohorts
                    g.next_order += n
                return placed, due, True
            if not n:
                return None, due, False
            n = int(n * 0.9 * max(room, 0) / need)
        raise AssertionError("unreachable: the last attempt places no orders")

    def _draw_orders(self, n: int, place_lo: int) -> dict:
        g, rng = self.g, self.rng
        t = g._times(rng, n, place_lo, self.hi)
        k = g.next_order + np.arange(n, dtype=np.int64)
        minute = t // MINUTE_US
        channel, line_count = g._channel_and_lines(k)
        web = np.flatnonzero(channel != CHANNELS.index("marketplace"))
        extra = _pick(_cum((0.4, 0.35, 0.25)), rng.random(len(web)))
        session_events = extra + 2 * line_count[web] + 2
        outcome = g._outcomes(k)
        paid_now = ~outcome["fail1"] & ~outcome["hold_paid"]
        return {
            "outcome": outcome,
            "paid_now": paid_now,
            "t": t,
            "k": k,
            "minute": minute,
            "web": web,
            "extra": extra,
            "session_events": session_events,
            "session_length": rng.uniform(60, 1200, len(web)) * US,
            "extra_draws": rng.random(int(extra.sum())),
            "place_lo": place_lo,
            "lines": 2 * n + int(paid_now.sum()) + int(session_events.sum()),
        }

    def _emit_orders(self, placed: dict) -> None:
        g = self.g
        t, k = placed["t"], placed["k"]
        c = g._order_content(k, placed["minute"])
        self.add(
            "orders",
            t=t,
            k=k,
            customer=c.customer,
            channel=c.channel,
            country=c.country,
            lines=np.array(_line_json(g.ref, c), dtype=object),
            line_count=c.line_count,
            gross=c.gross,
            discount=c.discount,
        )
        # The first payment attempt, and "paid" when it goes through, right after.
        delay = GROUPS[PAY1].quantile_us(g._u(_JITTER + PAY1, k))
        pay_t = t + np.minimum(delay, self.hi - 1 - t)
        failed = placed["outcome"]["fail1"]
        self.add(
            "payments",
            t=pay_t,
            k=k,
            attempt=np.ones(len(k), dtype=np.int64),
            method=c.method,
            amount=c.total,
            status=np.where(failed, FAILED, AUTHORIZED),
        )
        paid = placed["paid_now"]
        paid_t = pay_t[paid] + np.minimum(US // 4, self.hi - 1 - pay_t[paid])
        self.add(
            "order_status",
            t=paid_t,
            k=k[paid],
            status=np.full(int(paid.sum()), PAID, dtype=np.int64),
        )
        # Each web/mobile order comes from a session: views, add-to-cart per line,
        # checkout, purchase (at the order's time).
        web, extra, size = placed["web"], placed["extra"], placed["session_events"]
        if not len(web):
            return
        owner = np.repeat(np.arange(len(web)), size)
        step = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
        ex, total = extra[owner], size[owner]
        kind = np.full(len(step), VIEW, dtype=np.int64)
        in_lines = (step >= ex) & (step < total - 2)
        kind[in_lines & ((step - ex) % 2 == 1)] = CART
        kind[step == total - 2] = CHECKOUT
        kind[step == total - 1] = PURCHASE
        order = web[owner]
        line_of = c.line_start[order] + np.where(in_lines, (step - ex) // 2, 0)
        product = c.product[line_of]
        extra_views = np.flatnonzero(step < ex)
        ref = g.ref
        product[extra_views] = ref.popularity_order[
            _pick(ref.popularity_cum, placed["extra_draws"])
        ]
        product[kind == CHECKOUT] = -1
        placed_t = t[order]
        length = np.minimum(placed["session_length"][owner], placed_t - placed["place_lo"])
        times = placed_t - (length * (1 - step / np.maximum(total - 1, 1))).astype(np.int64)
        session = np.array([f"S{x:010d}" for x in k[web].tolist()], dtype=object)[owner]
        self.add(
            "web_events",
            t=times,
            etype=kind,
            session=session,
            customer=c.customer[order],
            product=product,
            order=np.where(kind == PURCHASE, k[order], -1),
        )

    # ---------------------------------------------------------------- lifecycle rows

    def _lifecycle(self, due: _Due) -> None:
        if not len(due.t):
            return
        g = self.g
        s = due.stream

        # Payments: the retry after a failed first attempt, refunds of cancelled and
        # returned orders.
        pay = np.isin(s, (FAIL2, AUTH2, CANCEL_REFUND, RETURN_REFUND))
        if pay.any():
            ps, k, minute = s[pay], due.k[pay], due.minute[pay]
            content = g._order_content(k, minute)
            amount = content.total
            returned = ps == RETURN_REFUND
            if returned.any():
                amount[returned] = self._refunds(k[returned], minute[returned])
            self.add(
                "payments",
                t=due.t[pay],
                k=k,
                attempt=np.where(np.isin(ps, (FAIL2, AUTH2)), 2, 0),
                method=content.method,
                amount=amount,
                status=np.select([ps == FAIL2, ps == AUTH2], [FAILED, AUTHORIZED], REFUNDED),
            )

        # Order status changes, with held-back predecessors right after their follower.
        status_of = {
            PAID2: PAID, PF_CANCEL: CANCELLED, CANCEL: CANCELLED,
            SHIP_STATUS: SHIPPED, DELIVER_STATUS: DELIVERED, RETURN_STATUS: RETURNED,
        }  # fmt: skip
        st = np.isin(s, list(status_of))
        if st.any():
            status = np.vectorize(status_of.get, otypes=[np.int64])(s[st])
            self.add("order_status", t=due.t[st], k=due.k[st], status=status)
            held = st & (due.pred_t >= 0)
            if held.any():
                pred = np.select(
                    [np.isin(s[held], (SHIP_STATUS, CANCEL)), s[held] == DELIVER_STATUS],
                    [PAID, SHIPPED],
                    DELIVERED,
                )
                self.add(
                    "order_status", t=due.pred_t[held], key=due.t[held], k=due.k[held], status=pred
                )

        # Returns and their inventory; sales leave stock when shipped.
        for stream in (RETURN_EVENT, RETURN_MOVES, SALE_MOVES):
            rows = np.flatnonzero(s == stream)
            if not len(rows):
                continue
            c = g._order_content(due.k[rows], due.minute[rows])
            times = due.t[rows][c.line_order]
            if stream == SALE_MOVES:
                self._movements(times, c.product, -c.quantity, SALE, c, "MS")
                continue
            quantity = self._returned(c)
            if stream == RETURN_MOVES:
                keep = quantity > 0
                self._movements(
                    times[keep], c.product[keep], quantity[keep], RETURN_MOVE, c, "MR", keep
                )
                continue
            refund = self._refund_lines(c, quantity)
            self.add(
                "returns",
                t=due.t[rows],
                k=due.k[rows],
                customer=c.customer,
                country=c.country,
                lines=np.array(_line_json(g.ref, c, quantity, refund), dtype=object),
                line_count=np.add.reduceat((quantity > 0).astype(np.int64), c.line_start),
                refund=np.add.reduceat(refund, c.line_start),
            )

    def _returned(self, c: _Orders) -> np.ndarray:
        return self.g._returned_lines(c)

    @staticmethod
    def _refund_lines(c: _Orders, quantity: np.ndarray) -> np.ndarray:
        net = c.quantity * c.unit_price - c.line_discount
        return (2 * quantity * net + c.quantity) // (2 * c.quantity)

    def _refunds(self, k: np.ndarray, minute: np.ndarray) -> np.ndarray:
        c = self.g._order_content(k, minute)
        refund = self._refund_lines(c, self._returned(c))
        return np.add.reduceat(refund, c.line_start)

    def _movements(self, t, product, delta, kind, c: _Orders, prefix: str, keep=None) -> None:
        order_k = c.k[c.line_order]
        numbers = c.line_number
        if keep is not None:
            order_k, numbers = order_k[keep], numbers[keep]
        ids = np.array(
            [
                f"{prefix}{k:010d}-{n}"
                for k, n in zip(order_k.tolist(), numbers.tolist(), strict=True)
            ],
            dtype=object,
        )
        self.add(
            "inventory",
            t=t,
            movement=ids,
            product=product,
            mtype=np.full(len(t), kind, dtype=np.int64),
            delta=delta,
        )

    # ---------------------------------------------------------------- stock

    def _stock(self, adjustments: _Scheduled) -> None:
        """Stock adjustments, then restocks where stock runs low (as the budget allows)."""
        g = self.g
        if len(adjustments.t):
            product = np.minimum(
                (adjustments.u[:, 0] * g.products).astype(np.int64), g.products - 1
            )
            delta = np.array([-3, -2, -1, -1, 1, 2])[(adjustments.u[:, 1] * 6).astype(np.int64)]
            self._numbered_movements(adjustments.t, product, delta, ADJUSTMENT)
        moves = [p for p in self.parts["inventory"]]
        if moves:
            t = np.concatenate([p["t"] for p in moves])
            product = np.concatenate([p["product"] for p in moves])
            delta = np.concatenate([p["delta"] for p in moves])
        else:
            t = product = delta = np.zeros(0, dtype=np.int64)
        slot_t, slot_p = g._restock_slots(self.lo, self.hi)
        span_hours = (self.hi - self.lo) / HOUR_US
        sold = np.bincount(product[delta < 0], weights=-delta[delta < 0], minlength=g.products)
        alpha = min(1.0, span_hours / 6)
        g.p_rate = (1 - alpha) * g.p_rate + alpha * (sold / max(span_hours, 1e-9))
        room = self.budget - self.used
        restock_t, restock_p, restock_q = [], [], []
        if len(slot_t) and room > 0:
            # Stock of each product at each check: start + movements before it.
            key = product * (1 << 42) + (t - self.lo)
            order = np.argsort(key, kind="stable")
            cum = np.concatenate(([0], np.cumsum(delta[order])))
            key = key[order]
            before = cum[np.searchsorted(key, slot_p * (1 << 42) + (slot_t - self.lo), "left")]
            start = cum[np.searchsorted(key, slot_p * (1 << 42), "left")]
            moved = before - start
            target = np.maximum(g.ref.initial_stock, np.ceil(g.p_rate)).astype(np.int64)
            added = np.zeros(g.products, dtype=np.int64)
            for ts, p, m in zip(slot_t.tolist(), slot_p.tolist(), moved.tolist(), strict=True):
                level = int(g.p_stock[p]) + m + int(added[p])
                if level < target[p] * 0.3:
                    quantity = int(target[p]) - level
                    added[p] += quantity
                    restock_t.append(ts)
                    restock_p.append(p)
                    restock_q.append(quantity)
                    if len(restock_t) >= room:
                        break
        if restock_t:
            self._numbered_movements(
                np.array(restock_t, dtype=np.int64),
                np.array(restock_p, dtype=np.int64),
                np.array(restock_q, dtype=np.int64),
                RESTOCK,
            )
        for part in self.parts["inventory"]:
            np.add.at(g.p_stock, part["product"], part["delta"])

    def _numbered_movements(self, t, product, delta, kind) -> None:
        g = self.g
        ids = np.array(
            [f"MA{n:010d}" for n in range(g.next_movement, g.next_movement + len(t))], dtype=object
        )
        g.next_movement += len(t)
        self.add(
            "inventory",
            t=t,
            movement=ids,
            product=product,
            mtype=np.full(len(t), kind, dtype=np.int64),
            delta=delta,
        )

    # ---------------------------------------------------------------- browsing

    def _filler(self, lines: int, browsing: bool) -> None:
        """Sessions that buy nothing: exactly `lines` web events. Before the shop
        is open (reference pools incomplete) they are anonymous landing views."""
        if lines <= 0:
            return
        g, rng = self.g, self.rng
        lo = max(self.lo, g.pool_at + 1) if browsing else self.lo
        if lo >= self.hi:
            lo, browsing = self.lo, False
        m = lines
        views = (
            1 + _pick(_cum((0.45, 0.30, 0.15, 0.10)), rng.random(m))
            if browsing
            else np.ones(m, np.int64)
        )
        cart = (rng.random(m) < 0.35) & browsing
        checkout = cart & (rng.random(m) < 0.35)
        size = views + cart + checkout
        cum = np.cumsum(size)
        sessions = int(np.searchsorted(cum, lines, side="left")) + 1
        size = size[:sessions].copy()
        size[-1] -= int(cum[sessions - 1]) - lines
        views, cart = views[:sessions], cart[:sessions]
        owner = np.repeat(np.arange(sessions), size)
        step = np.arange(lines) - np.repeat(np.cumsum(size) - size, size)
        kind = np.where(step < views[owner], VIEW, np.where(step == views[owner], CART, CHECKOUT))
        ref = g.ref
        product = ref.popularity_order[_pick(ref.popularity_cum, rng.random(lines))]
        landing = (step == 0) & (rng.random(lines) < 0.3)
        product = np.where(landing | (kind == CHECKOUT) | (not browsing), -1, product)
        start = g._times(rng, sessions, lo, self.hi)
        gap = rng.uniform(5, 90, sessions) * US
        length = np.minimum((size - 1) * gap, self.hi - 1 - start)
        times = start[owner] + (length[owner] * step / np.maximum(size[owner] - 1, 1)).astype(
            np.int64
        )
        customer = np.full(sessions, -1, dtype=np.int64)
        if browsing:
            logged_in = rng.random(sessions) < 0.5
            eligible = np.searchsorted(g.c_created, (start // MINUTE_US) * MINUTE_US, "left")
            pick = (eligible * rng.random(sessions) ** CUSTOMER_POWER).astype(np.int64)
            customer = np.where(logged_in & (eligible > 0), np.minimum(pick, eligible - 1), -1)
        ids = np.array(
            [f"A{n:010d}" for n in range(g.next_session, g.next_session + sessions)], dtype=object
        )
        g.next_session += sessions
        self.add(
            "web_events",
            t=times,
            etype=kind,
            session=ids[owner],
            customer=customer[owner],
            product=product,
            order=np.full(lines, -1, dtype=np.int64),
        )

    # ---------------------------------------------------------------- bookkeeping

    def _prune(self) -> None:
        """Forget cohorts whose lifecycle is over, and prices and clock offsets
        nobody can need."""
        g = self.g
        cohorts = g.cohorts
        alive = (cohorts.minute + 1) * MINUTE_US + MAX_LIFE_US >= g.horizon
        if not alive.all():
            first = int(np.argmax(alive)) if alive.any() else len(cohorts)
            g.cohorts = cohorts.take(slice(first, None))
        oldest_us = int(g.cohorts.minute[0]) * MINUTE_US if len(g.cohorts) else g.horizon
        still = int(np.searchsorted(g.offset_from, oldest_us, side="right")) - 1
        if still > 0:
            g.offset_from, g.offset_value = g.offset_from[still:], g.offset_value[still:]
        if len(g.h_minute) > g.products:
            oldest = int(g.cohorts.minute[0]) if len(g.cohorts) else g.horizon // MINUTE_US
            old = g.h_minute <= oldest
            # Keep, per product, the last price set at or before the oldest minute.
            last_old = old & ~np.concatenate(
                ((old[1:] & (g.h_product[1:] == g.h_product[:-1])), [False])
            )
            keep = ~old | last_old
            if not keep.all():
                g.h_product, g.h_minute, g.h_price = (
                    g.h_product[keep],
                    g.h_minute[keep],
                    g.h_price[keep],
                )
                g._invalidate()

    def _finish(self, carried: list[tuple[str, list[str]]]) -> Batch:
        formatter = _Formatter(self)
        return formatter.run(carried)


# ---------------------------------------------------------------- formatting


def _order_lines(ids, stamps, k, customers, channel, country, lines) -> list[str]:
    codes = [c[0] for c in COUNTRIES]
    return [
        f'{{"event_id":"{e}","event_type":"order_placed","event_at":"{ts}","order_id":"O{o:010d}",'
        f'"customer_id":{c},"channel":"{CHANNELS[ch]}","currency":"USD","ship_country":"{codes[sc]}",'
        f'"ordered_at":"{ts}","lines":[{ln}]}}'
        for e, ts, o, c, ch, sc, ln in zip(
            ids, stamps, k.tolist(), customers, channel.tolist(), country.tolist(), lines,
            strict=True,
        )
    ]  # fmt: skip


def _line_json(ref: Reference, c: _Orders, quantity=None, refund=None) -> list[str]:
    """Each order's lines as the inside of a JSON array (or its returned lines)."""
    pids = [ref.product_ids[p] for p in c.product.tolist()]
    prices = _money(c.unit_price)
    if refund is None:
        items = [
            f'{{"line_number":{n},"product_id":"{p}","quantity":{q},"unit_price":{up},'
            f'"discount_amount":{d}}}'
            for n, p, q, up, d in zip(
                c.line_number.tolist(), pids, c.quantity.tolist(), prices, _money(c.line_discount),
                strict=True,
            )
        ]  # fmt: skip
        ends = np.cumsum(c.line_count).tolist()
    else:
        keep = np.flatnonzero(quantity > 0)
        items = [
            f'{{"line_number":{n},"product_id":"{pids[i]}","quantity":{q},"unit_price":{prices[i]},'
            f'"refund_amount":{r}}}'
            for i, n, q, r in zip(
                keep.tolist(), c.line_number[keep].tolist(), quantity[keep].tolist(),
                _money(refund[keep]), strict=True,
            )
        ]  # fmt: skip
        ends = np.cumsum(np.add.reduceat((quantity > 0).astype(np.int64), c.line_start)).tolist()
    starts = [0, *ends[:-1]]
    return [",".join(items[s:e]) for s, e in zip(starts, ends, strict=True)]


def _cents(cents) -> float:
    return round(int(cents) / 100, 2)


class _Formatter:
    """Sorts each table, numbers the events, applies the faults, writes the JSON."""

    def __init__(self, builder: _BatchBuilder) -> None:
        self.b = builder
        self.g = builder.g
        self.rng = builder.rng

    def customer_json(self, customers: np.ndarray) -> list[str]:
        g = self.g
        if g._customer_json is None:
            g._customer_json = [f'"C{i:06d}"' for i in range(1, len(g.c_country) + 1)] + ["null"]
        lookup = g._customer_json
        return [lookup[c] for c in customers.tolist()]

    def product_json(self, products: np.ndarray) -> list[str]:
        lookup = [f'"{p}"' for p in self.g.ref.product_ids] + ["null"]
        return [lookup[p] for p in products.tolist()]

    def columns(self, table: str) -> dict[str, np.ndarray]:
        parts = self.b.parts[table]
        if not parts:
            return {"t": np.zeros(0, dtype=np.int64), "key": np.zeros(0, dtype=np.int64)}
        names = list(parts[0])
        columns = {name: np.concatenate([part[name] for part in parts]) for name in names}
        order = np.argsort(columns["key"], kind="stable")
        return {name: values[order] for name, values in columns.items()}

    def run(self, carried: list[tuple[str, list[str]]]) -> Batch:
        g, faults, rng, number = self.g, self.g.faults, self.rng, self.b.number
        lines_by_table: dict[str, list[str]] = {}
        ledger: dict[str, dict[str, float]] = {}
        good: dict[str, np.ndarray] = {}
        next_id = 0
        for table in TABLES:
            cols = self.columns(table)
            n = len(cols["t"])
            ids = [f"E{number:08d}-{i:07d}" for i in range(next_id, next_id + n)]
            next_id += n
            out_t = cols["t"] + g.offset
            if faults.late_rate > 0 and n:
                late = rng.random(n) < faults.late_rate
                lateness = (
                    np.exp(rng.uniform(math.log(60), math.log(max(faults.late_max_s, 61)), n)) * US
                )
                # Late: it happened `lateness` before the window it arrives in.
                window_start = self.b.lo + g.offset
                out_t = np.where(late, window_start - lateness.astype(np.int64), out_t)
            lines = getattr(self, f"format_{table}")(cols, ids, _timestamps(out_t)) if n else []
            malformed = np.zeros(n, dtype=bool)
            invalid = np.zeros(n, dtype=bool)
            if faults.invalid_rate > 0 and n:
                invalid = rng.random(n) < faults.invalid_rate
                for i in np.flatnonzero(invalid).tolist():
                    lines[i] = _invalidated(table, lines[i], int(rng.integers(0, 4)))
            if faults.schema_drift_rate > 0 and n:
                for i in np.flatnonzero(rng.random(n) < faults.schema_drift_rate).tolist():
                    lines[i] = f'{lines[i][:-1]},"_drift":{{"source":"app-v2","flag":{i % 7}}}}}'
            if faults.malformed_rate > 0 and n:
                malformed = rng.random(n) < faults.malformed_rate
                for i in np.flatnonzero(malformed).tolist():
                    lines[i] = lines[i][: len(lines[i]) // 2]
            invalid &= ~malformed
            lines_by_table[table] = lines
            good[table] = ~malformed
            ledger[table] = {
                "events": 0,
                "duplicates": 0,
                "malformed": int(malformed.sum()),
                "invalid": int(invalid.sum()),
            }
            ledger[table].update(self.amounts(table, cols, ~malformed & ~invalid))
        self.duplicate(lines_by_table, good, carried, ledger)
        for table in TABLES:
            ledger[table]["events"] = len(lines_by_table[table])
        return Batch(number=number, lines_by_table=lines_by_table, ledger=ledger)

    def duplicate(self, lines_by_table, good, carried, ledger) -> None:
        """Copies of well-formed lines later in this batch; some for the next batch;
        and the last batch's leftovers at random places."""
        g, rng, faults = self.g, self.rng, self.g.faults
        copies: dict[str, list[tuple[int, str]]] = {table: [] for table in TABLES}
        for table, lines in carried:
            m = len(lines_by_table[table])
            for line, position in zip(
                lines, rng.integers(0, m + 1, len(lines)).tolist(), strict=True
            ):
                copies[table].append((2 * position - 1, line))
        if faults.duplicate_rate > 0:
            tables = [t for t in TABLES for _ in range(int(good[t].sum()))]
            rows = np.concatenate([np.flatnonzero(good[t]) for t in TABLES])
            if len(rows):
                here = rng.integers(0, len(rows), self.b.dup_here)
                for pick in here.tolist():
                    table, row = tables[pick], int(rows[pick])
                    m = len(lines_by_table[table])
                    position = row + 1 + int(rng.integers(0, m - row))
                    copies[table].append((2 * position - 1, lines_by_table[table][row]))
                later = rng.binomial(len(rows), 0.3 * faults.duplicate_rate)
                for pick in rng.integers(0, len(rows), later).tolist():
                    table, row = tables[pick], int(rows[pick])
                    g.carry.setdefault(table, []).append(lines_by_table[table][row])
        for table, extra in copies.items():
            if not extra:
                continue
            lines = lines_by_table[table]
            keys = np.concatenate((2 * np.arange(len(lines)), [key for key, _ in extra]))
            merged = lines + [line for _, line in extra]
            lines_by_table[table] = [merged[i] for i in np.argsort(keys, kind="stable").tolist()]
            ledger[table]["duplicates"] = len(extra)

    # ------------------------------------------------------------ tables

    def format_orders(self, cols, ids, stamps) -> list[str]:
        return _order_lines(
            ids, stamps, cols["k"], self.customer_json(cols["customer"]), cols["channel"],
            cols["country"], cols["lines"],
        )  # fmt: skip

    def format_order_status(self, cols, ids, stamps) -> list[str]:
        return [
            f'{{"event_id":"{e}","event_type":"order_status_changed","event_at":"{ts}",'
            f'"order_id":"O{k:010d}","status":"{STATUSES[s]}","status_at":"{ts}"}}'
            for e, ts, k, s in zip(
                ids, stamps, cols["k"].tolist(), cols["status"].tolist(), strict=True
            )
        ]

    def format_returns(self, cols, ids, stamps) -> list[str]:
        codes = self.g.ref.country_codes
        return [
            f'{{"event_id":"{e}","event_type":"order_returned","event_at":"{ts}",'
            f'"return_id":"R{k:010d}","order_id":"O{k:010d}","customer_id":{c},'
            f'"ship_country":"{codes[sc]}","returned_at":"{ts}","lines":[{ln}]}}'
            for e, ts, k, c, sc, ln in zip(
                ids, stamps, cols["k"].tolist(), self.customer_json(cols["customer"]),
                cols["country"].tolist(), cols["lines"], strict=True,
            )
        ]  # fmt: skip

    def format_payments(self, cols, ids, stamps) -> list[str]:
        suffix = ["R", "1", "2"]
        return [
            f'{{"event_id":"{e}","event_type":"{PAYMENT_TYPES[s]}","event_at":"{ts}",'
            f'"payment_id":"PM{k:010d}-{suffix[a]}","order_id":"O{k:010d}","method":"{METHODS[m]}",'
            f'"amount":{amount},"status":"{PAYMENT_STATUSES[s]}","paid_at":"{ts}"}}'
            for e, ts, k, a, m, amount, s in zip(
                ids, stamps, cols["k"].tolist(), cols["attempt"].tolist(), cols["method"].tolist(),
                _money(cols["amount"]), cols["status"].tolist(), strict=True,
            )
        ]  # fmt: skip

    def format_inventory(self, cols, ids, stamps) -> list[str]:
        pids = self.g.ref.product_ids
        return [
            f'{{"event_id":"{e}","event_type":"inventory_movement","event_at":"{ts}",'
            f'"movement_id":"{mid}","product_id":"{pids[p]}","movement_type":"{MOVEMENT_TYPES[m]}",'
            f'"quantity_delta":{d},"moved_at":"{ts}"}}'
            for e, ts, mid, p, m, d in zip(
                ids, stamps, cols["movement"].tolist(), cols["product"].tolist(),
                cols["mtype"].tolist(), cols["delta"].tolist(), strict=True,
            )
        ]  # fmt: skip

    def _entity(self, kind: str, cols, ids, stamps) -> list[str]:
        types = (f"{kind}_created", f"{kind}_updated")
        return [
            f'{{"event_id":"{e}","event_type":"{types[x]}","event_at":"{ts}",{body},'
            f'"updated_at":"{ts}"}}'
            for e, ts, x, body in zip(
                ids, stamps, cols["etype"].tolist(), cols["body"].tolist(), strict=True
            )
        ]

    def format_customers(self, cols, ids, stamps) -> list[str]:
        return self._entity("customer", cols, ids, stamps)

    def format_products(self, cols, ids, stamps) -> list[str]:
        return self._entity("product", cols, ids, stamps)

    def format_web_events(self, cols, ids, stamps) -> list[str]:
        orders = ["null" if o < 0 else f'"O{o:010d}"' for o in cols["order"].tolist()]
        return [
            f'{{"event_id":"{e}","event_type":"{WEB_TYPES[x]}","event_at":"{ts}",'
            f'"session_id":"{sid}","customer_id":{c},"product_id":{p},"order_id":{o},'
            f'"occurred_at":"{ts}"}}'
            for e, ts, x, sid, c, p, o in zip(
                ids, stamps, cols["etype"].tolist(), cols["session"].tolist(),
                self.customer_json(cols["customer"]), self.product_json(cols["product"]), orders,
                strict=True,
            )
        ]  # fmt: skip

    # ------------------------------------------------------------ ledger

    @staticmethod
    def amounts(table: str, cols, good: np.ndarray) -> dict[str, float]:
        """What the well-formed, distinct events of a table hold (counts and money)."""
        if not len(cols["t"]):
            good = np.zeros(0, dtype=bool)
        if table == "orders":
            if not len(good):
                return {"orders": 0, "order_lines": 0, "gross_revenue": 0.0,
                        "discount_amount": 0.0, "net_revenue": 0.0}  # fmt: skip
            gross, discount = int(cols["gross"][good].sum()), int(cols["discount"][good].sum())
            return {
                "orders": int(good.sum()),
                "order_lines": int(cols["line_count"][good].sum()),
                "gross_revenue": _cents(gross),
                "discount_amount": _cents(discount),
                "net_revenue": _cents(gross - discount),
            }
        if table == "returns":
            if not len(good):
                return {"returns": 0, "return_lines": 0, "refund_amount": 0.0}
            return {
                "returns": int(good.sum()),
                "return_lines": int(cols["line_count"][good].sum()),
                "refund_amount": _cents(cols["refund"][good].sum()),
            }
        if table == "payments":
            result: dict[str, float] = {}
            for status, name in enumerate(PAYMENT_STATUSES):
                rows = good & (cols["status"] == status) if len(good) else good
                result[name] = int(rows.sum())
                result[f"{name}_amount"] = _cents(cols["amount"][rows].sum()) if len(good) else 0.0
            return result
        if table == "order_status":
            return {
                name: int((good & (cols["status"] == s)).sum()) if len(good) else 0
                for s, name in enumerate(STATUSES)
            }
        if table == "inventory":
            result = {
                "movements": int(good.sum()),
                "quantity_delta": int(cols["delta"][good].sum()) if len(good) else 0,
            }
            for m, name in enumerate(MOVEMENT_TYPES):
                result[name] = int((good & (cols["mtype"] == m)).sum()) if len(good) else 0
            return result
        if table in ("customers", "products"):
            return {
                name: int((good & (cols["etype"] == x)).sum()) if len(good) else 0
                for x, name in enumerate(("created", "updated"))
            }
        return {  # web_events
            name: int((good & (cols["etype"] == x)).sum()) if len(good) else 0
            for x, name in enumerate(WEB_TYPES)
        }


# The key each table's staging model cannot do without.
_KEY_FIELD = {
    "orders": "order_id",
    "order_status": "order_id",
    "returns": "return_id",
    "payments": "payment_id",
    "inventory": "movement_id",
    "customers": "customer_id",
    "products": "product_id",
    "web_events": "session_id",
}
_RE_EVENT_TYPE = re.compile(r'"event_type":"[^"]*"')
_RE_EVENT_AT = re.compile(r'"event_at":"([^"]*)"')
_RE_QUANTITY = re.compile(r'"quantity":(\d)')


def _invalidated(table: str, line: str, kind: int) -> str:
    """A well-formed event with one defect staging must quarantine. Each defect
    makes the whole event (every line of an order or return) invalid."""
    if kind == 3 and table == "returns":
        return _RE_QUANTITY.sub(r'"quantity":-\1', line)
    if kind == 0:
        return _RE_EVENT_TYPE.sub('"event_type":"unknown_event"', line, count=1)
    if kind == 1:
        # The event's own time, wherever it appears (event_at and e.g. ordered_at).
        stamp = _RE_EVENT_AT.search(line).group(1)
        return line.replace(f'"{stamp}"', '"1970-01-01T00:00:00"')
    key = _KEY_FIELD[table]
    return re.sub(f'"{key}":"[^"]*"', f'"{key}":null', line, count=1)


# ---------------------------------------------------------------- the first slice's API


@dataclass(frozen=True)
class OrderBatch:
    """Order events only, as the first slice produced them (compatibility)."""

    number: int
    lines: list[str]
    order_count: int
    order_line_count: int
    net_revenue: float


class OrderGenerator(ShopGenerator):
    """Compatibility: `batch(number, first_order_number, orders, start, end)` gives
    an `OrderBatch` of order events only (referencing the initial pools, never
    creating them). Called with `batch(number, events, start, end)` it is a
    `ShopGenerator`."""

    def batch(self, number: int, *args, **kwargs):  # type: ignore[override]
        if len(args) == 4:
            return self.order_batch(number, *args)
        return super().batch(number, *args, **kwargs)

    def order_batch(
        self,
        number: int,
        first_order_number: int,
        orders: int,
        window_start: datetime,
        window_end: datetime,
    ) -> OrderBatch:
        lo = to_us(window_start)
        hi = max(to_us(window_end), lo + 1)
        rng = np.random.default_rng([self.seed, 1, number])
        t = np.sort(rng.integers(lo, hi, size=orders))
        k = first_order_number + np.arange(orders, dtype=np.int64)
        content = self._order_content(k, t // MINUTE_US)
        stamps = _timestamps(t)
        builder = _BatchBuilder(self, number, 0, lo, hi, rng)
        lines = _order_lines(
            [f"E{number:08d}-{i:06d}" for i in range(orders)],
            stamps,
            k,
            _Formatter(builder).customer_json(content.customer),
            content.channel,
            content.country,
            _line_json(self.ref, content),
        )
        return OrderBatch(
            number=number,
            lines=lines,
            order_count=orders,
            order_line_count=int(content.line_count.sum()),
            net_revenue=_cents(content.total.sum()),
        )
