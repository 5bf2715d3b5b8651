"""Rows of orders and of their lifecycle: the order with its first payment and
web session, payment retries and refunds, status changes, returns and the
inventory movements of sales and returns."""

from __future__ import annotations

import numpy as np

from snowcart.sources.generator.catalog import (
    AUTHORIZED,
    CANCELLED,
    CART,
    CHECKOUT,
    DELIVERED,
    FAILED,
    PAID,
    PURCHASE,
    REFUNDED,
    RETURN_MOVE,
    RETURNED,
    SALE,
    SHIPPED,
    US,
    VIEW,
)
from snowcart.sources.generator.context import BatchContext
from snowcart.sources.generator.entities import customer_bodies
from snowcart.sources.generator.formatting import line_json
from snowcart.sources.generator.hashing import Slot, pick
from snowcart.sources.generator.lifecycle import (
    AUTH2,
    CANCEL,
    CANCEL_REFUND,
    DELIVER_STATUS,
    FAIL2,
    GROUPS,
    PAID2,
    PAY1,
    PF_CANCEL,
    RETURN_EVENT,
    RETURN_MOVES,
    RETURN_REFUND,
    RETURN_STATUS,
    SALE_MOVES,
    SHIP_STATUS,
    Due,
)
from snowcart.sources.generator.orders import Orders


def emit_orders(b: BatchContext, placed: dict) -> None:
    """Placed orders (see batches.draw_orders) with their first payment attempt,
    "paid" when it goes through, and the web session they come from."""
    state = b.state
    t, k = placed["t"], placed["k"]
    c = b.shop.orders.content(state, k, placed["minute"])
    b.demand += np.bincount(c.product, weights=c.quantity, minlength=b.shop.products)
    # A first-time customer is created with the order, just before it.
    new = np.flatnonzero(c.new_customer)
    if len(new):
        b.add(
            "customers",
            t=np.maximum(t[new] - US // 2, placed["place_lo"]),
            etype=np.zeros(len(new), dtype=np.int64),
            body=np.array(customer_bodies(b, c.customer[new]), dtype=object),
        )
    b.add(
        "orders",
        t=t,
        k=k,
        customer=c.customer,
        channel=c.channel,
        country=c.country,
        lines=np.array(line_json(b.shop.ref, c), dtype=object),
        line_count=c.line_count,
        gross=c.gross,
        discount=c.discount,
    )
    # The first payment attempt, and "paid" when it goes through, right after.
    delay = GROUPS[PAY1].quantile_us(b.shop.keys.u(Slot.JITTER + PAY1, k))
    pay_t = t + np.minimum(delay, b.hi - 1 - t)
    failed = placed["outcome"]["fail1"]
    b.add(
        "payments",
        t=pay_t,
        k=k,
        attempt=np.ones(len(k), dtype=np.int64),
        method=c.method,
        amount=c.total,
        status=np.where(failed, FAILED, AUTHORIZED),
    )
    paid = placed["paid_now"]
    paid_t = pay_t[paid] + np.minimum(US // 4, b.hi - 1 - pay_t[paid])
    b.add(
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
    ref = b.shop.ref
    product[extra_views] = ref.popularity_order[pick(ref.popularity_cum, placed["extra_draws"])]
    product[kind == CHECKOUT] = -1
    placed_t = t[order]
    length = np.minimum(placed["session_length"][owner], placed_t - placed["place_lo"])
    times = placed_t - (length * (1 - step / np.maximum(total - 1, 1))).astype(np.int64)
    session = np.array([f"S{x:010d}" for x in k[web].tolist()], dtype=object)[owner]
    # A first-time customer browses anonymously and registers as it buys.
    customer = np.where(c.new_customer[order] & (kind != PURCHASE), -1, c.customer[order])
    b.add(
        "web_events",
        t=times,
        etype=kind,
        session=session,
        customer=customer,
        product=product,
        order=np.where(kind == PURCHASE, k[order], -1),
    )


def lifecycle_rows(b: BatchContext, due: Due) -> None:
    """The rows of lifecycle events due in this batch."""
    if not len(due.t):
        return
    state = b.state
    s = due.stream

    # Payments: the retry after a failed first attempt, refunds of cancelled and
    # returned orders.
    pay = np.isin(s, (FAIL2, AUTH2, CANCEL_REFUND, RETURN_REFUND))
    if pay.any():
        ps, k, minute = s[pay], due.k[pay], due.minute[pay]
        content = b.shop.orders.content(state, k, minute)
        amount = content.total
        returned = ps == RETURN_REFUND
        if returned.any():
            amount[returned] = refunds(b, k[returned], minute[returned])
        b.add(
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
        b.add("order_status", t=due.t[st], k=due.k[st], status=status)
        held = st & (due.pred_t >= 0)
        if held.any():
            pred = np.select(
                [np.isin(s[held], (SHIP_STATUS, CANCEL)), s[held] == DELIVER_STATUS],
                [PAID, SHIPPED],
                DELIVERED,
            )
            b.add("order_status", t=due.pred_t[held], key=due.t[held], k=due.k[held], status=pred)

    # Returns and their inventory; sales leave stock when shipped.
    for stream in (RETURN_EVENT, RETURN_MOVES, SALE_MOVES):
        rows = np.flatnonzero(s == stream)
        if not len(rows):
            continue
        c = b.shop.orders.content(state, due.k[rows], due.minute[rows])
        times = due.t[rows][c.line_order]
        if stream == SALE_MOVES:
            movements(b, times, c.product, -c.quantity, SALE, c, "MS")
            continue
        quantity = returned_quantities(b, c)
        if stream == RETURN_MOVES:
            keep = quantity > 0
            movements(b, times[keep], c.product[keep], quantity[keep], RETURN_MOVE, c, "MR", keep)
            continue
        refund = refund_lines(c, quantity)
        b.add(
            "returns",
            t=due.t[rows],
            k=due.k[rows],
            customer=c.customer,
            country=c.country,
            lines=np.array(line_json(b.shop.ref, c, quantity, refund), dtype=object),
            line_count=np.add.reduceat((quantity > 0).astype(np.int64), c.line_start),
            refund=np.add.reduceat(refund, c.line_start),
        )


def returned_quantities(b: BatchContext, c: Orders) -> np.ndarray:
    return b.shop.orders.returned_lines(c)


def refund_lines(c: Orders, quantity: np.ndarray) -> np.ndarray:
    net = c.quantity * c.unit_price - c.line_discount
    return (2 * quantity * net + c.quantity) // (2 * c.quantity)


def refunds(b: BatchContext, k: np.ndarray, minute: np.ndarray) -> np.ndarray:
    c = b.shop.orders.content(b.state, k, minute)
    refund = refund_lines(c, returned_quantities(b, c))
    return np.add.reduceat(refund, c.line_start)


def movements(b: BatchContext, t, product, delta, kind, c: Orders, prefix: str, keep=None) -> None:
    order_k = c.k[c.line_order]
    numbers = c.line_number
    if keep is not None:
        order_k, numbers = order_k[keep], numbers[keep]
    ids = np.array(
        [f"{prefix}{k:010d}-{n}" for k, n in zip(order_k.tolist(), numbers.tolist(), strict=True)],
        dtype=object,
    )
    b.add(
        "inventory",
        t=t,
        movement=ids,
        product=product,
        mtype=np.full(len(t), kind, dtype=np.int64),
        delta=delta,
    )
