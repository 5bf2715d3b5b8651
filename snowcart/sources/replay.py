"""Replay of real transactions (CSV or Parquet) as shop events, in event-time order.

Built-in layout: the UCI Online Retail dataset (InvoiceNo, StockCode, Description,
Quantity, InvoiceDate, UnitPrice, CustomerID, Country). Other files are mapped
column by column (`--replay-columns invoice=OrderNo,stock_code=Sku,...`).

How rows become events (every input row is accounted for in the replay report):
- an invoice starting with `A` is a bad-debt adjustment: not a sale, reported;
- an invoice starting with `C` is a cancellation: a return (`returns`) of the
  most recent earlier sale of that product to that customer, if there is one;
- a row of another invoice with quantity <= 0 is a stock adjustment
  (`inventory`), not a sale;
- every other row is an order line; the rows of one invoice form one order
  (`orders`); a row without a customer is a guest order;
- the first sale of a customer or product also emits its `customer_created` /
  `product_created` event, just before the order.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import duckdb

from snowcart.errors import ConfigError
from snowcart.sources.generator import Batch
from snowcart.stages.local import glob_free

UNTHROTTLED_EVENTS = 20_000


@dataclass(frozen=True)
class ColumnMapping:
    """Which source column holds each field a replay needs."""

    invoice: str = "InvoiceNo"
    stock_code: str = "StockCode"
    description: str = "Description"
    quantity: str = "Quantity"
    invoice_date: str = "InvoiceDate"
    unit_price: str = "UnitPrice"
    customer_id: str = "CustomerID"
    country: str = "Country"

    @classmethod
    def parse(cls, text: str | None) -> ColumnMapping:
        """`field=Column,field=Column`; fields not named keep the UCI default."""
        if not text:
            return cls()
        known = {field.name for field in fields(cls)}
        overrides = {}
        for pair in text.split(","):
            name, _, column = pair.partition("=")
            if name.strip() not in known or not column.strip():
                raise ConfigError(
                    f"bad --replay-columns entry {pair!r}; expected field=Column with field one of "
                    + ", ".join(sorted(known))
                )
            overrides[name.strip()] = column.strip()
        return cls(**overrides)

    def columns_in(self, path: Path, columns: list[str]) -> dict[str, str]:
        """Each field's column as a quoted identifier, checked against `columns`
        (the file's own): a name that is not one of them never reaches SQL.
        DuckDB matches names case-insensitively; so does this, when unambiguous."""
        quoted = {}
        for field, wanted in asdict(self).items():
            matches = [column for column in columns if column == wanted] or [
                column for column in columns if column.lower() == wanted.lower()
            ]
            if len(matches) != 1:
                raise ConfigError(
                    f"--replay {path}: no column {wanted!r} (for {field}); its columns are: "
                    + ", ".join(columns)
                    + " (map them with --replay-columns field=Column)"
                )
            quoted[field] = '"' + matches[0].replace('"', '""') + '"'
        return quoted


@dataclass
class ReplayReport:
    """Where every source row went."""

    rows_read: int = 0
    order_lines: int = 0
    orders: int = 0
    return_lines: int = 0
    returns_unmatched: int = 0
    stock_adjustment_rows: int = 0
    bad_debt_rows: int = 0
    bad_debt_amount: float = 0.0

    def accounted(self) -> bool:
        return self.rows_read == (
            self.order_lines + self.return_lines + self.stock_adjustment_rows + self.bad_debt_rows
        )


def _source_relation(path: Path) -> str:
    suffix = "".join(path.suffixes).lower()
    if suffix.endswith(".parquet"):
        return "read_parquet($path)"
    if suffix.endswith((".csv", ".csv.gz", ".tsv")):
        return "read_csv($path, header = true)"
    raise ConfigError(f"--replay {path}: expected a .parquet or .csv file")


# Source rows, typed and classified, in file order. `Unknown` descriptions are
# the dataset's fill value for missing ones. Each `{field}` is the quoted name
# of a column the file has (ColumnMapping.columns_in).
ROWS_SQL = """
    create temp table replay_rows as
    select
        row_number() over () as source_row,
        cast({invoice} as varchar) as invoice,
        cast({stock_code} as varchar) as stock_code,
        nullif(cast({description} as varchar), 'Unknown') as description,
        cast({quantity} as bigint) as quantity,
        cast({invoice_date} as timestamp) as invoiced_at,
        cast({unit_price} as decimal(38, 4)) as unit_price,
        case when {customer_id} is not null
            then 'UCI' || cast(cast({customer_id} as bigint) as varchar) end as customer_id,
        cast({country} as varchar) as country,
        case
            when cast({invoice} as varchar) like 'A%' then 'bad_debt'
            when cast({invoice} as varchar) like 'C%' then 'return'
            when cast({quantity} as bigint) <= 0 then 'stock_adjustment'
            else 'sale'
        end as row_kind
    from {relation}
"""

# One JSON event per line of output, with its event time and landing table.
EVENTS_SQL = r"""
    with
    sales as (select * from replay_rows where row_kind = 'sale'),
    sale_lines as (
        select *, row_number() over (partition by invoice order by source_row) as line_number
        from sales
    ),
    orders as (
        select
            min(invoiced_at) as event_at,
            min(source_row) as first_row,
            'orders' as table_name,
            to_json({
                event_id: 'uci-order-' || invoice,
                event_type: 'order_placed',
                event_at: strftime(min(invoiced_at), '%Y-%m-%dT%H:%M:%S.%f'),
                order_id: invoice,
                customer_id: any_value(customer_id),
                channel: 'web',
                currency: 'GBP',
                ship_country: any_value(country),
                ordered_at: strftime(min(invoiced_at), '%Y-%m-%dT%H:%M:%S.%f'),
                lines: list({
                    line_number: line_number,
                    product_id: stock_code,
                    quantity: quantity,
                    unit_price: unit_price,
                    discount_amount: 0
                } order by line_number)
            }) as payload,
            count(*) as line_count,
            sum(quantity * unit_price) as amount
        from sale_lines
        group by invoice
    ),
    returned as (
        select
            returns.*,
            row_number() over (partition by returns.invoice order by returns.source_row) as line_number,
            matched.invoice as original_order_id
        from (select * from replay_rows where row_kind = 'return') as returns
        asof left join sales as matched
            on returns.customer_id = matched.customer_id
            and returns.stock_code = matched.stock_code
            and returns.invoiced_at >= matched.invoiced_at
    ),
    returns_ as (
        select
            min(invoiced_at) as event_at,
            min(source_row) as first_row,
            'returns' as table_name,
            to_json({
                event_id: 'uci-return-' || invoice,
                event_type: 'order_returned',
                event_at: strftime(min(invoiced_at), '%Y-%m-%dT%H:%M:%S.%f'),
                return_id: invoice,
                order_id: any_value(original_order_id),
                customer_id: any_value(customer_id),
                ship_country: any_value(country),
                returned_at: strftime(min(invoiced_at), '%Y-%m-%dT%H:%M:%S.%f'),
                lines: list({
                    line_number: line_number,
                    order_id: original_order_id,
                    product_id: stock_code,
                    quantity: -quantity,
                    unit_price: unit_price,
                    refund_amount: -quantity * unit_price
                } order by line_number)
            }) as payload,
            count(*) as line_count,
            sum(-quantity * unit_price) as amount
        from returned
        group by invoice
    ),
    adjustments as (
        select
            invoiced_at as event_at,
            source_row as first_row,
            'inventory' as table_name,
            to_json({
                event_id: 'uci-adjustment-' || cast(source_row as varchar),
                event_type: 'inventory_movement',
                event_at: strftime(invoiced_at, '%Y-%m-%dT%H:%M:%S.%f'),
                movement_id: invoice || '-' || cast(source_row as varchar),
                product_id: stock_code,
                movement_type: 'adjustment',
                quantity_delta: quantity,
                moved_at: strftime(invoiced_at, '%Y-%m-%dT%H:%M:%S.%f')
            }) as payload,
            1 as line_count,
            0 as amount
        from replay_rows
        where row_kind = 'stock_adjustment'
    ),
    first_customers as (
        select customer_id, arg_min(country, source_row) as country,
            min(invoiced_at) as event_at, min(source_row) as first_row
        from sales where customer_id is not null
        group by customer_id
    ),
    customers as (
        select
            event_at,
            first_row - 0.5 as first_row,
            'customers' as table_name,
            to_json({
                event_id: 'uci-customer-' || customer_id,
                event_type: 'customer_created',
                event_at: strftime(event_at, '%Y-%m-%dT%H:%M:%S.%f'),
                customer_id: customer_id,
                country_code: country,
                signup_at: strftime(event_at, '%Y-%m-%dT%H:%M:%S.%f'),
                updated_at: strftime(event_at, '%Y-%m-%dT%H:%M:%S.%f')
            }) as payload,
            0 as line_count,
            0 as amount
        from first_customers
    ),
    first_products as (
        select stock_code, arg_min(description, source_row) as description,
            arg_min(unit_price, source_row) as unit_price,
            min(invoiced_at) as event_at, min(source_row) as first_row
        from sales
        group by stock_code
    ),
    products as (
        select
            event_at,
            first_row - 0.5 as first_row,
            'products' as table_name,
            to_json({
                event_id: 'uci-product-' || stock_code,
                event_type: 'product_created',
                event_at: strftime(event_at, '%Y-%m-%dT%H:%M:%S.%f'),
                product_id: stock_code,
                name: description,
                category: 'uncategorized',
                list_price: unit_price,
                updated_at: strftime(event_at, '%Y-%m-%dT%H:%M:%S.%f')
            }) as payload,
            0 as line_count,
            0 as amount
        from first_products
    ),
    all_events as (
        select * from customers
        union all select * from products
        union all select * from orders
        union all select * from returns_
        union all select * from adjustments
    )
    select event_at, table_name, payload
    from all_events
    order by event_at, first_row
"""


class Replay:
    """A source file turned into an ordered list of events, emitted in batches."""

    def __init__(self, path: Path, mapping: ColumnMapping | None = None) -> None:
        if not path.exists():
            raise ConfigError(f"--replay {path}: no such file")
        self.path = path
        self.mapping = mapping or ColumnMapping()
        self.report = ReplayReport()
        con = duckdb.connect()
        relation = _source_relation(path)
        source = {"path": glob_free(path)}
        try:
            described = con.execute(f"describe select * from {relation}", source).fetchall()
            columns = self.mapping.columns_in(path, [row[0] for row in described])
            con.execute(ROWS_SQL.format(relation=relation, **columns), source)
        except duckdb.Error as error:
            reason = str(error).splitlines()[0]
            raise ConfigError(
                f"--replay {path}: cannot read it as mapped (--replay-columns): {reason}"
            ) from error
        self._count(con)
        rows = con.execute(EVENTS_SQL).fetchall()
        con.close()
        self.event_times = [row[0] for row in rows]
        self.tables = [row[1] for row in rows]
        self.payloads = [row[2] for row in rows]

    def _count(self, con: duckdb.DuckDBPyConnection) -> None:
        kinds = dict(
            con.execute("select row_kind, count(*) from replay_rows group by 1").fetchall()
        )
        report = self.report
        report.rows_read = con.execute("select count(*) from replay_rows").fetchone()[0]
        report.order_lines = kinds.get("sale", 0)
        report.return_lines = kinds.get("return", 0)
        report.stock_adjustment_rows = kinds.get("stock_adjustment", 0)
        report.bad_debt_rows = kinds.get("bad_debt", 0)
        report.orders = con.execute(
            "select count(distinct invoice) from replay_rows where row_kind = 'sale'"
        ).fetchone()[0]
        report.bad_debt_amount = float(
            con.execute(
                "select coalesce(sum(quantity * unit_price), 0) from replay_rows"
                " where row_kind = 'bad_debt'"
            ).fetchone()[0]
        )
        unmatched_rows = con.execute(
            """
            select count(*) from replay_rows as returns
            where row_kind = 'return' and not exists (
                select 1 from replay_rows as sales
                where sales.row_kind = 'sale' and sales.customer_id = returns.customer_id
                    and sales.stock_code = returns.stock_code
                    and sales.invoiced_at <= returns.invoiced_at
            )
            """
        ).fetchone()[0]
        report.returns_unmatched = unmatched_rows

    def __len__(self) -> int:
        return len(self.payloads)

    def batch(self, number: int, start: int, end: int) -> Batch:
        """Events [start, end) as one batch, a stage file per landing table."""
        lines_by_table: dict[str, list[str]] = {}
        for index in range(start, end):
            lines_by_table.setdefault(self.tables[index], []).append(self.payloads[index])
        ledger: dict[str, dict[str, float]] = {}
        for table, lines in lines_by_table.items():
            entry: dict[str, float] = {"events": len(lines), "duplicates": 0, "malformed": 0}
            if table == "orders":
                events = [json.loads(line) for line in lines]
                order_lines = [line for event in events for line in event["lines"]]
                gross = sum(line["quantity"] * line["unit_price"] for line in order_lines)
                entry.update(
                    orders=len(events),
                    order_lines=len(order_lines),
                    gross_revenue=round(gross, 4),
                    discount_amount=0,
                    net_revenue=round(gross, 4),
                )
            elif table == "returns":
                events = [json.loads(line) for line in lines]
                return_lines = [line for event in events for line in event["lines"]]
                entry.update(
                    returns=len(events),
                    return_lines=len(return_lines),
                    refund_amount=round(sum(line["refund_amount"] for line in return_lines), 4),
                )
            ledger[table] = entry
        return Batch(number=number, lines_by_table=lines_by_table, ledger=ledger)

    def run(self, producer, speed: float, stop: threading.Event, tick_s: float = 0.5) -> None:
        """Emit every event not emitted yet, compressing event time by `speed`
        (0: as fast as possible); resumable through `replay.json` in the home."""
        state_path = producer.state_path.with_name("replay.json")
        state = json.loads(state_path.read_text()) if state_path.exists() else {}
        if state and state.get("source") != str(self.path.resolve()):
            raise ConfigError(
                f"this home is replaying {state.get('source')}; use another --home for {self.path}"
            )
        position = int(state.get("next_event", 0))
        pending = state.get("pending")
        if pending:
            # A crash hit this batch after its plan was saved: make it again under
            # the same number (staged files are kept; the ledger counts it once).
            producer.emit_batch(self.batch(pending["batch"], pending["start"], pending["end"]))
            position = pending["end"]
            self._save(state_path, position, None)
        started = time.monotonic()
        # Event time of the first event this run emits maps to the run's start.
        origin = self.event_times[position] if position < len(self) else None
        while position < len(self) and not stop.is_set():
            if speed > 0:
                stop.wait(tick_s)
                replayed_s = (time.monotonic() - started) * speed
                end = position
                while end < len(self) and (
                    (self.event_times[end] - origin).total_seconds() <= replayed_s
                ):
                    end += 1
            else:
                end = min(position + UNTHROTTLED_EVENTS, len(self))
            if end > position:
                plan = {"batch": producer.checkpoint.next_batch, "start": position, "end": end}
                self._save(state_path, position, plan)
                producer.emit_batch(self.batch(plan["batch"], position, end))
                position = end
                self._save(state_path, position, None)

    def _save(self, state_path: Path, next_event: int, pending: dict | None) -> None:
        temp = state_path.with_suffix(".tmp")
        temp.write_text(
            json.dumps(
                {"source": str(self.path.resolve()), "next_event": next_event, "pending": pending}
            )
        )
        temp.replace(state_path)
