"""`setup.py --target snowflake --verify`: prove on a real account what no local
test can. In a scratch database of its own (`<database>_VERIFY`, created with
setup's own statements and dropped at the end, whatever happens), it stages two
small generated batches with known totals (malformed lines and duplicates
among them) through the loader's PUT and the pipes, builds the project as the
transformer after each, refreshes the dynamic tables, and checks what only
Snowflake can show. See docs/snowflake.md, "Check an account"."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from snowcart.engines.snowflake.connection import SnowflakeConfig, connect
from snowcart.engines.snowflake.plan import LOADER, REPORTER, TRANSFORMER, SnowflakePlan
from snowcart.engines.snowflake.statements import (
    access_groups,
    ingest_groups,
    object_groups,
    s3_groups,
    task_groups,
)
from snowcart.engines.snowflake.templates import fragment, literal, statement, statements
from snowcart.engines.snowflake.verdicts import (
    Check,
    dynamic_tables_check,
    failures,
    pipe_status_check,
    print_checks,
    totals_check,
)
from snowcart.errors import BuildError, SnowcartError
from snowcart.settings import Settings, identifier

SCRATCH_SUFFIX = "_VERIFY"
SCRATCH_S3_FOLDER = "snowcart_verify/"
SEED = 20261202
# (events, hours of shop time) per batch: the second reaches the models incrementally.
BATCHES = ((900, 6), (400, 2))
START = datetime(2026, 1, 5, 6, 0, 0)
PIPE_WAIT_S = 900.0
POLL_S = 5.0


def scratch_plan(plan: SnowflakePlan) -> SnowflakePlan:
    """The scratch database; with S3, a folder of the prefix of its own, which
    the production pipes (reading `<prefix><table>/`) never load."""
    s3 = plan.s3 and replace(plan.s3, url=plan.s3.url + SCRATCH_S3_FOLDER)
    database = identifier(plan.database + SCRATCH_SUFFIX, "scratch database")
    return replace(plan, database=database, s3=s3)


def scratch_setup(plan: SnowflakePlan) -> list[str]:
    """Setup's statements for the scratch database; its tasks come in their own
    check. With S3, the stage and pipes only: the storage integration is setup's
    (the scratch folder is inside its allowed location)."""
    groups = [*object_groups(plan), *ingest_groups(plan)]
    if plan.s3:
        groups += s3_groups(plan)[1:]
    groups += access_groups(plan)
    return [sql for group in groups for sql in group.all_statements()]


class AccountCheck:
    """One verification, step by step, on one connection as the setup role
    (switching roles with USE ROLE), the loader's PUTs and dbt beside it."""

    def __init__(self, settings: Settings, plan: SnowflakePlan, config: SnowflakeConfig,
                 stop: threading.Event | None = None, out: Callable[[str], None] = print) -> None:  # fmt: skip
        self.plan = scratch_plan(plan)
        self.setup_role = plan.setup_role
        self.config = replace(config, database=self.plan.database)
        self.project_dir = settings.project_dir
        self.stop = stop or threading.Event()
        self.out = out
        self.home = Path(tempfile.mkdtemp(prefix="snowcart-verify-"))
        self.settings = Settings(target="snowflake", home=self.home, project_dir=self.project_dir)
        self.checks: list[Check] = []
        # Lines each landing table holds, after the last load.
        self.landed: dict[str, int] = {}
        self._con = None
        self._role: str | None = None
        self._environ = dict(os.environ)
        self._s3_written = None  # (S3Stage, name) of the object the S3 check wrote

    # ---------------------------------------------------------------- running

    def run(self) -> list[Check]:
        try:
            self._steps()
        except SnowcartError as error:
            self.checks.append(Check("stopped", False, str(error)))
        finally:
            self.clean_up()
        return self.checks

    def _steps(self) -> None:
        from snowcart.sources.generator import Faults, ShopGenerator
        from snowcart.sources.producer import Producer
        from snowcart.stages.local import LocalStage

        self._say(f"scratch database {self.plan.database}: created with setup's statements")
        self.sql(statement("verify_drop_database", database=self.plan.database), self.setup_role)
        for sql in scratch_setup(self.plan):
            self.sql(sql)
        self.settings.prepare()
        os.environ.update(SNOWFLAKE_DATABASE=self.plan.database, SNOWFLAKE_ROLE=TRANSFORMER)
        faults = Faults(duplicate_rate=0.02, malformed_rate=0.02)
        producer = Producer(ShopGenerator(seed=SEED, faults=faults),
                            LocalStage(self.settings.stage_dir), self.settings.ledger_path,
                            self.home / "producer.json", now=lambda: START)  # fmt: skip
        window = START
        for number, (events, hours) in enumerate(BATCHES, start=1):
            producer.emit(events, window, window + timedelta(hours=hours))
            window += timedelta(hours=hours)
            self._load(number)
            self._build(number)
            if number == 1:
                self.checks.append(self._streams_check(expect_data=True))
        self.checks.append(self._streams_check(expect_data=False))
        for name, check in (
            ("dynamic tables refreshed", self._refresh_dynamic_tables),
            ("at_rest tests", self._at_rest_tests),
            ("reconcile", self._reconciled),
            ("fct_sales totals", self._totals),
            ("tasks", self._tasks),
            ("reporter", self._reporter),
            *((("S3 pipes", self._s3_pipes),) if self.plan.s3 else ()),
        ):
            # A check that fails with an error is a failed check; the next one runs.
            try:
                self.checks.append(check())
            except SnowcartError as error:
                self.checks.append(Check(name, False, str(error)))

    def _say(self, text: str) -> None:
        if self.stop.is_set():
            raise SnowcartError("stopped before the end (Ctrl-C); the scratch database is dropped")
        self.out(f"snowcart verify: {text}")

    def sql(self, text: str, role: str | None = None) -> list[dict]:
        """Run one statement (as `role`, else the current one); rows by lower-case column."""
        import snowflake.connector

        if self._con is None:
            setup_config = replace(self.config, role=self.setup_role)
            self._con = connect(setup_config, qualified_names_only=True)
            self._role = self.setup_role
        cursor = self._con.cursor()
        try:
            if role and role != self._role:
                cursor.execute(statement("use_role", role=role))
            if text.upper().startswith("USE ROLE "):
                self._role = text.split()[-1]
            elif role:
                self._role = role
            cursor.execute(text)
            columns = [column[0].lower() for column in cursor.description or []]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        except snowflake.connector.errors.Error as error:
            first = (error.msg or str(error)).strip().splitlines()[0]
            raise SnowcartError(f"{text.splitlines()[0]}: {first}") from error

    def refusal(self, text: str, role: str) -> str | None:
        """Snowflake's refusal of a statement run as `role`; None when it ran."""
        try:
            self.sql(text, role)
        except SnowcartError as error:
            return str(error)
        return None

    def clean_up(self) -> None:
        if self._s3_written is not None:
            stage, name = self._s3_written
            try:
                stage.delete(name)
            except SnowcartError as error:
                self.out(f"snowcart verify: could not delete {name} from the bucket ({error})")
        try:
            if self._con is not None:
                self.sql(statement("verify_drop_database", database=self.plan.database),
                         self.setup_role)  # fmt: skip
                self.out(f"snowcart verify: scratch database {self.plan.database} dropped")
        except SnowcartError as error:
            self.out(f"snowcart verify: could not drop {self.plan.database} ({error}): drop it")
        finally:
            if self._con is not None:
                self._con.close()
                self._con = None
            os.environ.clear()
            os.environ.update(self._environ)
            shutil.rmtree(self.home, ignore_errors=True)

    # ------------------------------------------------------------------ steps

    def _load(self, number: int) -> None:
        from snowcart.engines.snowflake.warehouse import SnowflakeWarehouse
        from snowcart.stages.lines import count_lines

        self._say(f"batch {number}: PUT as {LOADER}, loaded by the pipes")
        warehouse = SnowflakeWarehouse(self.settings, replace(self.config, role=LOADER))
        try:
            warehouse.ingest()
        finally:
            warehouse.close()
        expected = {table: 0 for table in self.plan.tables}
        for path in self.settings.stage_dir.rglob("*.ndjson"):
            expected[path.parent.name] += count_lines(path)
        deadline = time.monotonic() + PIPE_WAIT_S
        while True:
            landed = {
                table: int(next(iter(self.sql(statement(
                    "verify_count_rows", table=self.plan.raw_object(table)
                ))[0].values())))
                for table in self.plan.tables
            }  # fmt: skip
            self._say(f"  {sum(landed.values()):,} of {sum(expected.values()):,} lines landed")
            if all(landed[table] >= expected[table] for table in expected):
                self.landed = landed
                return
            if time.monotonic() > deadline:
                late = ", ".join(t for t in expected if landed[t] < expected[t])
                raise SnowcartError(
                    f"the pipes landed {sum(landed.values()):,} of {sum(expected.values()):,} "
                    f"lines in {PIPE_WAIT_S:.0f} s ({late}): see SYSTEM$PIPE_STATUS and COPY_HISTORY"
                )
            self.stop.wait(POLL_S)

    def _build(self, number: int) -> None:
        from snowcart.engines.dbt_runner import Dbt

        kind = "first build" if number == 1 else "incremental build"
        self._say(f"batch {number}: dbt build as {TRANSFORMER} ({kind}, without the at_rest tests)")
        try:
            Dbt(self.settings).invoke("build", "--exclude", "tag:at_rest")
        except BuildError as error:
            raise SnowcartError(f"batch {number}'s dbt build: {failures(error)}") from error

    def _streams_check(self, expect_data: bool) -> Check:
        """After a first build (which reads whole tables) every stream on a
        landing table that landed lines holds them, even after a SELECT of it;
        after an incremental build (MERGEs) no stream holds a row."""
        shown = self.sql(statement("show_streams", database=self.plan.database), TRANSFORMER)
        holding, landed = [], []
        for row in shown:
            name = f"{row['database_name']}.{row['schema_name']}.{row['name']}"
            self.sql(statement("verify_count_rows", table=name))  # must not move the offset
            [has_data] = self.sql("SELECT " + fragment("stream_has_data", stream=name))
            if next(iter(has_data.values())):
                holding.append(name)
            on_table = str(row["table_name"]).split(".")[-1].lower()
            if str(row["schema_name"]).lower() == self.plan.raw and self.landed.get(on_table):
                landed.append(name)
        if expect_data:
            consumed = sorted(set(landed) - set(holding))
            detail = (
                f"consumed: {', '.join(consumed)}" if consumed else
                f"{len(landed)} landing-table streams hold the batch after a first build"
                " and a SELECT of each"
            )  # fmt: skip
            return Check("streams: a SELECT moves no offset", bool(landed) and not consumed, detail)
        detail = f"still hold rows: {', '.join(holding)}" if holding else f"{len(shown)} streams"
        return Check("streams: every row consumed by the MERGEs", bool(shown) and not holding,
                     detail)  # fmt: skip

    def _refresh_dynamic_tables(self) -> Check:
        from snowcart.engines.dbt_runner import Dbt

        self._say("refreshing every dynamic table")
        show = statement("show_dynamic_tables", database=self.plan.database)
        for row in self.sql(show, TRANSFORMER):
            name = f"{row['database_name']}.{row['schema_name']}.{row['name']}"
            self.sql(statement("refresh_dynamic_table", table=name))
        return dynamic_tables_check(self.sql(show), Dbt(self.settings).refresh_modes())

    def _at_rest_tests(self) -> Check:
        from snowcart.engines.dbt_runner import Dbt

        try:
            summary = Dbt(self.settings).invoke("test", "--select", "tag:at_rest")
        except BuildError as error:
            return Check("at_rest tests hold after a refresh", False, failures(error))
        return Check("at_rest tests hold after a refresh", True, f"{summary.succeeded} passed")

    def _reconciled(self) -> Check:
        from snowcart.engines.snowflake.reconcile import SnowflakeLoadCounts
        from snowcart.reconcile import reconcile

        result = reconcile(self.settings, SnowflakeLoadCounts(self.config, self.plan.raw))
        lines = sum(counts.staged_lines for counts in result.tables)
        loaded = sum(counts.loaded for counts in result.tables)
        rejected = sum(counts.rejected for counts in result.tables)
        detail = "; ".join(result.problems) or (
            f"{lines:,} lines = {loaded:,} loaded + {rejected:,} rejected, every event consumed"
        )
        return Check("lines = loaded + rejected (reconcile)", not result.problems, detail)

    def _totals(self) -> Check:
        totals = {"orders": 0.0, "order_lines": 0.0, "net_revenue": 0.0}
        for text in self.settings.ledger_path.read_text(encoding="utf-8").splitlines():
            record = json.loads(text)
            if record["table"] == "orders":
                for key in totals:
                    totals[key] += record[key]
        fct_sales = f"{self.plan.schema('analytics')}.fct_sales"
        [row] = self.sql(statement("verify_sales_totals", table=fct_sales), TRANSFORMER)
        return totals_check(tuple(row.values()), totals)

    def _tasks(self) -> Check:
        groups = task_groups(self.plan)
        for sql in (sql for group in groups for sql in group.all_statements()):
            self.sql(sql)
        tasks = [self.plan.task(table) for table in self.plan.tables if self.plan.streams(table)]
        for task in tasks:
            self.sql(statement("resume_task", task=task), TRANSFORMER)
            self.sql(statement("suspend_task", task=task))
        return Check(f"tasks: created suspended, resumed and suspended by {TRANSFORMER}", True,
                     f"{len(tasks)} tasks")  # fmt: skip

    def _s3_pipes(self) -> Check:
        """Every AUTO_INGEST pipe RUNNING, then an object written to the scratch
        folder of the prefix lands (the bucket's notices wired, section 4)."""
        from snowcart.stages.s3 import S3Location, S3Stage

        statuses = {}
        for table in self.plan.tables:
            pipe = self.plan.raw_object(f"{table}_s3_pipe")
            [row] = self.sql("SELECT " + fragment("pipe_status", pipe=pipe), self.setup_role)
            statuses[pipe] = next(iter(row.values()))
        running = pipe_status_check(statuses)
        if not running.passed:
            return running
        table = self.plan.tables[0]
        lines = [json.dumps({"event_id": f"snowcart-verify-{n}"}) for n in range(3)]
        stage = S3Stage(S3Location(self.plan.s3.url))
        written = stage.write(table, 0, lines)
        self._s3_written = (stage, written.name)
        self._say(f"waiting for the S3 pipe to load {self.plan.s3.url}{written.name}")
        count = statement("verify_count_file_rows", table=self.plan.raw_object(table),
                          file_name=literal(written.name))  # fmt: skip
        deadline = time.monotonic() + PIPE_WAIT_S
        while True:
            [row] = self.sql(count)
            landed = int(next(iter(row.values())))
            if landed >= len(lines):
                return Check("S3 pipes running and loading", True,
                             f"{running.detail}; {written.name} landed {landed} lines")  # fmt: skip
            if time.monotonic() > deadline:
                return Check("S3 pipes running and loading", False,
                             f"{written.name} not loaded in {PIPE_WAIT_S:.0f} s: are the bucket's "
                             "notifications sent to the pipes' notification_channel?")  # fmt: skip
            self.stop.wait(POLL_S)

    def _reporter(self) -> Check:
        mart = f"{self.plan.schema('analytics')}.fct_sales"
        values = {"schema": self.plan.schema("analytics"), "mart": mart,
                  "landing_table": self.plan.raw_object(self.plan.tables[0])}  # fmt: skip
        problems = []
        if (
            error := self.refusal(statement("verify_reporter_reads", mart=mart), REPORTER)
        ) is not None:
            problems.append(f"cannot read {mart}: {error}")
        for sql in statements("verify_reporter_refused", **values):
            if self.refusal(sql, REPORTER) is None:
                problems.append(f"was allowed: {sql}")
        detail = "; ".join(problems) or "reads the marts; cannot create, delete or read raw"
        return Check(f"{REPORTER}: read-only", not problems, detail)


def verify_statements(plan: SnowflakePlan) -> list[str]:
    """Every statement the check sends itself, for one stream and one dynamic
    table (the real ones are listed by SHOW at run time): what `--dry-run` prints."""
    scratch = scratch_plan(plan)
    table = scratch.tables[0]
    stream = (scratch.streams(table) or [scratch.raw_object(f"{table}__base")])[0]
    analytics = scratch.schema("analytics")
    values = {"schema": analytics, "mart": f"{analytics}.fct_sales",
              "landing_table": scratch.raw_object(table)}  # fmt: skip
    return [
        statement("verify_drop_database", database=scratch.database),
        *scratch_setup(scratch),
        statement("verify_count_rows", table=scratch.raw_object(table)),
        statement("show_streams", database=scratch.database),
        statement("verify_count_rows", table=stream),
        "SELECT " + fragment("stream_has_data", stream=stream),
        statement("show_dynamic_tables", database=scratch.database),
        statement("refresh_dynamic_table", table=f"{analytics}.rpt_daily_sales"),
        statement("verify_sales_totals", table=f"{analytics}.fct_sales"),
        *(sql for group in task_groups(scratch) for sql in group.all_statements()),
        *(statement(name, task=scratch.task(table)) for name in ("resume_task", "suspend_task")),
        *(
            "SELECT " + fragment("pipe_status", pipe=scratch.raw_object(f"{t}_s3_pipe"))
            for t in (scratch.tables if scratch.s3 else ())
        ),
        *(
            [
                statement(
                    "verify_count_file_rows",
                    table=scratch.raw_object(table),
                    file_name=literal(f"{table}/batch-0000000000.ndjson"),
                )
            ]
            if scratch.s3
            else []
        ),  # fmt: skip
        statement("use_role", role=REPORTER),
        statement("verify_reporter_reads", mart=values["mart"]),
        *statements("verify_reporter_refused", **values),
        statement("verify_drop_database", database=scratch.database),
    ]


def verify_account(
    settings: Settings, plan: SnowflakePlan, dry_run: bool, stop: threading.Event | None
) -> bool:
    """Print the check's statements (dry run) or run it and print what it found;
    SnowcartError when a check failed. False if `stop` ended it early."""
    if dry_run:
        print(
            f"-- setup.py --verify: scratch database {scratch_plan(plan).database}, then dropped."
        )
        print("".join(f"{sql};\n" for sql in verify_statements(plan)), end="")
        print("-- dry run: nothing was executed.")
        return True
    stop = stop or threading.Event()
    checks = AccountCheck(settings, plan, SnowflakeConfig.from_env(), stop).run()
    print_checks(checks)
    if stop.is_set():
        return False
    failed = [check for check in checks if not check.passed]
    if failed:
        raise SnowcartError(f"{len(failed)} of {len(checks)} account checks failed (table above)")
    print(f"snowcart verify: all {len(checks)} checks passed")
    return True
