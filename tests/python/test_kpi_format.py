"""KPI cards at common widths: from a million on, three significant figures,
the exact figure in the card's help."""

from __future__ import annotations

import pytest

from snowcart.dashboard.kpis import Kpi, format_value


@pytest.mark.parametrize(
    "value, is_money, shown",
    [
        (999_999.99, True, "$999,999.99"),
        (3_272_913.55, True, "$3.27M"),
        (-2_500_000.0, True, "-$2.50M"),
        (-12.5, True, "-$12.50"),
        (4_560_000_000.0, True, "$4.56B"),
        (12_345_678.0, False, "12.35M"),
        (999_999.0, False, "999,999"),
        (None, True, "—"),
    ],
)
def test_large_values_are_compact_and_the_rest_exact(value, is_money, shown):
    assert format_value(value, is_money) == shown


def test_a_compact_card_keeps_the_exact_figure():
    kpi = Kpi("revenue", "Net revenue", 3_272_913.55, None)
    assert (kpi.value_text, kpi.exact_text) == ("$3.27M", "$3,272,913.55")
