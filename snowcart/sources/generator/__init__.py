"""Synthetic shop events: vectorised with NumPy, reproducible from a seed.

One `ShopGenerator.batch` call emits every kind of event a shop produces in a
window of time, as NDJSON lines per landing table: orders with their lines,
order status changes, returns, payments, inventory movements (sales, returns,
adjustments, purchase orders received), customer and product changes (SCD2
material) and web sessions whose purchases are the orders. The first batches of
a fresh shop hold the reference pools (every product_created and the initial
customers); only the shop's first order (a small one) comes before them, with
the products and the customer it needs, so a first batch of 5 events holds an
order (`batches.open_shop`). The other orders follow once the pools are out, and
first-time customers are created with their first order (`customers`). docs/generator.md lists what the
shop is calibrated to (repeat customers, conversion, cart abandonment, stock,
revenue per product) and where each range comes from.

How it stays fast and small:

- Columns are drawn as arrays and formatted with f-string templates; Faker only
  builds the reference pools (names, e-mail domains, brands) once per seed.
- An order's content (customer, lines, prices, discounts, payment method) and its
  lifecycle (payment retry, paid, shipped, delivered, cancelled, returned,
  refunds, inventory movements) are pure functions of (seed, order number,
  minute it was placed in), computed with a counter-based hash (`hashing`,
  `orders`, `customers`). The first payment attempt comes with the order, seconds
  after it; the later steps happen minutes to days after it. Instead of keeping
  millions of open orders, the state keeps one record per minute of orders
  ("cohort") for the longest lifecycle (4 days); `lifecycle` enumerates the
  events due in any window directly. Customers who came with an order are a
  function of its number too: the state keeps only those that changed.
- `batches` plans a batch within its event budget: the rows an earlier batch
  could not hold first, time-driven events up to the budget (the rest waits:
  the state's "horizon"), then new orders at their expected share (the fraction
  of an order carried from batch to batch, so even a batch of one event keeps the
  share), browsing sessions filling the rest; a batch has exactly `events` lines
  (faults included). `formatting` writes the JSON.

State: everything that carries from one batch to the next is one value,
`ShopState` (`state`), serialisable with to_json/from_json. `ShopGenerator.make`
is a pure function of (seed, faults, state, batch plan).

Time: internally the generator runs on its own continuous shop clock. Each batch
continues where the previous one ended; if the caller's window does not start
where the last one ended (a restart hours later), the output is shifted so that
events keep coming out in the caller's window: the shop "paused" while the
producer was down, nothing is lost and nothing arrives late. The daily and
weekly rhythm and the promotions follow output (wall-clock) time, also after a
pause: the state keeps the few clock offsets that recent orders need.
"""

from snowcart.sources.generator.catalog import TABLES
from snowcart.sources.generator.clock import to_us
from snowcart.sources.generator.faults import Faults
from snowcart.sources.generator.formatting import Batch
from snowcart.sources.generator.reference import Reference, reference
from snowcart.sources.generator.shop import ShopGenerator
from snowcart.sources.generator.state import ShopState

__all__ = [
    "TABLES",
    "Batch",
    "Faults",
    "Reference",
    "ShopGenerator",
    "ShopState",
    "reference",
    "to_us",
]
