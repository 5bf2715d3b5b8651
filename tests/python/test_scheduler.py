"""The scheduler's decisions, with a fake warehouse and clock: what runs when,
back-off, partial failures, and when the marts are published."""

from __future__ import annotations

from dataclasses import dataclass, field

from snowcart.engines.base import Lineage, LoadReport
from snowcart.errors import BuildError
from snowcart.loop.scheduler import TESTS_PER_SLICE, Mart, Scheduler

# orders → fct_sales → rpt_live (1 s) and rpt_slow (30 s); web events → fct_web_events
# → rpt_slow only; dim_dates feeds no mart; stg_shop__orders is a view.
LINEAGE = Lineage(
    parents={
        "base_shop__orders": (),
        "base_shop__web_events": (),
        "stg_shop__orders": ("base_shop__orders",),
        "fct_sales": ("stg_shop__orders",),
        "fct_web_events": ("base_shop__web_events",),
        "dim_dates": ("fct_sales",),
        "rpt_live": ("fct_sales",),
        "rpt_slow": ("fct_sales", "fct_web_events"),
    },
    materialized={
        "base_shop__orders": "incremental",
        "base_shop__web_events": "incremental",
        "stg_shop__orders": "view",
        "fct_sales": "incremental",
        "fct_web_events": "incremental",
        "dim_dates": "table",
        "rpt_live": "dynamic_table",
        "rpt_slow": "dynamic_table",
    },
    streaming_tests=tuple(f"test_{number:02d}" for number in range(30)),
)


@dataclass
class FakeDbt:
    calls: list[tuple[str, ...]] = field(default_factory=list)
    fail: set[str] = field(default_factory=set)  # unique_ids that fail when selected
    skip: set[str] = field(default_factory=set)

    def invoke(self, *args: str):
        self.calls.append(args)
        selected = {f"model.snowcart.{arg}" for arg in args}
        failed = sorted(self.fail & selected)
        if failed:
            raise BuildError("dbt build failed: " + ", ".join(failed), failed, sorted(self.skip))


@dataclass
class FakeWarehouse:
    dbt: FakeDbt = field(default_factory=FakeDbt)
    consumers: list[str] = field(default_factory=list)
    refreshes_marts_itself: bool = False
    published: list[list[str]] = field(default_factory=list)
    log: list[tuple[str, str]] = field(default_factory=list)

    def ingest(self) -> LoadReport:
        return LoadReport()

    def consumers_with_data(self) -> list[str]:
        return self.consumers

    def publish(self, marts: list[str]) -> None:
        self.published.append(marts)

    def record_refresh(self, job, started_at, duration_s, status, rows, error) -> None:
        self.log.append((job, status))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def scheduler(warehouse: FakeWarehouse, clock: Clock) -> Scheduler:
    """As the pipeline starts it: the initial build has refreshed every mart."""
    marts = [
        Mart("rpt_live", lag_s=1, refreshed_at=clock.now - 60, refreshed_version=0),
        Mart("rpt_slow", lag_s=30, refreshed_at=clock.now - 60, refreshed_version=0),
    ]
    return Scheduler(warehouse, marts, LINEAGE, test_every_s=60, clock=clock)


def selected(call: tuple[str, ...]) -> list[str]:
    """The --select arguments of one dbt call."""
    start = call.index("--select") + 1
    end = next((i for i in range(start, len(call)) if call[i].startswith("--")), len(call))
    return list(call[start:end])


def test_stream_data_runs_one_build_with_the_due_marts_riding_along():
    warehouse, clock = FakeWarehouse(consumers=["base_shop__orders"]), Clock()
    sched = scheduler(warehouse, clock)
    sched._stale = set()  # the initial build succeeded
    sched.cycle()
    assert len(warehouse.dbt.calls) == 1
    assert selected(warehouse.dbt.calls[0]) == [
        "base_shop__orders", "dim_dates", "fct_sales", "rpt_live", "rpt_slow",
    ]  # fmt: skip
    assert warehouse.published == [["rpt_live", "rpt_slow"]]

    # One second later: the live mart is due again, the slow one is not.
    warehouse.dbt.calls.clear()
    clock.now += 1
    sched.cycle()
    assert selected(warehouse.dbt.calls[0]) == ["base_shop__orders", "fct_sales", "rpt_live"]


def test_the_live_marts_inputs_build_every_cycle_the_other_streams_at_the_slow_pace():
    warehouse = FakeWarehouse(consumers=["base_shop__orders", "base_shop__web_events"])
    clock = Clock()
    sched = scheduler(warehouse, clock)
    sched._stale = set()
    live, slow = sched.marts
    slow.refreshed_at = clock.now - 5  # not due for another 25 s
    for _ in range(3):
        clock.now += 1
        sched.cycle()
        # Web events (the busiest stream) feed only the slow mart: they wait.
        assert selected(warehouse.dbt.calls[-1]) == ["base_shop__orders", "fct_sales", "rpt_live"]
    assert {"base_shop__web_events", "fct_web_events", "dim_dates"} <= sched._stale

    warehouse.consumers = ["base_shop__orders"]  # the hot path read the orders stream
    clock.now += 25
    sched.cycle()
    # The slow mart is due: every stale model upstream of it rides along, and
    # dim_dates (no mart reads it) goes with the slowest mart.
    assert selected(warehouse.dbt.calls[-1]) == [
        "base_shop__orders", "base_shop__web_events", "dim_dates", "fct_sales",
        "fct_web_events", "rpt_live", "rpt_slow",
    ]  # fmt: skip
    assert sched._stale == set()
    assert live.refreshed_version == slow.refreshed_version == sched.data_version


def test_nothing_runs_without_stream_data_and_nothing_owed():
    warehouse, clock = FakeWarehouse(), Clock()
    sched = scheduler(warehouse, clock)
    sched._stale = set()  # the initial build succeeded
    for _ in range(5):
        clock.now += 1
        sched.cycle()
    assert warehouse.dbt.calls == [] and warehouse.published == []


def test_a_broken_mart_backs_off_alone_while_transforms_and_the_other_mart_go_on():
    warehouse, clock = FakeWarehouse(consumers=["base_shop__orders"]), Clock()
    warehouse.dbt.fail = {"model.snowcart.rpt_slow"}
    sched = scheduler(warehouse, clock)
    sched.cycle()
    live, slow = sched.marts
    assert slow.failures == 1 and slow.retry_at == clock.now + 1
    assert live.refreshed_version == sched.data_version == 1
    assert sched.transform.failures == 0 and "rpt_slow" in sched.refresh.last_error
    assert warehouse.published  # the healthy mart went out

    for expected_failures in (2, 3):
        clock.now = slow.retry_at
        sched.cycle()
        assert slow.failures == expected_failures
    assert slow.retry_at - clock.now == 4  # 1 s, 2 s, 4 s …
    assert sched.transform.ready(clock.now)  # the transform never backed off

    warehouse.dbt.fail = set()  # the fix lands
    clock.now = slow.retry_at
    sched.cycle()
    assert slow.failures == 0 and slow.refreshed_version == sched.data_version
    assert sched.refresh.last_error is None


def test_a_failing_fact_backs_the_transform_off_and_skipped_marts_wait():
    warehouse, clock = FakeWarehouse(consumers=["base_shop__orders"]), Clock()
    sched = scheduler(warehouse, clock)
    sched.refresh.retry_at = clock.now + 100  # only the transform runs this cycle
    warehouse.dbt.fail = {"model.snowcart.rpt_live"}
    warehouse.dbt.skip = {"model.snowcart.rpt_slow"}
    sched.cycle()
    live, slow = sched.marts
    assert live.failures == 1
    assert slow.refreshed_version == 0 and slow.failures == 0  # skipped: neither

    # An invocation that fails before any node runs: the transform backs off.
    def broken(*args):
        raise BuildError("dbt build failed: could not connect")

    warehouse.dbt.invoke = broken
    warehouse.consumers = ["base_shop__orders"]
    clock.now += 5
    sched.cycle()
    assert sched.transform.failures == 1 and not sched.transform.ready(clock.now)
    assert {"base_shop__orders", "fct_sales"} <= sched._stale  # retried after the back-off


def test_snowflake_refreshes_its_own_marts():
    warehouse, clock = FakeWarehouse(consumers=["base_shop__orders"]), Clock()
    warehouse.refreshes_marts_itself = True
    sched = scheduler(warehouse, clock)
    sched._stale = set()
    sched.cycle()
    # Every stale model (no lag to wait for), no mart: Snowflake refreshes those.
    assert selected(warehouse.dbt.calls[0]) == ["base_shop__orders", "dim_dates", "fct_sales"]
    assert warehouse.published == []


def test_tests_run_on_their_own_cadence_a_slice_per_cycle():
    warehouse, clock = FakeWarehouse(), Clock()
    sched = scheduler(warehouse, clock)
    sched._stale = set()  # the initial build succeeded
    sched.cycle()
    assert warehouse.dbt.calls == []
    clock.now += 61
    tests = list(LINEAGE.streaming_tests)
    slices = [tests[i : i + TESTS_PER_SLICE] for i in range(0, len(tests), TESTS_PER_SLICE)]
    for _ in range(len(slices) + 2):
        sched.cycle()
    # A slice per cycle, then the round is over until the next 60 s.
    assert [call[:2] for call in warehouse.dbt.calls] == [("test", "--select")] * len(slices)
    assert [selected(call) for call in warehouse.dbt.calls] == slices


def test_a_failing_test_slice_stays_shown_until_a_round_passes():
    warehouse, clock = FakeWarehouse(), Clock()
    warehouse.dbt.fail = {"model.snowcart.test_03"}
    sched = scheduler(warehouse, clock)
    sched._stale = set()
    clock.now += 61
    sched.cycle()
    assert "test_03" in sched.tests.last_error
    warehouse.dbt.fail = set()
    clock.now = sched.tests.retry_at
    sched.cycle()  # the second slice passes; the round still failed
    assert "test_03" in sched.tests.last_error
    clock.now += 61
    for _ in range(len(LINEAGE.streaming_tests) // TESTS_PER_SLICE + 1):
        sched.cycle()
    assert sched.tests.last_error is None


def with_new_mart(lineage: Lineage) -> Lineage:
    """The project after an analyst added rpt_new (reading fct_sales) and removed rpt_slow."""
    parents = {name: p for name, p in lineage.parents.items() if name != "rpt_slow"}
    materialized = {name: m for name, m in lineage.materialized.items() if name != "rpt_slow"}
    return Lineage(
        parents={**parents, "rpt_new": ("fct_sales",)},
        materialized={**materialized, "rpt_new": "dynamic_table"},
        streaming_tests=lineage.streaming_tests,
    )


def test_a_new_mart_is_due_at_once_the_others_keep_their_state_a_removed_one_goes():
    warehouse, clock = FakeWarehouse(), Clock()
    sched = scheduler(warehouse, clock)
    sched._stale = set()  # the initial build succeeded
    live = sched.marts[0]
    live.refreshed_at, live.failures, live.retry_at = clock.now, 2, clock.now + 4

    sched.update_project(
        [Mart("rpt_live", lag_s=1), Mart("rpt_new", lag_s=30)], with_new_mart(LINEAGE), {"rpt_new"}
    )
    assert [mart.name for mart in sched.marts] == ["rpt_live", "rpt_new"]
    assert sched.marts[0] is live and live.failures == 2  # its back-off is its own
    assert sched._stale == set()  # nothing upstream changed
    sched.cycle()
    # No stream data: the new mart is refreshed alone (its inputs are built), published.
    assert [selected(call) for call in warehouse.dbt.calls] == [["rpt_new"]]
    assert warehouse.published == [["rpt_live", "rpt_new"]]


def test_a_changed_model_is_rebuilt_with_what_reads_it_on_the_marts_lag():
    warehouse, clock = FakeWarehouse(), Clock()
    sched = scheduler(warehouse, clock)
    sched._stale = set()
    sched.transform.retry_at = clock.now + 30  # backing off: the change may be the fix
    marts = [Mart(mart.name, mart.lag_s) for mart in sched.marts]
    sched.update_project(marts, LINEAGE, {"stg_shop__orders"})
    # The edited view is deployed again, what reads it is rebuilt, the marts ride along.
    assert sched._stale == {"stg_shop__orders", "fct_sales", "dim_dates"}
    sched.cycle()
    assert selected(warehouse.dbt.calls[0]) == [
        "dim_dates", "fct_sales", "stg_shop__orders", "rpt_live", "rpt_slow",
    ]  # fmt: skip
    assert all(mart.refreshed_version == sched.data_version for mart in sched.marts)
