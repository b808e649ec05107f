"""The model-vs-call gap table sends the largest gaps only, and says so."""

from __future__ import annotations

import pandas as pd

from components.renewals_forecast import MAX_GAP_ROWS, gap_records, gap_title


def _gaps(n: int) -> pd.DataFrame:
    gaps = [float(n - i) for i in range(n)]  # already largest first, as forecast_gap returns
    return pd.DataFrame(
        {
            "key": [f"C{i}" for i in range(n)],
            "name": [f"CSM {i}" for i in range(n)],
            "arr_up": [100.0] * n,
            "gap": gaps,
        }
    )


def test_only_the_largest_gaps_are_sent_and_the_title_says_how_many_there_are():
    rows = gap_records(_gaps(MAX_GAP_ROWS + 50), "owner")
    assert len(rows) == MAX_GAP_ROWS
    assert rows[0]["row_id"] == "owner:C0" and rows[-1]["row_id"] == f"owner:C{MAX_GAP_ROWS - 1}"
    title = gap_title(_gaps(MAX_GAP_ROWS + 50), "owner")
    assert f"Showing the {MAX_GAP_ROWS} largest gaps of {MAX_GAP_ROWS + 50:,} CSMs." in title


def test_a_short_table_is_sent_whole_without_a_note():
    assert len(gap_records(_gaps(3), "team")) == 3
    assert "Showing" not in gap_title(_gaps(3), "team")
