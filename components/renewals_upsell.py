"""Upsell tab builders: KPI tiles, the score's reason legend, the candidates grid and its rows, win
rate by score decile, the open pipeline by stage, and the opportunity list behind a bar.

Pure functions of `services.upsell` results: figures are plain dicts in the house template; every
number carries its definition (registry) one click away.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from components import formatting, labels
from components.charts import Figure, empty_figure, figure, value_axis
from components.grids import DATE, money_column, paged_grid, to_records
from components.kpi import definition_body
from components.shell import info_button
from components.theme import NEUTRAL
from services.metrics import metric
from services.upsell import (
    ALL_STAGES,
    PROMOTER_MIN,
    REASONS,
    UNKNOWN_STAGE,
    OpportunityDrill,
    UpsellParams,
    Validation,
    decile_label,
)

STAGE_UNKNOWN_TEXT = "Stage not known on this date"
BAR, BAR_TOO_FEW, LINE = NEUTRAL[0], "#c9d1db", NEUTRAL[3]
CLICK_STAGE = "Click for these opportunities"
CHART_HEIGHT = 400  # both charts; the page reserves it before they are drawn


def _n(value: float) -> str:
    return f"{float(value):g}"


def _pct(value: float | None, digits: int = 1) -> str:
    return "–" if value is None or pd.isna(value) else f"{100 * value:.{digits}f}%"


# ---- helps (from the registry: each definition written once) -----------------------------------
def _definition(name: str) -> str:
    m = metric(name)
    return f"{m.definition} Formula: {m.formula}."


CANDIDATES_HELP = (
    f"{_definition('upsell_candidates')} {_definition('upsell_score')} "
    f"{_definition('upsell_expected_arr')} Click a row to open the account."
)
VALIDATION_HELP = (
    f"{_definition('upsell_win_rate')} The steps show the calibrated win rate candidates are "
    "expected at. Click a bar to list its opportunities."
)
PIPELINE_HELP = f"{_definition('expansion_pipeline')} Click a bar to list its opportunities."


# ---- tiles ---------------------------------------------------------------------------------------
def _tile(name: str, value: float | None, tile_id: str, note: Any, href: str | None = None):
    m = metric(name)
    title = {"title": formatting.money_exact(value)} if m.unit == "money" and value else {}
    body = [
        html.Div(m.card_label, className="kpi-label"),
        html.Div(formatting.metric_value(m, value), className="kpi-value", id=tile_id, **title),
        html.Div(note, className="small text-muted"),
    ]
    content = (
        dcc.Link(body, href=href, className="kpi-link", id=f"{tile_id}-link")
        if href
        else html.Div(body)
    )
    card = dbc.Card(
        [
            dbc.CardBody(content),
            html.Div(
                info_button(f"{tile_id}-info", m.label, definition_body(m)),
                className="kpi-info-slot",
            ),
        ],
        className="kpi-card h-100",
    )
    return dbc.Col(card, md=4, sm=6, className="mb-3")


def summary_tiles(
    totals: Mapping[str, float], pipeline: pd.DataFrame, pipeline_href: str
) -> dbc.Row:
    """Candidates (of the customers scored), their expected expansion ARR, and the open pipeline
    (opening the list of its opportunities)."""
    open_n = int(pipeline["opportunities"].sum()) if not pipeline.empty else 0
    open_arr = float(pipeline["amount_arr"].sum()) if not pipeline.empty else 0.0
    return dbc.Row(
        [
            _tile(
                "upsell_candidates",
                totals["candidates"],
                "ru-kpi-candidates",
                f"of {formatting.count(totals['customers'])} customers, "
                f"{formatting.money(totals['arr'])} ARR",
            ),
            _tile(
                "upsell_expected_arr",
                totals["expected_arr"],
                "ru-kpi-expected",
                "if each candidate is offered an expansion",
            ),
            _tile(
                "expansion_pipeline",
                open_arr,
                "ru-kpi-pipeline",
                f"in {formatting.count(open_n)} open opportunities",
                pipeline_href if open_n else None,
            ),
        ],
        className="g-3",
    )


# ---- the score's reasons -----------------------------------------------------------------------
def reason_rules(params: UpsellParams) -> dict[str, str]:
    """Each reason's rule in words, with the thresholds in force."""
    return {
        "seats": f"Seats ≥ {_n(params.seat_min_pct)}% used",
        "growth": f"Usage up ≥ {_n(params.growth_min_pct)}%",
        "health": "Health green",
        "promoter": f"Promoter NPS ({PROMOTER_MIN}–10)",
        "no_open": "No open expansion",
    }


def reason_legend(params: UpsellParams) -> html.Div:
    """The score's reasons as chips with their points: the whole model on one line."""
    points = params.points()
    chips = [
        html.Span(f"{text} +{_n(points[r])}", className="drill-chip me-1", id=f"ru-rule-{r}")
        for r, text in reason_rules(params).items()
    ]
    return html.Div(
        [html.Span("Score = points of the reasons that apply: ", className="me-1"), *chips],
        className="small mb-2",
        id="ru-rules",
    )


def reason_texts(row: Mapping[str, Any], params: UpsellParams) -> list[str]:
    """The reasons that apply to a customer, each with its value and points: 'Seats 95% used +30'."""
    points = params.points()
    texts = {
        "seats": lambda: f"Seats {row['seat_use_pct']:.0f}% used",
        "growth": lambda: (
            "Usage up 50%+"
            if row["usage_growth_pct"] >= 50
            else f"Usage up {row['usage_growth_pct']:.0f}%"
        ),
        "health": lambda: "Health green",
        "promoter": lambda: f"NPS {int(row['latest_nps'])} (promoter)",
        "no_open": lambda: labels.label("upsell_reason", "no_open"),
    }
    return [f"{texts[r]()} +{_n(points[r])}" for r in REASONS if bool(row.get(f"reason_{r}"))]


def candidate_records(df: pd.DataFrame, params: UpsellParams) -> list[dict[str, Any]]:
    """Grid rows: the candidate's reasons as readable text and how its expected ARR was made."""
    rows = to_records(df)
    for row in rows:
        row["reasons"] = " · ".join(reason_texts(row, params)) or "No reason applies"
        if row.get("expected_arr") is not None:
            row["expected_how"] = (
                f"{_pct(row['win_rate'])} expected win rate × {_pct(row['typical_share'])} "
                f"typical expansion × {formatting.money(row['arr'])} ARR"
            )
        else:
            row["expected_how"] = "No past expansions under these filters to calibrate on"
    return [{k: row.get(k) for k in CANDIDATE_FIELDS} for row in rows]


# What a grid row carries: the shown columns, the row's id and the expected ARR's explanation.
CANDIDATE_FIELDS = (
    "account_id",
    "name",
    "segment",
    "owner_name",
    "arr",
    "score",
    "reasons",
    "expected_arr",
    "expected_how",
)
SCORE_FORMAT = {"function": "params.value == null ? '–' : d3.format('.4~g')(params.value)"}
CANDIDATE_COLUMNS = [
    {
        "field": "name",
        "headerName": "Account",
        "pinned": "left",
        "minWidth": 200,
        "cellClass": "link-cell",
        "tooltipField": "name",
    },
    {"field": "segment", "headerName": "Segment", "minWidth": 105, "maxWidth": 125},
    {
        "field": "owner_name",
        "headerName": "Owner",
        "minWidth": 120,
        "maxWidth": 160,
        "tooltipField": "owner_name",
    },
    money_column("arr", "ARR", minWidth=90, maxWidth=110),
    {
        "field": "score",
        "headerName": "Score",
        "valueFormatter": SCORE_FORMAT,
        "type": "rightAligned",
        "minWidth": 80,
        "maxWidth": 90,
        "headerTooltip": "Expansion propensity, 0–100: the points of the reasons that apply",
    },
    {
        "field": "reasons",
        "headerName": "Why (points)",
        "minWidth": 420,
        "flex": 4,
        "sortable": False,
        "tooltipField": "reasons",
    },
    {
        **{k: v for k, v in money_column("expected_arr", "").items() if k != "tooltipValueGetter"},
        "headerName": "Expected expansion",
        "headerTooltip": "Expected expansion ARR: win rate × typical expansion × ARR",
        "minWidth": 160,
        "tooltipField": "expected_how",  # win rate × typical expansion × ARR
    },
]


def candidates_grid(grid_id: str, sort: tuple[tuple[str, str], ...] = ()) -> Any:
    """The server-paged candidates grid (rows open Account 360)."""
    return paged_grid(grid_id, CANDIDATE_COLUMNS, {}, sort, 440, "ru-candidates", "account_id")


def candidates_line(totals: Mapping[str, float], params: UpsellParams) -> Any:
    """The count and sums above the grid (equal to the rows it lists)."""
    if not totals["customers"]:
        return html.Span("No customers match these filters.", className="fw-semibold")
    if not totals["candidates"]:
        return html.Span(
            f"No customer scores {_n(params.candidate_min)} or more under these filters.",
            className="fw-semibold",
        )
    return [
        html.Span(formatting.count(totals["candidates"]), className="fw-bold", id="ru-count"),
        f" candidates (score ≥ {_n(params.candidate_min)}) · ",
        html.Span(formatting.money(totals["expected_arr"]), className="fw-bold"),
        " expected expansion ARR · highest expected first",
    ]


# ---- win rate by score decile ------------------------------------------------------------------
def _pools(deciles: pd.DataFrame) -> list[tuple[str, float]]:
    """The calibration's pools in score order: (label, expected win rate)."""
    seen: dict[str, float] = {}
    for _, row in deciles.iterrows():
        if row["used_rate"] is not None and not pd.isna(row["used_rate"]):
            seen.setdefault(row["pool"], float(row["used_rate"]))
    return list(seen.items())


def validation_title(v: Validation) -> str:
    """The takeaway: how much more often high scores won than low ones."""
    pools = _pools(v.deciles)
    overall = _pct(v.win_rate)
    if len(pools) >= 2:
        (low, low_rate), (high, high_rate) = pools[0], pools[-1]
        return (
            f"Scores {high} won {_pct(high_rate)} of expansions, scores {low} "
            f"{_pct(low_rate)} (all: {overall})"
        )
    if v.opportunities < v.min_group:
        return f"Too few expansions to judge the score: {v.opportunities} scored, {overall} won"
    return f"The win rate does not rise with the score here: {overall} won at every score"


def decile_figure(v: Validation) -> Figure:
    """Win rate per score decile at creation (n under each bar; grey when too few), the overall
    rate (dotted) and the calibrated rate candidates are expected at (steps). Each bar carries
    [decile] for the drill to its opportunities."""
    if v.opportunities == 0:
        return empty_figure(
            "Win rate by score at creation",
            f"No expansion opportunities closed won or lost from {v.start:%d %b %Y} to "
            f"{v.end:%d %b %Y} could be scored",
        )
    d = v.deciles
    x = [f"{row.label}<br>n = {row.opportunities:,}" for row in d.itertuples()]
    rates = [None if pd.isna(r) else float(r) for r in d["win_rate"]]
    customdata = [
        [int(row.decile), row.opportunities, row.won, _pct(r), row.label]
        for row, r in zip(d.itertuples(), rates, strict=True)
    ]

    def bars(name: str, color: str, grey: bool) -> dict[str, Any]:
        flags = d["too_few"].tolist()
        shown = [
            r if r is not None and t == grey else None for r, t in zip(rates, flags, strict=True)
        ]
        return {
            "type": "bar",
            "name": name,
            "x": x,
            "y": shown,
            "marker": {"color": color},
            "text": [_pct(r, 0) if r is not None else "" for r in shown],
            "textposition": "outside",
            "cliponaxis": False,
            "customdata": customdata,
            "hovertemplate": "Scores %{customdata[4]}: won %{customdata[2]:,} of "
            "%{customdata[1]:,} "
            "(%{customdata[3]})<br>" + CLICK_STAGE + "<extra></extra>",
        }

    used = [None if pd.isna(r) else float(r) for r in d["used_rate"]]
    steps = {
        "type": "scatter",
        "mode": "lines",
        "name": "Expected win rate (calibrated)",
        "x": x,
        "y": used,
        "line": {"shape": "hvh", "color": NEUTRAL[1], "width": 2.5},
        "customdata": list(d["label"]),
        "hovertemplate": "Scores %{customdata}: candidates expected to win %{y:.1%}<extra></extra>",
    }
    overall = v.win_rate or 0
    line = {
        "type": "scatter",
        "mode": "lines",
        "name": f"All scored: {_pct(overall)}",
        "x": x,
        "y": [overall] * len(x),
        "line": {"dash": "dot", "color": LINE, "width": 1.5},
        "hoverinfo": "skip",
    }
    top = max([r for r in rates if r is not None] + [overall]) or 1
    return figure(
        [
            bars("Win rate", BAR, False),
            bars(f"Win rate, fewer than {v.min_group} (too few to judge)", BAR_TOO_FEW, True),
            steps,
            line,
        ],
        validation_title(v)
        + f"<br><sup>Opportunities closed {v.start:%d %b %Y} – {v.end:%d %b %Y}, scored when "
        "created.</sup>",
        clickmode="event",
        barmode="overlay",
        margin={"t": 70, "b": 8, "l": 8, "r": 8},
        yaxis={"tickformat": ".0%", "range": [0, min(1.12, top * 1.2)], "title": {"text": ""}},
        xaxis={"title": {"text": "Score when the opportunity was created"}},
        legend={"orientation": "h", "y": -0.32, "x": 0},
        height=CHART_HEIGHT,
        bargap=0.25,
    )


def validation_note(v: Validation) -> str:
    """What the chart leaves out, said once."""
    if not v.not_scored:
        return ""
    return (
        f"{formatting.count(v.not_scored)} other opportunities closed in the window could not "
        "be scored (created before the health history starts, or without a creation date) "
        "and are left out."
    )


# ---- open pipeline by stage ----------------------------------------------------------------------
def stage_text(stage: Any) -> str:
    if stage is None or (isinstance(stage, float) and pd.isna(stage)):
        return STAGE_UNKNOWN_TEXT
    return labels.label("expansion_stage", stage)


def pipeline_figure(df: pd.DataFrame, day: date) -> Figure:
    """Σ ARR amount of the open opportunities per stage (count beside), pipeline order top to
    bottom; each bar carries [stage] ('unknown' when not known on the day) for the drill."""
    if df.empty:
        return empty_figure(
            "Open expansion pipeline", f"No expansion opportunities open on {day:%d %b %Y}"
        )
    shown = df.iloc[::-1]  # plotly draws the first category at the bottom
    names = [stage_text(s) for s in shown["stage"]]
    amounts = [float(v) for v in shown["amount_arr"]]
    counts = [int(v) for v in shown["opportunities"]]
    trace = {
        "type": "bar",
        "orientation": "h",
        "y": names,
        "x": amounts,
        "marker": {"color": BAR},
        "text": [
            f"{formatting.money(a)} · {formatting.count(n)}"
            for a, n in zip(amounts, counts, strict=True)
        ],
        "textposition": "outside",
        "cliponaxis": False,
        "customdata": [
            [UNKNOWN_STAGE if s is None else s, n, formatting.money_exact(a)]
            for s, n, a in zip(shown["stage"], counts, amounts, strict=True)
        ],
        "hovertemplate": "%{y}: %{customdata[2]} in %{customdata[1]:,} opportunities<br>"
        + CLICK_STAGE
        + "<extra></extra>",
    }
    total, n = sum(amounts), sum(counts)
    biggest = int(pd.Series(amounts).idxmax())
    if len(names) == 1 and names[0] == STAGE_UNKNOWN_TEXT:
        note = "Stages are held as they stand on the data's latest date: not known on this one."
    else:
        note = f"{names[biggest]} holds the most: {formatting.money(amounts[biggest])}."
    title = (
        f"{formatting.money(total)} open in {formatting.count(n)} opportunities"
        f"<br><sup>{note} Bars: ARR amount · number of opportunities</sup>"
    )
    top = max(amounts) if amounts else 0
    return figure(
        [trace],
        title,
        height=CHART_HEIGHT,
        clickmode="event",
        showlegend=False,
        margin={"t": 70, "b": 8, "l": 8, "r": 8},
        xaxis={"range": [0, top * 1.35 or 1], **value_axis(top * 1.3, "arr")},
        bargap=0.35,
    )


# ---- the opportunity list behind a bar ---------------------------------------------------------
def drill_filter_model(drill: OpportunityDrill) -> dict[str, Any]:
    """The grid filter model that carries the drill (the server applies it): a change makes the
    grid drop its cached rows and ask again."""
    if drill.decile is not None:
        value = f"decile:{drill.decile}"
    elif drill.stage:
        value = f"stage:{drill.stage}"
    else:
        return {}
    return {"drill": {"filterType": "text", "type": "equals", "filter": value}}


def drill_from_filter_model(model: Any) -> OpportunityDrill:
    """The drill inside a grid filter model from the client (none when absent or malformed;
    a bad decile raises InvalidFilter)."""
    entry = model.get("drill") if isinstance(model, dict) else None
    value = str(entry.get("filter") or "") if isinstance(entry, dict) else ""
    kind, _, rest = value.partition(":")
    if kind == "decile":
        return OpportunityDrill.from_params({"ru_decile": rest})
    if kind == "stage":
        return OpportunityDrill.from_params({"ru_stage": rest})
    return OpportunityDrill()


_DRILL_CARRIER = {
    "field": "drill",
    "hide": True,
    "filter": "agTextColumnFilter",
    "filterParams": {"filterOptions": ["equals"], "maxNumConditions": 1},
    "suppressColumnsToolPanel": True,
}
_ACCOUNT = [
    {
        "field": "name",
        "headerName": "Account",
        "pinned": "left",
        "minWidth": 200,
        "cellClass": "link-cell",
        "tooltipField": "name",
    },
    {"field": "segment", "headerName": "Segment", "minWidth": 110},
    {"field": "owner_name", "headerName": "Owner", "minWidth": 130, "tooltipField": "owner_name"},
    {"field": "type", "headerName": "Type", "minWidth": 140},
]


def opportunity_columns(drill: OpportunityDrill) -> list[dict[str, Any]]:
    """Columns of the list: open pipeline (stage, expected close) or past (outcome, score)."""
    created = {"field": "created_date", "headerName": "Created", "valueFormatter": DATE}
    if drill.decile is not None:
        return [
            *_ACCOUNT,
            {
                "field": "outcome",
                "headerName": "Outcome",
                "valueFormatter": labels.label_formatter("expansion_outcome"),
                "maxWidth": 120,
            },
            money_column("amount_arr", "ARR amount", minWidth=120),
            created,
            {"field": "close_date", "headerName": "Closed", "valueFormatter": DATE},
            {
                "field": "score",
                "headerName": "Score at creation",
                "valueFormatter": SCORE_FORMAT,
                "type": "rightAligned",
                "minWidth": 140,
            },
            _DRILL_CARRIER,
        ]
    return [
        *_ACCOUNT,
        {"field": "stage_label", "headerName": "Stage", "minWidth": 130, "sortable": False},
        money_column("amount_arr", "ARR amount", minWidth=120),
        created,
        {"field": "close_date", "headerName": "Expected close", "valueFormatter": DATE},
        _DRILL_CARRIER,
    ]


def opportunity_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    rows = to_records(df)
    for row in rows:
        row["stage_label"] = stage_text(row.get("stage"))
    return rows


def drill_title(drill: OpportunityDrill, day: date, v: Validation | None) -> str:
    """What the list shows, in words."""
    if drill.decile is not None:
        window = f" (closed {v.start:%d %b %Y} – {v.end:%d %b %Y})" if v else ""
        return f"Expansion opportunities scored {decile_label(drill.decile)} when created{window}"
    if drill.stage == ALL_STAGES:
        return f"Expansion opportunities open on {day:%d %b %Y}"
    stage = None if drill.stage == UNKNOWN_STAGE else drill.stage
    return f"Open expansion opportunities on {day:%d %b %Y}, stage: {stage_text(stage)}"


def drill_totals(drill: OpportunityDrill, totals: Mapping[str, float]) -> Any:
    """Count and Σ amount of the list (equal to the clicked bar), and wins for a decile."""
    if not totals["opportunities"]:
        return html.Span("No opportunities match.", className="fw-semibold")
    parts: list[Any] = [
        html.Span(formatting.count(totals["opportunities"]), className="fw-bold", id="ru-drill-n"),
        " opportunities · ",
        html.Span(formatting.money(totals["amount_arr"]), className="fw-bold"),
        " ARR amount",
    ]
    if drill.decile is not None:
        won = totals["won"]
        parts.append(f" · {formatting.count(won)} won ({_pct(won / totals['opportunities'])})")
    return parts


def opportunity_grid(
    grid_id: str, drill: OpportunityDrill, sort: tuple[tuple[str, str], ...] = ()
) -> Any:
    """The server-paged list behind a bar: the drill travels as its filter model."""
    return paged_grid(
        grid_id,
        opportunity_columns(drill),
        drill_filter_model(drill),
        sort,
        420,
        "ru-opps",
        "opportunity_id",
    )
