"""The report: Markdown for docs/benchmarks.md and a table on the console."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.common import Figure, Section
from benchmarks.machine import LoadWatch

HEADINGS = ("## Environment", "## Targets (DESIGN.md §5)", "## Profiles")

# §5 targets this suite does not measure, and why; kept in the targets table so
# nobody mistakes silence for a pass.
NOT_MEASURED = [
    (
        "Crash (kill -9) at a random point, then restart",
        "0 events lost, 0 duplicated",
        "a correctness check, not a figure: `tests/python/test_crash.py`, `make soak`",
    ),
    (
        "Bad input",
        "every line accounted for",
        "a correctness check, not a figure: `tests/python/test_pipe.py`",
    ),
]


@dataclass
class RunInfo:
    command: str
    make_target: str | None
    mode: str
    runs_note: str
    facts: dict[str, str]
    watch: LoadWatch

    @property
    def invocation(self) -> str:
        if self.make_target:
            return f"`{self.make_target}` (which runs `{self.command}`)"
        return f"`{self.command}`"


def _figure_row(figure: Figure) -> str:
    verdict = f"**{figure.verdict}**" if figure.verdict else ""
    return (
        f"| {figure.label} | {figure.fmt(figure.min)} | {figure.fmt(figure.median)} | "
        f"{figure.fmt(figure.max)} | {figure.unit} | {figure.target} | {verdict} |"
    )


def _target_rows(sections: list[Section]) -> list[str]:
    rows = []
    for section in sections:
        for figure in section.figures:
            if figure.threshold is not None:
                rows.append(
                    f"| {section.title.split('. ', 1)[-1]}: {figure.label} | {figure.target} | "
                    f"{figure.show(figure.median)} | **{figure.verdict}** |"
                )
    rows += [f"| {what} | {target} | {status} | — |" for what, target, status in NOT_MEASURED]
    return rows


def markdown(info: RunInfo, sections: list[Section]) -> str:
    watch = info.watch
    out = [
        "# Benchmarks",
        "",
        f"Figures from {info.invocation}, measured on the machine described below "
        f"on {watch.started_at:%Y-%m-%d} ({info.mode}). Every figure is **min / median / max "
        f"over {info.runs_note}**; PASS/MISS compares the **median** with the DESIGN.md §5 "
        "target (set for a 2-core machine, embedded DuckDB default). A MISS is reported, "
        "not hidden, and comes with a profile of where the time goes.",
        "",
        "This file is written by the benchmark itself: regenerate it with `make bench` "
        "(full sizes; `make bench-quick` runs smaller inputs and writes "
        "`artifacts/benchmarks-quick.md` instead). Numbers from another machine, or from a "
        "busy one, are not comparable.",
        "",
        "## Environment",
        "",
        "| | |",
        "|---|---|",
        f"| Date (UTC) | {watch.started_at:%Y-%m-%d %H:%M} |",
        f"| Command | {info.invocation} |",
    ]
    out += [f"| {key} | {value} |" for key, value in info.facts.items()]
    out += [
        f"| Benchmark wall time | {watch.wall_s:,.0f} s |",
        f"| Machine load | {watch.describe()} |",
        "",
    ]
    if watch.busy:
        out += [
            "> **The machine was busy with other processes during this run** (see Machine "
            "load above); the figures may be lower than this machine can do idle.",
            "",
        ]
    else:
        out += [
            "The machine was otherwise idle during the run (see Machine load above).",
            "",
        ]
    out += [
        "## Targets (DESIGN.md §5)",
        "",
        "| What | Target | Measured (median) | Result |",
        "|---|---|---|---|",
        *_target_rows(sections),
        "",
    ]
    for section in sections:
        out += [f"## {section.title}", ""]
        out += [f"- {line}" for line in section.method]
        out += [
            "",
            "| Measure | min | median | max | unit | target | result |",
            "|---|---:|---:|---:|---|---|---|",
            *(_figure_row(figure) for figure in section.figures),
            "",
        ]
        out += [f"{note}\n" for note in section.notes]
    out += ["## Profiles", ""]
    profiled = [(s.title, title, text) for s in sections for title, text in s.profiles]
    if not profiled:
        out += ["No target was missed, so no profile was recorded.", ""]
    for section_title, title, text in profiled:
        out += [f"### {section_title}: {title}", "", "```text", text, "```", ""]
    return "\n".join(out).rstrip() + "\n"


def print_console(info: RunInfo, sections: list[Section]) -> None:
    try:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table
    except ImportError:
        _print_plain(info, sections)
        return
    console = Console(width=max(Console().width, 140))
    console.print(f"[bold]Snowcart benchmarks[/] ({info.mode}): {escape(info.invocation)}")
    for key, value in info.facts.items():
        console.print(f"  {key}: {escape(value)}")
    console.print(f"  {escape(info.watch.describe())}")
    for section in sections:
        table = Table(title=section.title, title_justify="left")
        for column in ("measure", "min", "median", "max", "unit", "target", "result"):
            justify = "right" if column in ("min", "median", "max") else "left"
            table.add_column(column, justify=justify)
        for figure in section.figures:
            style = {"PASS": "bold green", "MISS": "bold red"}.get(figure.verdict, "")
            table.add_row(
                escape(figure.label),
                figure.fmt(figure.min),
                figure.fmt(figure.median),
                figure.fmt(figure.max),
                figure.unit,
                figure.target,
                f"[{style}]{figure.verdict}[/]" if style else "",
            )
        console.print(table)
        for note in section.notes:
            console.print(f"  {escape(note)}")


def _print_plain(info: RunInfo, sections: list[Section]) -> None:
    print(f"Snowcart benchmarks ({info.mode}): {info.invocation}")
    for key, value in info.facts.items():
        print(f"  {key}: {value}")
    print(f"  {info.watch.describe()}")
    for section in sections:
        print(f"\n{section.title}")
        for figure in section.figures:
            print(
                f"  {figure.label}: min {figure.fmt(figure.min)} / median "
                f"{figure.fmt(figure.median)} / max {figure.fmt(figure.max)} {figure.unit}"
                + (f"  target {figure.target}: {figure.verdict}" if figure.verdict else "")
            )
        for note in section.notes:
            print(f"  {note}")
