"""The shops and the product catalogue: shared by the generator (what is sold where) and the
checks (which stores should report every day). Assets do not import it, so editing a price
here never makes a partition stale."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Store:
    store_id: str
    region: str
    city: str
    size: float  # relative footfall: the share of a day's sales it takes


@dataclass(frozen=True)
class Product:
    name: str
    category: str
    price: float  # list price, USD
    popularity: float  # relative number of sale lines on an ordinary day
    season: str | None = None  # "winter", "summer" or "gifts": when it sells more


STORES: tuple[Store, ...] = (
    Store("NYC-01", "Northeast", "New York", 1.6),
    Store("BOS-01", "Northeast", "Boston", 1.0),
    Store("ATL-01", "Southeast", "Atlanta", 1.1),
    Store("MIA-01", "Southeast", "Miami", 0.9),
    Store("CHI-01", "Midwest", "Chicago", 1.3),
    Store("DET-01", "Midwest", "Detroit", 0.7),
    Store("SEA-01", "West", "Seattle", 1.0),
    Store("LAX-01", "West", "Los Angeles", 1.4),
)

PRODUCTS: tuple[Product, ...] = (
    Product("espresso beans 1kg", "grocery", 18.50, 6.0),
    Product("oat milk 1l", "grocery", 2.79, 10.0),
    Product("sourdough loaf", "grocery", 5.25, 9.0),
    Product("olive oil 750ml", "grocery", 11.90, 4.0),
    Product("dark chocolate bar", "grocery", 3.49, 7.0, "gifts"),
    Product("sparkling water 12-pack", "grocery", 6.99, 5.0, "summer"),
    Product("ceramic mug", "home", 12.00, 2.5, "gifts"),
    Product("scented candle", "home", 16.50, 2.0, "winter"),
    Product("wool blanket", "home", 59.00, 0.8, "winter"),
    Product("beach towel", "home", 24.00, 0.6, "summer"),
    Product("sunscreen spf50", "health", 13.75, 1.2, "summer"),
    Product("gift card 50", "gifts", 50.00, 0.7, "gifts"),
    Product("wireless earbuds", "electronics", 79.99, 0.9, "gifts"),
    Product("phone charger", "electronics", 19.99, 1.8),
    Product("notebook a5", "stationery", 7.50, 2.2),
    Product("fountain pen", "stationery", 34.00, 0.5, "gifts"),
)

REGIONS: tuple[str, ...] = tuple(dict.fromkeys(s.region for s in STORES))
STORE_IDS: frozenset[str] = frozenset(s.store_id for s in STORES)
