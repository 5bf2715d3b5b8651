"""`scripts/setup.py --target snowflake`: the plan (plan.py) rendered as
ordered statements (statements.py), printed as a script with `--dry-run`, else
executed one by one with the connector under the role each group needs,
printing each statement's outcome. Idempotent; see docs/snowflake.md."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from snowcart.engines.snowflake.plan import TRANSFORMER, SnowflakePlan
from snowcart.engines.snowflake.statements import render_script, snowflake_groups
from snowcart.engines.snowflake.templates import statement
from snowcart.errors import SnowcartError

if TYPE_CHECKING:
    from snowcart.engines.base import SetupOptions
    from snowcart.settings import Settings


def setup_snowflake(
    settings: Settings, options: SetupOptions, stop: threading.Event | None = None
) -> bool:
    """Print the script (dry run) or run it; False if `stop` ended it early."""
    quota = {} if options.credit_quota is None else {"credit_quota": options.credit_quota}
    plan = SnowflakePlan.from_project(project_dir=settings.project_dir, s3=options.s3, **quota)
    if options.verify:
        from snowcart.engines.snowflake.verify import verify_account

        return verify_account(settings, plan, options.dry_run, stop)
    if options.dry_run:
        print(render_script(plan), end="")
        print("-- dry run: nothing was executed.")
        return True

    from snowcart.engines.snowflake.connection import SnowflakeConfig, connect

    config = replace(SnowflakeConfig.from_env(), role=plan.setup_role)
    groups = snowflake_groups(plan)
    statements = [sql for group in groups for sql in group.all_statements()]
    stop = stop or threading.Event()
    print(f"snowcart setup: target=snowflake database={plan.database}", flush=True)
    with connect(config, qualified_names_only=True) as con:
        cursor = con.cursor()
        for number, sql in enumerate(statements, start=1):
            if stop.is_set():
                print("snowcart setup: stopped; run it again to finish (it is idempotent)")
                return False
            status = _execute(cursor, sql, number, len(statements))
            print(f"  [{number}/{len(statements)}] {_headline(sql)}: {status}", flush=True)
        if plan.s3:
            _print_notification_channels(cursor, plan)
    print(f"snowcart setup: {len(statements)} statements succeeded")
    for group in groups:
        if group.role == TRANSFORMER:
            print("  tasks are SUSPENDED; to run them see docs/snowflake.md, then:")
            for note in group.notes:
                print(f"    {note}")
    return True


def _execute(cursor, sql: str, number: int, total: int) -> str:
    import snowflake.connector

    try:
        row = cursor.execute(sql).fetchone()
    except snowflake.connector.errors.Error as error:
        raise SnowcartError(
            f"statement {number}/{total} failed ({_headline(sql)}): "
            f"{(error.msg or str(error)).strip().splitlines()[0]} "
            "(setup is idempotent: fix the cause and run it again)"
        ) from error
    return str(row[0]) if row else "ok"


def _print_notification_channels(cursor, plan: SnowflakePlan) -> None:
    cursor.execute(statement("show_pipes", schema=plan.schema(plan.raw)))
    columns = [column[0].lower() for column in cursor.description]
    wanted = {f"{table}_s3_pipe".upper() for table in plan.tables}
    channels = sorted(
        {
            str(row[columns.index("notification_channel")])
            for row in cursor.fetchall()
            if str(row[columns.index("name")]).upper() in wanted
            and row[columns.index("notification_channel")]
        }
    )
    assert plan.s3 is not None
    print(f"  S3 auto-ingest: send s3:ObjectCreated:* events of {plan.s3.url} to:")
    for channel in channels or ["(none reported yet: SHOW PIPES, column notification_channel)"]:
        print(f"    {channel}")


def _headline(sql: str) -> str:
    first = sql.splitlines()[0]
    return first[:-5] if first.endswith(" WITH") else first.removesuffix(" AS")
