import json
from datetime import datetime, timedelta
from decimal import Decimal

from conftest import line_net_revenue

from snowcart.generator import OrderGenerator

START = datetime(2026, 1, 5, 9, 0, 0)
END = START + timedelta(minutes=10)


def test_same_seed_gives_identical_events():
    first = OrderGenerator(seed=7).batch(3, 100, 500, START, END)
    second = OrderGenerator(seed=7).batch(3, 100, 500, START, END)
    assert first.lines == second.lines


def test_different_seed_or_batch_gives_different_events():
    base = OrderGenerator(seed=7).batch(3, 100, 200, START, END).lines
    assert OrderGenerator(seed=8).batch(3, 100, 200, START, END).lines != base
    assert OrderGenerator(seed=7).batch(4, 100, 200, START, END).lines != base


def test_batch_summary_matches_its_events():
    batch = OrderGenerator(seed=1).batch(0, 1, 1000, START, END)
    events = [json.loads(line) for line in batch.lines]
    lines = [line for event in events for line in event["lines"]]
    assert batch.order_count == len(events) == 1000
    assert batch.order_line_count == len(lines)
    assert Decimal(str(batch.net_revenue)) == sum(line_net_revenue(line) for line in lines)


def test_events_are_valid_and_inside_their_window():
    events = [
        json.loads(line) for line in OrderGenerator(seed=2).batch(0, 1, 300, START, END).lines
    ]
    assert len({event["event_id"] for event in events}) == 300
    assert [event["order_id"] for event in events] == [f"O{n:010d}" for n in range(1, 301)]
    placed = [datetime.fromisoformat(event["ordered_at"]) for event in events]
    assert placed == sorted(placed)
    assert placed[0] >= START and placed[-1] < END
    for event in events:
        for number, line in enumerate(event["lines"], start=1):
            assert line["line_number"] == number
            assert line["quantity"] >= 1
            assert 0 <= line["discount_amount"] <= line["quantity"] * line["unit_price"]


def test_product_popularity_is_skewed():
    events = [
        json.loads(line) for line in OrderGenerator(seed=3).batch(0, 1, 5000, START, END).lines
    ]
    counts: dict[str, int] = {}
    for event in events:
        for line in event["lines"]:
            counts[line["product_id"]] = counts.get(line["product_id"], 0) + 1
    ranked = sorted(counts.values(), reverse=True)
    # 5 of 200 products would carry 2.5% of lines if popularity were uniform.
    assert sum(ranked[:5]) / sum(ranked) > 0.15


def test_a_staged_batch_reads_back_to_the_same_summary():
    from snowcart.generator import Batch

    batch = OrderGenerator(seed=4).batch(2, 50, 400, START, END)
    again = Batch.from_lines(2, batch.lines)
    assert (again.order_count, again.order_line_count) == (
        batch.order_count,
        batch.order_line_count,
    )
    assert again.net_revenue == batch.net_revenue
