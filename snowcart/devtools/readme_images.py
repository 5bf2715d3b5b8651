"""The README's dashboard screenshots (docs/images/) from a live demo, not from a
test's home: the simulator streams into a throwaway home (two days of history,
then live orders), the dashboard serves it, and once the serving layer is live
(the newest order seconds old, a refresh log of several cycles) a headless
Chromium captures the tabs the README shows at 1400 px. Both processes are then
stopped, the simulator with Ctrl-C so that it drains. The readme-images target
of the Makefile runs it:

    python -m snowcart.devtools.readme_images [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.request
from pathlib import Path

from snowcart.dashboard.data import DashboardData
from snowcart.engines.base import NotReady
from snowcart.engines.duckdb.serving import ServingReader
from snowcart.settings import PROJECT_DIR

CHROMIUM = Path("/usr/bin/chromium")
WIDTH = 1400
# Two days of history as fast as possible, then 20 events/s: a shop that
# looks busy on every tab and reaches the wall clock in a couple of minutes.
SIMULATE_ARGS = ("--backfill", "2", "--rate", "20")
# Live enough to show: the newest order at most this old, and this many jobs
# in the refresh log (the tab shows its newest 50).
MAX_LAG_S = 15.0
MIN_REFRESH_LOG_ROWS = 20
LIVE_TIMEOUT_S = 900
DRAIN_TIMEOUT_S = 300
PROGRESS_EVERY_S = 5.0
POLL_S = 1.0
# README image -> the tab it shows (light theme); then the dark Overview.
LIGHT_IMAGES = {"overview.png": "Overview", "pipeline-health.png": "Pipeline health"}
DARK_IMAGE = ("overview-dark.png", "Overview")


class ScreenshotError(RuntimeError):
    """The demo or the page did not get where the pictures need it."""


def say(message: str) -> None:
    print(f"readme-images: {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env() -> dict[str, str]:
    # The demo is the embedded engine in its own home, whatever this shell exports.
    env = dict(os.environ)
    for name in ("SNOWCART_TARGET", "SNOWCART_HOME", "DBT_TARGET_PATH"):
        env.pop(name, None)
    return env


def start(command: list[str], log_path: Path) -> subprocess.Popen:
    # Its own session: a Ctrl-C at the terminal reaches this process only, which
    # then stops both children in order (a second SIGINT would abort the drain).
    with open(log_path, "w") as log:
        return subprocess.Popen(
            command,
            cwd=PROJECT_DIR,
            env=child_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def log_tail(log_path: Path, chars: int = 3000) -> str:
    return log_path.read_text(errors="replace")[-chars:] if log_path.exists() else ""


def live_state(serving: Path) -> tuple[float | None, int]:
    """What the dashboard would read now: the live mart's lag behind the wall
    clock (None before it has an order) and the refresh log's length."""
    try:
        with ServingReader(serving).open() as query:
            lag = DashboardData(query, has_ops_tables=True).live_freshness()["lag_s"]
            rows = query("select count(*) as jobs from ops.refresh_log")
    except NotReady:
        return None, 0
    return lag, 0 if rows.empty else int(rows["jobs"].iloc[0])


def wait_until_live(simulator: subprocess.Popen, serving: Path, log_path: Path) -> None:
    started = last_said = time.monotonic()
    while True:
        if simulator.poll() is not None:
            raise ScreenshotError(
                f"the simulator exited ({simulator.returncode}):\n{log_tail(log_path)}"
            )
        lag, jobs = live_state(serving)
        if lag is not None and lag <= MAX_LAG_S and jobs >= MIN_REFRESH_LOG_ROWS:
            say(f"live: newest order {lag:.1f} s old, {jobs} jobs in the refresh log")
            return
        elapsed = time.monotonic() - started
        if elapsed > LIVE_TIMEOUT_S:
            raise ScreenshotError(f"not live after {LIVE_TIMEOUT_S} s:\n{log_tail(log_path)}")
        if time.monotonic() - last_said >= PROGRESS_EVERY_S:
            behind = "no order published yet" if lag is None else f"newest order {lag:,.0f} s old"
            say(
                f"waiting for a live pipeline ({elapsed:.0f} s): {behind} (want <= {MAX_LAG_S:g}),"
                f" {jobs} jobs in the refresh log (want >= {MIN_REFRESH_LOG_ROWS})"
            )
            last_said = time.monotonic()
        time.sleep(POLL_S)


def wait_until_serving(dashboard: subprocess.Popen, url: str, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError as error:
            if dashboard.poll() is not None or time.monotonic() > deadline:
                raise ScreenshotError(
                    f"the dashboard did not start:\n{log_tail(log_path)}"
                ) from error
        time.sleep(0.3)


def theme_color(theme: str) -> str:
    """The theme's first chart colour as the browser reports it: rgb(r, g, b)."""
    config = tomllib.loads((PROJECT_DIR / ".streamlit" / "config.toml").read_text())
    hex_color = config["theme"][theme]["chartCategoricalColors"][0].lstrip("#")
    red, green, blue = (int(hex_color[index : index + 2], 16) for index in (0, 2, 4))
    return f"rgb({red}, {green}, {blue})"


def switch_to_dark_theme(page, timeout_ms: float) -> None:
    """The main menu's dark theme; returns once the charts, which take the dark
    palette at the next refresh, have it, with the menu closed."""
    page.locator("[data-testid='stMainMenu']").click()
    page.locator("[data-testid='stMainMenuItem-theme-Dark']").click()
    page.wait_for_function(
        "color => getComputedStyle("
        "document.querySelector('.js-plotly-plot .bars .point path')).fill === color",
        arg=theme_color("dark"),
        timeout=timeout_ms,
    )
    page.keyboard.press("Escape")  # close the menu


def screenshot_whole_tab(page, path: Path) -> None:
    """Streamlit scrolls inside its main block: grow the window to the content first."""
    width = page.viewport_size["width"]
    page.wait_for_timeout(600)  # let plotly finish laying out
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": width, "height": min(max(int(height), 900), 4000)})
    page.wait_for_timeout(300)
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": width, "height": 1000})


def show_tab(page, tab: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("tab", name=tab, exact=True).click()
    panel = page.locator("[data-testid='stTabPanel']:visible")
    expect(panel.locator(".js-plotly-plot").first).to_be_visible(timeout=30_000)
    broken = page.locator("[data-testid='stException'], [data-testid='stAlertContentError']")
    if broken.count():
        raise ScreenshotError(f"the {tab} tab shows an error: {broken.first.inner_text()}")


def capture(url: str, out: Path) -> list[Path]:
    from playwright.sync_api import expect, sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": 1000}, color_scheme="light")
            page.goto(url)
            kpi = page.locator(".st-key-kpi-revenue [data-testid='stMetricValue']")
            expect(kpi).to_have_text(re.compile(r"\S"), timeout=60_000)
            for name, tab in LIGHT_IMAGES.items():
                show_tab(page, tab)
                if tab == "Pipeline health":
                    lag = page.locator(".st-key-health-lag [data-testid='stMetricValue']")
                    # format_age writes seconds below two minutes.
                    expect(lag).to_have_text(re.compile(r"\d+ s"), timeout=30_000)
                screenshot_whole_tab(page, out / name)
                written.append(out / name)
            name, tab = DARK_IMAGE
            show_tab(page, tab)
            switch_to_dark_theme(page, timeout_ms=30_000)
            page.evaluate("document.activeElement.blur()")  # no focus ring on its button
            screenshot_whole_tab(page, out / name)
            written.append(out / name)
        finally:
            browser.close()
    return written


def stop_simulator(simulator: subprocess.Popen) -> None:
    """Ctrl-C, as a user would: it finishes its batch and drains the stage."""
    if simulator.poll() is not None:
        return
    simulator.send_signal(signal.SIGINT)
    started = time.monotonic()
    while True:
        try:
            simulator.wait(timeout=PROGRESS_EVERY_S)
            say(f"simulator drained and stopped ({time.monotonic() - started:.0f} s)")
            return
        except KeyboardInterrupt:
            simulator.send_signal(signal.SIGINT)  # a second Ctrl-C: abort the drain
            simulator.wait()
            raise
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - started
            if elapsed > DRAIN_TIMEOUT_S:
                simulator.kill()
                simulator.wait()
                say(f"simulator still draining after {DRAIN_TIMEOUT_S} s: killed")
                return
            say(f"waiting for the simulator to drain ({elapsed:.0f} s)")


def stop_dashboard(dashboard: subprocess.Popen) -> None:
    if dashboard.poll() is None:
        dashboard.terminate()
        try:
            dashboard.wait(timeout=15)
        except subprocess.TimeoutExpired:
            dashboard.kill()
            dashboard.wait()


def take_screenshots(out: Path) -> list[Path]:
    if not CHROMIUM.exists():
        raise ScreenshotError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="snowcart-demo-") as scratch:
        home, logs = Path(scratch) / "home", Path(scratch)
        simulate = [
            sys.executable, "scripts/simulate.py", "--home", str(home), *SIMULATE_ARGS,
        ]  # fmt: skip
        port = free_port()
        dashboard_command = [
            sys.executable, "-m", "streamlit", "run", "dashboard/app.py",
            "--server.headless", "true", "--server.address", "127.0.0.1",
            "--server.port", str(port), "--browser.gatherUsageStats", "false",
            "--", "--home", str(home),
        ]  # fmt: skip
        say(f"demo home {home}: {' '.join(simulate[1:])}")
        simulator = start(simulate, logs / "simulate.log")
        try:
            # Started at once: it shows "No data yet" until the first publication.
            dashboard = start(dashboard_command, logs / "dashboard.log")
            try:
                url = f"http://127.0.0.1:{port}"
                wait_until_serving(dashboard, url, logs / "dashboard.log")
                wait_until_live(simulator, home / "serving.duckdb", logs / "simulate.log")
                say(f"capturing {url} at {WIDTH} px")
                shots = capture(url, Path(scratch))
            finally:
                stop_dashboard(dashboard)
        finally:
            stop_simulator(simulator)
        # Only a complete set replaces the README's images.
        return [Path(shutil.move(shot, out / shot.name)) for shot in shots]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m snowcart.devtools.readme_images")
    parser.add_argument(
        "--out", type=Path, default=PROJECT_DIR / "docs" / "images", help="default docs/images"
    )
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        written = take_screenshots(args.out)
    except ScreenshotError as error:
        say(f"failed: {error}")
        return 1
    names = ", ".join(os.path.relpath(path, PROJECT_DIR) for path in written)
    say(f"wrote {names} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
