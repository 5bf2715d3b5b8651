"""The scheduler's decisions, with a fake warehouse and clock: what runs when,
back-off, partial failures, and when the marts are published."""

from __future__ import annotations

from dataclasses import dataclass, field

from snowcart.backends import LoadReport
from snowcart.errors import BuildError
from snowcart.scheduler import Mart, Scheduler


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
    return Scheduler(warehouse, marts, test_every_s=60, clock=clock)


def selected(call: tuple[str, ...]) -> list[str]:
    """The --select arguments of one dbt call."""
    start = call.index("--select") + 1
    end = next((i for i in range(start, len(call)) if call[i].startswith("--")), len(call))
    return list(call[start:end])


def test_stream_data_runs_one_build_with_the_due_marts_riding_along():
    warehouse, clock = FakeWarehouse(consumers=["base_shop__orders"]), Clock()
    sched = scheduler(warehouse, clock)
    sched._transform_owed = False
    sched.cycle()
    assert len(warehouse.dbt.calls) == 1
    assert selected(warehouse.dbt.calls[0]) == ["base_shop__orders+", "rpt_live", "rpt_slow"]
    assert warehouse.published == [["rpt_live", "rpt_slow"]]

    # One second later: the live mart is due again, the slow one is not.
    warehouse.dbt.calls.clear()
    clock.now += 1
    sched.cycle()
    call = warehouse.dbt.calls[0]
    assert selected(call) == ["base_shop__orders+", "rpt_live"]
    assert "rpt_slow" in call[call.index("--exclude") :]


def test_nothing_runs_without_stream_data_and_nothing_owed():
    warehouse, clock = FakeWarehouse(), Clock()
    sched = scheduler(warehouse, clock)
    sched._transform_owed = False
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
    assert sched._transform_owed


def test_snowflake_refreshes_its_own_marts():
    warehouse, clock = FakeWarehouse(consumers=["base_shop__orders"]), Clock()
    warehouse.refreshes_marts_itself = True
    sched = scheduler(warehouse, clock)
    sched.cycle()
    assert selected(warehouse.dbt.calls[0]) == ["base_shop__orders+"]
    assert warehouse.published == []


def test_tests_run_on_their_own_cadence():
    warehouse, clock = FakeWarehouse(), Clock()
    sched = scheduler(warehouse, clock)
    sched._transform_owed = False
    sched.cycle()
    assert warehouse.dbt.calls == []
    clock.now += 61
    sched.cycle()
    assert warehouse.dbt.calls == [("test", "--exclude-resource-type", "unit_test")]
