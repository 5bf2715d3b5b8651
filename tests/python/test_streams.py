"""Embedded streams through the real dbt models: the offset moves only when the
consuming model's write commits."""

import json
from datetime import datetime
from decimal import Decimal

import duckdb
from conftest import dbt

from snowcart.engines.duckdb.streams import EmbeddedStreams
from snowcart.settings import stream_consumers
from snowcart.sources.generator.shop import ShopGenerator

EVENT = '{{"event_id":"E{n}","event_type":"order_placed","order_id":"O{n}","customer_id":"C1","ordered_at":"2026-01-01T10:00:00","lines":[{{"line_number":1,"product_id":"P1","quantity":1,"unit_price":2.5,"discount_amount":0}}]}}'


def land(con, numbers, loaded_at):
    for n in numbers:
        con.execute(
            "insert into raw.orders (payload, _file_name, _file_row_number, _loaded_at) values (json(?), 'f', ?, ?)",
            [EVENT.format(n=n), n, loaded_at],
        )


def test_offsets_move_with_the_consuming_build_only(tmp_path):
    assert dbt("run-operation", "create_landing_tables", home=tmp_path).returncode == 0
    path = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(path) as con:
        streams = EmbeddedStreams(con, "raw")
        assert not streams.has_data("orders", "base_shop__orders")
        land(con, [1, 2, 3], "2026-01-01 10:00:00")
        assert streams.has_data("orders", "base_shop__orders")
        assert streams.backlog("orders", "base_shop__orders") == 3

    assert dbt("build", home=tmp_path).returncode == 0
    with duckdb.connect(path) as con:
        streams = EmbeddedStreams(con, "raw")
        assert not streams.has_data("orders", "base_shop__orders")
        assert not streams.has_data("orders", "base_shop__order_lines")
        land(con, [4, 5], "2026-01-01 10:00:05")
        assert streams.backlog("orders", "base_shop__order_lines") == 2
        # Break the consumer's write: event 5 has no customer.
        con.execute(
            "update raw.orders set payload = json_remove(payload, '$.customer_id') where _file_row_number = 5"
        )
        con.execute(
            "alter table staging.base_shop__order_lines alter column customer_id set not null"
        )

    broken = dbt("build", "--select", "base_shop__order_lines", home=tmp_path)
    assert broken.returncode != 0
    assert "NOT NULL constraint failed" in broken.stdout, broken.stdout[-1500:]
    with duckdb.connect(path) as con:
        # The failed write did not move the offset.
        assert EmbeddedStreams(con, "raw").backlog("orders", "base_shop__order_lines") == 2
        con.execute(
            "alter table staging.base_shop__order_lines alter column customer_id drop not null"
        )
    assert dbt("build", home=tmp_path).returncode == 0
    with duckdb.connect(path, read_only=True) as con:
        streams = EmbeddedStreams(con, "raw")
        assert streams.backlog("orders", "base_shop__order_lines") == 0
        (rows,) = con.execute("select count(*) from analytics.fct_sales").fetchone()
    assert rows == 5


def test_offsets_kept_as_load_times_become_rowids_without_a_reread(tmp_path):
    """A warehouse from before rowid offsets holds only `offset_loaded_at`; the
    on-run-start DDL turns it into the same position as a rowid (the embedded
    pipe stamped loads in commit order), so nothing consumed is read again and
    nothing unconsumed is skipped."""
    assert dbt("run-operation", "create_landing_tables", home=tmp_path).returncode == 0
    path = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(path) as con:
        land(con, [1, 2, 3], "2026-01-01 10:00:00")
    assert dbt("build", "--select", "base_shop__orders", home=tmp_path).returncode == 0
    with duckdb.connect(path) as con:
        land(con, [4, 5], "2026-01-01 10:00:05")
        # The table as it was before offsets were rowids.
        con.execute("alter table ops.stream_offsets drop column offset_rowid")
    assert dbt("run-operation", "create_landing_tables", home=tmp_path).returncode == 0
    with duckdb.connect(path, read_only=True) as con:
        assert EmbeddedStreams(con, "raw").backlog("orders", "base_shop__orders") == 2


def land_batch(con, batch, loaded_at: datetime) -> None:
    """One load of every table of a generated batch, stamped `loaded_at`, the way
    Snowpipe stamps a file: with when it started, not when it committed."""
    for table, lines in batch.lines_by_table.items():
        if not lines:
            continue
        con.executemany(
            f"insert into raw.{table} (payload, _file_name, _file_row_number, _loaded_at) values (json(?), ?, ?, ?)",
            [[line, f"batch{batch.number}/{table}.ndjson", row, loaded_at]
             for row, line in enumerate(lines, 1)],
        )  # fmt: skip


def test_a_load_that_commits_after_a_later_stamped_one_reaches_every_fact(tmp_path):
    """Two loads commit in the opposite order of their load timestamps, with a
    build in between: every event still reaches its fact, and only once. The
    expected figures come from the events' JSON."""
    shop = ShopGenerator(seed=11)
    days = [
        datetime(2026, 1, 1),
        datetime(2026, 1, 3),
        datetime(2026, 1, 10),
        datetime(2026, 1, 20),
    ]
    first, early, late = (
        shop.batch(n, 1500, start, end)
        for n, (start, end) in enumerate(zip(days, days[1:], strict=False), 1)
    )
    assert dbt("run-operation", "create_landing_tables", home=tmp_path).returncode == 0
    path = str(tmp_path / "warehouse.duckdb")
    # Each load is stamped when its window ends (no event is more than a day
    # after its load, or staging would quarantine it).
    for batch, loaded_at in ((first, days[1]), (late, days[3]), (early, days[2])):
        with duckdb.connect(path) as con:
            land_batch(con, batch, loaded_at)
        build = dbt("build", "--exclude", "tag:at_rest", home=tmp_path)
        assert build.returncode == 0, build.stdout[-3000:]

    events = {
        table: [json.loads(line) for b in (first, early, late) for line in b.lines_by_table[table]]
        for table in first.lines_by_table
    }
    sold = [line for order in events["orders"] for line in order["lines"]]
    returned = [line for ret in events["returns"] for line in ret["lines"]]
    assert len(returned) > 0 and len(events["payments"]) > 0
    expected = {
        "fct_sales": (len(sold), sum(
            Decimal(str(line["unit_price"])) * line["quantity"]
            - Decimal(str(line["discount_amount"])) for line in sold
        )),
        "fct_payments": (
            len({p["payment_id"] for p in events["payments"]}),
            sum(Decimal(str(p["amount"])) for p in events["payments"]),
        ),
        "fct_returns": (len(returned), None),
        "fct_inventory_movements": (len({m["movement_id"] for m in events["inventory"]}), None),
        "fct_web_events": (len(events["web_events"]), None),
    }  # fmt: skip
    money = {"fct_sales": "booked_revenue", "fct_payments": "amount"}
    with duckdb.connect(path, read_only=True) as con:
        found = {
            fact: con.execute(
                f"select count(*), {f'sum({money[fact]})' if fact in money else 'null'}"
                f" from analytics.{fact}"
            ).fetchone()
            for fact in expected
        }
        streams = EmbeddedStreams(con, "raw")
        backlog = {
            (table, consumer): streams.backlog(table, consumer)
            for table, consumers in stream_consumers().items()
            for consumer in consumers
        }
    assert found == expected
    assert set(backlog.values()) == {0}, backlog
