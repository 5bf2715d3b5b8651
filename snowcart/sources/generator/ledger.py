"""What a batch's ledger says each table holds: counts and money over the
well-formed, distinct events, so a run can be reconciled against the warehouse."""

from __future__ import annotations

import numpy as np

from snowcart.sources.generator.catalog import MOVEMENT_TYPES, PAYMENT_STATUSES, STATUSES, WEB_TYPES
from snowcart.sources.generator.clock import dollars


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
            "gross_revenue": dollars(gross),
            "discount_amount": dollars(discount),
            "net_revenue": dollars(gross - discount),
        }
    if table == "returns":
        if not len(good):
            return {"returns": 0, "return_lines": 0, "refund_amount": 0.0}
        return {
            "returns": int(good.sum()),
            "return_lines": int(cols["line_count"][good].sum()),
            "refund_amount": dollars(cols["refund"][good].sum()),
        }
    if table == "payments":
        result: dict[str, float] = {}
        for status, name in enumerate(PAYMENT_STATUSES):
            rows = good & (cols["status"] == status) if len(good) else good
            result[name] = int(rows.sum())
            result[f"{name}_amount"] = dollars(cols["amount"][rows].sum()) if len(good) else 0.0
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
