"""Embedded streams through the real dbt models: the offset moves only when the
consuming model's write commits."""

import duckdb
from conftest import dbt

from snowcart.engines.duckdb.streams import EmbeddedStreams

EVENT = '{{"event_id":"E{n}","event_type":"order_placed","order_id":"O{n}","customer_id":"C1","ordered_at":"2026-01-01T10:00:00","lines":[{{"line_number":1,"product_id":"P1","quantity":1,"unit_price":2.5,"discount_amount":0}}]}}'


def land(con, numbers, loaded_at):
    for n in numbers:
        con.execute(
            "insert into raw.orders values (json(?), 'f', ?, ?)",
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
