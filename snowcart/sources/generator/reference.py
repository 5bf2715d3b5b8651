"""The reference pools of a seed: customer names and e-mail domains per country
(from Faker, built once per seed), geography, and the product catalogue."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from snowcart.sources.generator.catalog import (
    ADJECTIVES,
    CATEGORIES,
    COUNTRIES,
    POPULARITY_POWER,
    POPULARITY_SHIFT,
    PRICE_ELASTICITY,
)
from snowcart.sources.generator.hashing import cumulative, key


def escaped(text: str) -> str:
    """The inside of a JSON string literal."""
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _ascii(text: str) -> str:
    text = text.replace("ß", "ss")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum()) or "user"


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
    legacy_stock: np.ndarray  # the initial stock version 1 states gave their products
    demand_share: np.ndarray  # of order lines, per product
    popularity_cum: np.ndarray  # over popularity ranks
    popularity_order: np.ndarray  # product index of each popularity rank


@lru_cache(maxsize=16)
def reference(seed: int, products: int) -> Reference:
    from faker import Faker

    first, last, first_ascii, last_ascii, domains = [], [], [], [], []
    for index, (_, locale, *_rest) in enumerate(COUNTRIES):
        fake = Faker(locale)
        fake.seed_instance(key(seed, 1, index) & 0x7FFFFFFF)
        if locale == "ja_JP":
            firsts = [fake.first_romanized_name() for _ in range(60)]
            lasts = [fake.last_romanized_name() for _ in range(60)]
        else:
            firsts = [fake.first_name() for _ in range(60)]
            lasts = [fake.last_name() for _ in range(60)]
        first.append(tuple(escaped(name) for name in firsts))
        last.append(tuple(escaped(name) for name in lasts))
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
            region_names.append(escaped(region))
            city_first.append(len(city_names))
            city_count.append(len(cities))
            city_names.extend(escaped(city) for city in cities)

    rng = np.random.default_rng([seed, 2])
    fake = Faker("en_US")
    fake.seed_instance(key(seed, 2) & 0x7FFFFFFF)
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
        names.append(escaped(name))
    # A random product at each rank of a Zipf-Mandelbrot curve, cheaper items
    # selling more units: revenue is a long tail, not one item.
    legacy_stock = rng.integers(50, 500, size=products)
    rank = rng.permutation(products)
    weight = (rank + 1 + POPULARITY_SHIFT) ** -POPULARITY_POWER
    weight = weight * (price / np.median(price)) ** -PRICE_ELASTICITY
    order = np.argsort(-weight, kind="stable")
    return Reference(
        first_names=tuple(first),
        last_names=tuple(last),
        first_ascii=tuple(first_ascii),
        last_ascii=tuple(last_ascii),
        domains=tuple(domains),
        country_codes=tuple(c[0] for c in COUNTRIES),
        country_cum=cumulative([c[2] for c in COUNTRIES]),
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
        legacy_stock=legacy_stock,
        demand_share=weight / weight.sum(),
        popularity_cum=cumulative(weight[order]),
        popularity_order=order,
    )
