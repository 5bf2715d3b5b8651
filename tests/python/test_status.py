"""The live status: rates over the last seconds, not since start; a compact
line when the output is not a terminal; progress bars on a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from snowcart.loop.status import Rate, StatusBoard


def test_a_rate_is_over_the_last_seconds_not_an_average_since_start():
    rate = Rate(window_s=5.0)
    assert rate.add(0.0, 0) is None
    rate.add(1.0, 100_000)  # a backfill burst at the start
    for second in range(2, 31):
        now_rate = rate.add(float(second), 100_000 + 20 * (second - 1))
    # 20 events a second for the last five seconds; since start it would be ~3,353/s.
    assert now_rate == 20.0


def test_a_plain_line_shows_the_main_fields_and_any_failing_job(capsys):
    board = StatusBoard(
        "t", console=Console(file=io.StringIO()), plain_every_s=0, compact=("state", "rows loaded")
    )
    board.update(**{
        "state": "streaming", "rows loaded": 123_456, "marts refreshed": "x" * 300,
        "refresh failing (retry in s)": "3: boom",
    })  # fmt: skip
    board.set_progress("drain (files)", 3, 10)
    board.update(state="draining")
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == (
        "[t] state=draining  rows loaded=123,456  refresh failing (retry in s)=3: boom"
        "  drain (files)=3/10"
    )
    board.final()
    assert "marts refreshed=" + "x" * 300 in capsys.readouterr().out


def test_a_terminal_draws_the_progress_bars():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with StatusBoard("t", console=console) as board:
        board.set_progress("backfill", 0.25, 1)
        board.update(state="streaming")
    text = out.getvalue()
    assert "backfill" in text and "25%" in text and "━" in text
