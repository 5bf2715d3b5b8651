"""Which tests share a worker under pytest-xdist (`--dist loadgroup`, pyproject).

Tests sharing a module-scoped fixture (most are a home built by a whole
pipeline run) form one group, run by one worker, so the fixture is built once;
every other test goes to whichever worker is free."""

from __future__ import annotations

import pytest
from _pytest.nodeid import NodeId


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]):
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None or any(item.iter_markers("xdist_group")):
            continue
        shared = sorted(
            name
            for name in info.names_closure
            if (defs := info.name2fixturedefs.get(name)) and defs[-1].scope == "module"
        )
        if shared:
            item.add_marker(pytest.mark.xdist_group(f"{item.module.__name__}:{shared[0]}"))
    # Groups first: each is one long unit of work (a pipeline run, then its
    # tests), and the workers balance best when the long units go out first and
    # the single tests fill in after them (stable: collection order otherwise).
    items.sort(key=lambda item: not any(item.iter_markers("xdist_group")))
    result = yield  # xdist's own hook appends "@group" to each grouped test's id
    # pytest 9 names a test by `item._id`, while xdist 3.8 still writes the
    # grouped id to `item._nodeid`, which nothing reads: without this the
    # groups are silently spread over the workers (test_xdist_groups.py).
    for item in items:
        grouped = getattr(item, "_nodeid", None)
        if grouped and "@" in grouped and str(item._id) != grouped:
            item._id = NodeId.parse(grouped)
    return result
