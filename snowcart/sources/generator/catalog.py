"""What the shop is made of: landing tables, geography, products, enumerations,
the shape of demand and the rates of everything that happens. Constants only."""

from __future__ import annotations

from datetime import datetime

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
# A fresh shop's first order has at most this many lines: with its products and
# its customer it fits a first batch of FIRST_ORDER_LINES + 2 events.
FIRST_ORDER_LINES = 3
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
WEEK_MEAN = sum(HOURLY_PROFILE) / 24 * (5 + 2 * WEEKEND_FACTOR) / 7

# Mix and rates (docs/generator.md says where each range comes from).
# New orders per line of budget. With the lifecycle and the session each order
# brings (~16 lines), and browsing sessions filling the rest, this sets session
# conversion (~4%); it is also what keeps an order a minute at 1 event/s (1.35).
ORDER_SHARE = 0.0225
GUEST_RATE = 0.05
NEW_CUSTOMER_SHARE = 0.6  # registered orders placed by a first-time customer
# A returning order's customer is the customer of an earlier order, drawn
# (k - first + pool) * u ** RETURN_RECENCY orders back: customers with more orders
# come back more often (a long tail), recent ones a little more.
RETURN_RECENCY = 1.5
FIRST_PAYMENT_FAILS = 0.06
SECOND_PAYMENT_FAILS = 0.25  # of those: the order is cancelled
CANCEL_AFTER_PAYMENT = 0.03
RETURN_RATE = 0.08  # of delivered orders
CUSTOMER_CHANGES_PER_DAY = 40.0  # customer updates a day (segment, address, e-mail)
PRICE_CHANGES_PER_DAY = 0.25  # product updates a day, as a share of products
ADJUSTMENTS_PER_HOUR = 1.0
GROWTH_DAYS = 30.0  # growth reaches tanh(days / GROWTH_DAYS) of its full effect

# Storefront sessions that buy nothing: page views (most leave after one),
# sometimes a cart, and of those some reach checkout (cart abandonment ~70%).
BROWSE_VIEW_WEIGHTS = (0.80, 0.12, 0.05, 0.03)  # 1..4 page views
BROWSE_CART = 0.105
BROWSE_CHECKOUT = 0.35  # of sessions with a cart

# Product demand: Zipf-Mandelbrot over popularity ranks, cheaper items selling
# more units (units ~ price ** -PRICE_ELASTICITY): revenue is a long tail.
POPULARITY_SHIFT = 5.0
POPULARITY_POWER = 1.1
PRICE_ELASTICITY = 0.9

# Stock: each product is checked every RESTOCK_PERIOD_US; below REORDER_DAYS of
# demand (a smoothed rate of units ordered) a purchase order is placed for
# ORDER_UP_TO_DAYS of demand; it arrives LEAD_DAYS later as a "restock" movement.
RESTOCK_PERIOD_US = 10 * MINUTE_US
DEMAND_DAYS = 7.0  # time constant of the demand estimate
REORDER_DAYS = 18.0
ORDER_UP_TO_DAYS = 45.0
LEAD_DAYS = (1.0, 7.0)
INITIAL_COVER_DAYS = (10.0, 40.0)  # initial stock, in days of expected demand
MIN_STOCK = 5
# At most this many units in stock or on one purchase order, whatever the rate
# (`--rate 0` makes the first batch's pace enormous): staging quarantines a
# movement of more than a million units (macros/staging.sql, max_quantity).
MAX_STOCK = 1_000_000
