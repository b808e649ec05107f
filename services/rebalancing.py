"""Rebalancing: the fewest, smallest account moves that bring every over-loaded book under the
line, solved as a mixed-integer program (scipy's `milp`, i.e. HiGHS) and set against a greedy
baseline. Pure functions over the workload frames (services/workload.py); the database side is
services/rebalancing_inputs.py.

The rules (also on the page and in docs/DECISIONS.md):

- **Donors** are active CSMs whose utilisation is above the over-loaded line
  (`WorkloadParams.overloaded_above`). A donor must end at or below that line.
- **Receivers** are active CSMs of the same team as the account's owner, with capacity, who
  end at or below the target utilisation (`target_utilisation`; the over-loaded line if that is
  lower): a move never creates a new problem, and a CSM between the target and the line neither
  gives nor takes.
- **Same segment and region**: a receiver must already serve the account's segment *and*
  region together, i.e. own at least one account of that segment in that region (the CRM's
  account region: North America, LATAM, EMEA, APAC). CSM records carry a coarser region
  (Americas, International, Global) that cannot tell LATAM from North America, so the book is
  the better evidence of who covers what. A CSM with an empty book (a new hire) serves the
  segment x region pairs their team serves that their own region covers (Americas: North
  America and LATAM; International: EMEA and APAC; Global or unknown: all of the team's).
- **Never move**: accounts with an open renewal (overdue ones included) in the next
  `freeze_days` days as of the view's date, and the accounts the user picks.
- **Move cap**: no CSM gives or receives more than `max_moves` accounts.
- **Open books** (option, on by default): accounts whose owner has left (`owner_state`
  departed) or is missing must be given an owner: mandatory moves to a receiver of the owner's
  team (an account without an owner goes to the team that serves most accounts of its segment
  and region). The renewal freeze does not hold them back (nobody owns the relationship to
  protect); the user's own never-move picks do.
- **Objective**: the ARR whose relationship is disturbed or left alone, plus `MOVE_WEIGHT` per
  move: ARR moved off over-loaded books, plus the ARR of open-book accounts left without an
  owner (placing an open-book account disturbs nobody; leaving a large one unowned is the
  risk), plus $1,000 a move. So among plans moving about the same ARR the one with fewer moves
  wins, while ARR still dominates: one more move is worth it only if it saves more than $1,000
  of ARR; and when room is short, the largest open-book accounts get an owner first.
- **When no plan brings every book under the line** (or places every open-book account), the
  work left uncovered (points of overload above the line, plus the points of open-book
  accounts left without an owner) comes first: a first solve proves the least any plan can
  leave; the plan then minimises the objective plus a dominant price per point left uncovered
  (`OVERLOAD_PRICE` x the dearest ARR + weight per point among the candidates), never leaving
  more than the greedy plan does. So it leaves a book over only by less than a tenth of the
  points of an account that could fix it; the page shows the least possible beside the plan's.

Teams are independent problems (no move crosses a team), solved one by one with a time limit;
variables exist only for candidate accounts (a donor's movable accounts, open-book accounts)
and their eligible receivers. The greedy baseline: the book with the largest overload first,
move its account with the most points per ARR to the least-loaded eligible receiver with room.
The plan shown is the solver's unless the solver, cut short by its time limit, did worse.
"""

from __future__ import annotations

import functools
import math
import operator
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csr_array

from services.settings import load_capacity_settings
from services.workload import WorkloadParams, first_value, url_number

MOVE_WEIGHT = 1_000.0  # $ of moved ARR one move counts as in the objective
TEAM_TIME_LIMIT = 1.2  # seconds of solver time for one team (under 2 s with its data and greedy)
COMPANY_TIME_LIMIT = 8.0  # seconds of solver time for every team together
MAX_MOVES_LIMIT = 500
MAX_FREEZE_DAYS = 730
MAX_NEVER_MOVE = 200
MAX_ID_LENGTH = 64
EPS = 1e-9
FILL_SCALE = 10_000  # points in ten-thousandths for the receivers' knapsack (`_fillable`)
FILL_MAX_STEPS = 400
FILL_MAX_BITS = 4_000_000  # 400 points of room
OVERLOAD_PRICE = 10.0  # x the dearest ARR per point: the price of a point of overload left
STAGE1_SHARE = 0.3  # of a team's time limit, for finding the least overload any plan leaves
# CSM region -> the account regions it covers (None: every region). Used only for a CSM with
# an empty book; spellings other than the demo's are there for real CRMs.
REGION_COVERAGE: dict[str, frozenset[str] | None] = {
    "Americas": frozenset({"North America", "NA", "LATAM", "Latin America", "South America"}),
    "International": frozenset({"EMEA", "APAC", "Europe", "Asia Pacific"}),
    "Global": None,
}
OPEN_STATES = ("departed", "missing")
# Why a book stays over / an open-book account keeps no owner (components/labels.py words them).
REASONS = ("frozen", "outside", "cap", "no_receiver", "no_room", "no_team")


# ---- Options (URL round trip) ------------------------------------------------------------------
@dataclass(frozen=True)
class RebalanceOptions:
    """The tab's parameters: team (None: every team), the move cap per CSM, the renewal freeze
    in days (0: none), the accounts the user keeps, and whether open books are reassigned."""

    team: str | None = None
    max_moves: int = 10
    freeze_days: int = 60
    never_move: tuple[str, ...] = ()
    open_books: bool = True

    @classmethod
    def defaults(cls) -> RebalanceOptions:
        s = load_capacity_settings()
        return cls(
            max_moves=s.rebalance_max_moves_per_csm, freeze_days=s.rebalance_freeze_renewal_days
        )

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> tuple[RebalanceOptions, dict[str, str]]:
        """The defaults with the URL's changes (rbteam, rbmoves, rbfreeze, rbkeep, rbopen); a
        value that cannot be used is left at its default and reported under its key."""
        base = cls.defaults()
        errors: dict[str, str] = {}
        team = first_value(params.get("rbteam"))
        team = str(team)[:200] if team not in (None, "") else None
        max_moves = _integer(
            params, "rbmoves", base.max_moves, 1, MAX_MOVES_LIMIT, "Moves per CSM", errors
        )
        freeze = _integer(
            params, "rbfreeze", base.freeze_days, 0, MAX_FREEZE_DAYS, "Freeze days", errors
        )
        raw_keep = params.get("rbkeep") or ()
        raw_keep = [raw_keep] if isinstance(raw_keep, str) else list(raw_keep)
        keep = sorted({str(v) for v in raw_keep if v not in (None, "")})
        if any(len(v) > MAX_ID_LENGTH for v in keep) or len(keep) > MAX_NEVER_MOVE:
            errors["rbkeep"] = (
                f"Never move: at most {MAX_NEVER_MOVE} account ids of at most "
                f"{MAX_ID_LENGTH} characters."
            )
            keep = [v for v in keep if len(v) <= MAX_ID_LENGTH][:MAX_NEVER_MOVE]
        open_books = base.open_books
        raw_open = first_value(params.get("rbopen"))
        if raw_open not in (None, ""):
            if raw_open in ("0", "1"):
                open_books = raw_open == "1"
            else:
                errors["rbopen"] = "Reassign open books must be on or off."
        return cls(team, max_moves, freeze, tuple(keep), open_books), errors

    def to_params(self) -> dict[str, Any]:
        """The options that differ from the defaults, as URL values (rbkeep repeats)."""
        base = RebalanceOptions.defaults()
        out: dict[str, Any] = {}
        if self.team:
            out["rbteam"] = self.team
        if self.max_moves != base.max_moves:
            out["rbmoves"] = str(self.max_moves)
        if self.freeze_days != base.freeze_days:
            out["rbfreeze"] = str(self.freeze_days)
        if self.never_move:
            out["rbkeep"] = list(self.never_move)
        if self.open_books != base.open_books:
            out["rbopen"] = "1" if self.open_books else "0"
        return out


def _integer(
    params: Mapping[str, Any],
    key: str,
    default: int,
    low: int,
    high: int,
    label: str,
    errors: dict[str, str],
) -> int:
    bounds = f"{label} must be a whole number from {low} to {high}."
    value = url_number(params, key, low, high, errors, label, whole=True, out_of_range=bounds)
    return default if value is None else int(value)


def frozen_by_renewal(accounts: pd.DataFrame, day: date, freeze_days: int) -> pd.Series:
    """Per account: its next open renewal (`next_renewal`, overdue included) falls on or before
    `day` + `freeze_days`; never when the freeze is 0 days."""
    if freeze_days <= 0 or "next_renewal" not in accounts:
        return pd.Series(False, index=accounts.index)
    limit = pd.Timestamp(day + timedelta(days=freeze_days))
    renewal = pd.to_datetime(accounts["next_renewal"])
    return renewal.notna() & (renewal <= limit)


# ---- One team's problem -------------------------------------------------------------------------
@dataclass
class TeamProblem:
    """Arrays of one team: CSMs (every CSM of the team) and candidate accounts (movable
    accounts of donors and open-book accounts). Candidates fall into classes (segment, region,
    points): accounts of a class are interchangeable for every constraint, so who can take them
    is a property of the class (`class_receivers`)."""

    team: str
    csm_ids: np.ndarray
    load: np.ndarray  # points carried before any move
    capacity: np.ndarray
    line: np.ndarray  # points at the over-loaded line
    room: np.ndarray  # points a receiver may still take (0 for anyone else)
    is_donor: np.ndarray
    acc_ids: np.ndarray
    acc_points: np.ndarray
    acc_arr: np.ndarray
    acc_owner: np.ndarray  # CSM index of the owner, -1 when not among the team's CSMs (missing)
    mandatory: np.ndarray  # an open-book account: must get an owner
    acc_class: np.ndarray
    class_points: np.ndarray
    class_receivers: list[np.ndarray]  # per class: CSMs serving its pair with room for one
    max_moves: int

    @property
    def overload_weight(self) -> float:
        """The price of a point of work left uncovered: OVERLOAD_PRICE x the dearest (ARR +
        weight) per point among the candidates, so relieving overload outweighs any ARR."""
        points = self.acc_points[self.acc_points > 0]
        if not len(points):
            return 1.0
        cost = (self.acc_arr + MOVE_WEIGHT)[self.acc_points > 0]
        return OVERLOAD_PRICE * float((cost / points).max())

    def receivers_of(self, a: int) -> np.ndarray:
        return self.class_receivers[self.acc_class[a]]

    @property
    def has_work(self) -> bool:
        return bool(self.is_donor.any() or self.mandatory.any())


@dataclass(frozen=True)
class Outcome:
    """A solution's numbers: moves, ARR moved (all moves), objective (ARR moved off over-loaded
    books + ARR of open-book accounts left without an owner + weight x moves), the work left
    uncovered (points above the line + points of open-book accounts left without an owner)."""

    moves: int = 0
    moved_arr: float = 0.0
    objective: float = 0.0
    uncovered: float = 0.0
    books_over: int = 0
    unplaced: int = 0

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(
            self.moves + other.moves,
            self.moved_arr + other.moved_arr,
            self.objective + other.objective,
            self.uncovered + other.uncovered,
            self.books_over + other.books_over,
            self.unplaced + other.unplaced,
        )

    def score(self, overload_weight: float) -> float:
        """What the solver minimises: objective + overload_weight x work left uncovered."""
        return self.objective + overload_weight * self.uncovered

    def better_than(self, other: Outcome, overload_weight: float) -> bool:
        return self.score(overload_weight) < other.score(overload_weight) - 1e-6 * (
            1 + abs(other.score(overload_weight))
        )


def evaluate(problem: TeamProblem, assignment: np.ndarray) -> Outcome:
    """The outcome of `assignment` (receiver index per candidate account, -1 = stays)."""
    moved = assignment >= 0
    after = loads_after(problem, assignment)
    over = np.maximum(after - problem.line, 0.0) * problem.is_donor
    unplaced = problem.mandatory & ~moved
    disturbed = problem.acc_arr[moved & ~problem.mandatory].sum() + problem.acc_arr[unplaced].sum()
    return Outcome(
        moves=int(moved.sum()),
        moved_arr=float(problem.acc_arr[moved].sum()),
        objective=float(disturbed) + MOVE_WEIGHT * int(moved.sum()),
        uncovered=float(over.sum() + problem.acc_points[unplaced].sum()),
        books_over=int((over > 1e-6).sum()),
        unplaced=int(unplaced.sum()),
    )


def loads_after(problem: TeamProblem, assignment: np.ndarray) -> np.ndarray:
    """Points each CSM carries once `assignment` is done."""
    after = problem.load.astype(float).copy()
    moved = assignment >= 0
    owners = problem.acc_owner[moved]
    points = problem.acc_points[moved]
    np.subtract.at(after, owners[owners >= 0], points[owners >= 0])
    np.add.at(after, assignment[moved], points)
    return after


# ---- Greedy baseline ----------------------------------------------------------------------------
def solve_greedy(problem: TeamProblem) -> np.ndarray:
    """The baseline: open-book accounts first (largest ARR first, each to the least-loaded
    eligible receiver with room); then, while a book is over, the book with the largest overload
    moves its account with the most points per ARR to the least-loaded eligible receiver with
    room. Who can take an account depends only on its class, and room only shrinks, so a class
    nobody can take stays so: each donor's accounts are scanned once, best first."""
    n_acc, k = len(problem.acc_ids), problem.max_moves
    assignment = np.full(n_acc, -1)
    load = problem.load.astype(float).copy()
    room = problem.room.astype(float).copy()
    moves_in = np.zeros(len(load), dtype=int)
    moves_out = np.zeros(len(load), dtype=int)
    capacity = np.where(problem.capacity > 0, problem.capacity, 1.0)

    def best_receiver(a: int) -> int:
        receivers = problem.receivers_of(a)
        fits = receivers[
            (room[receivers] >= problem.acc_points[a] - EPS) & (moves_in[receivers] < k)
        ]
        if not len(fits):
            return -1
        return int(fits[np.argmin(load[fits] / capacity[fits])])  # ties: the first CSM

    def move(a: int, r: int) -> None:
        assignment[a] = r
        points = problem.acc_points[a]
        load[r] += points
        room[r] -= points
        moves_in[r] += 1
        owner = problem.acc_owner[a]
        if owner >= 0:
            load[owner] -= points
            moves_out[owner] += 1

    for a in sorted(np.flatnonzero(problem.mandatory), key=lambda a: -problem.acc_arr[a]):
        r = best_receiver(int(a))
        if r >= 0:
            move(int(a), r)

    ratio = problem.acc_points / np.maximum(problem.acc_arr, 1.0)
    queue: dict[int, list[int]] = {}
    for a in np.lexsort((problem.acc_ids, problem.acc_arr, -ratio)):
        if not problem.mandatory[a]:
            queue.setdefault(int(problem.acc_owner[a]), []).append(int(a))
    next_of = dict.fromkeys(queue, 0)
    stuck: set[int] = set()
    while True:
        excess = np.where(problem.is_donor, load - problem.line, 0.0)
        excess[list(stuck)] = 0.0
        d = int(np.argmax(excess))
        if excess[d] <= 1e-9:
            break
        accounts, i, pick = queue.get(d, []), next_of.get(d, 0), -1
        while moves_out[d] < k and i < len(accounts) and pick < 0:
            r = best_receiver(accounts[i])
            if r >= 0:
                pick = r
            else:
                i += 1
        if pick < 0:
            stuck.add(d)
            continue
        move(accounts[i], pick)
        next_of[d] = i + 1
    return assignment


# ---- The MILP -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SolverRun:
    """What HiGHS did for one team: status (optimal | time_limit | no_solution), seconds, the
    relative MIP gap of the last solve (None when unknown), the number of variables, and the
    least work any plan must leave uncovered (None when not proved in time)."""

    status: str
    seconds: float
    gap: float | None
    variables: int
    least_uncovered: float | None = None


@dataclass
class _Model:
    """The aggregated model's index sets (see `solve_milp`)."""

    groups: list[np.ndarray]  # candidate indices of each (owner, class) group, cheapest first
    group_owner: np.ndarray  # CSM index, -1 for accounts without an owner
    group_class: np.ndarray
    group_mandatory: np.ndarray
    slots: np.ndarray  # (receiver, class) pairs a receiver may take accounts of
    donors: np.ndarray


def solve_milp(
    problem: TeamProblem, time_limit: float, greedy: Outcome | None = None
) -> tuple[np.ndarray | None, SolverRun]:
    """The solver's assignment (None when none was found in time) and how the solve ran.

    The model counts moves instead of naming receivers: accounts of a class (segment, region,
    points) are interchangeable for every constraint, so it decides w[g] = how many accounts
    of group g (one owner's accounts of one class) move and v[r, k] = how many accounts of
    class k receiver r takes (general integers), each class's flows balanced. Which accounts
    of a group move: its w[g] cheapest (`move_costs`), as continuous y[a] in [0, 1] with
    sum y = w[g], which a linear program fills from the cheapest (moving m accounts costs a
    convex function of m). Any counts meeting the constraints become named moves (each class's
    movers matched to its slots), so the model is exact; and it is small, without the
    receivers' symmetry that makes an account-by-receiver model slow. Receivers' room is cut
    to what whole accounts can fill (`_fillable`), which the integer plans never exceed.

    Stage 1 (skipped when the greedy plan already leaves nothing uncovered) finds the least
    work any plan must leave uncovered. When that is 0, stage 2 minimises the objective with
    every book at or under the line and every open-book account placed. Otherwise stage 2
    minimises objective + `overload_weight` x work left uncovered, never leaving more than
    the greedy plan does nor less than stage 1 proved possible.
    """
    start = time.perf_counter()
    model = _model(problem)
    n_g, n_v, n_a, n_d = (
        len(model.groups),
        len(model.slots),
        len(problem.acc_ids),
        len(model.donors),
    )
    if n_g == 0 or n_v == 0:  # nothing can move: what is uncovered now is the least
        stay = np.full(n_a, -1)
        least = evaluate(problem, stay).uncovered
        return stay, SolverRun("optimal", time.perf_counter() - start, 0.0, 0, least)
    rows, uncovered_row, constant = _rows(problem, model)
    n = n_g + n_v + n_d + n_a  # [w, v, s, y]
    lower, upper = np.zeros(n), _upper_bounds(problem, model)
    integrality = np.concatenate([np.ones(n_g + n_v), np.zeros(n_d + n_a)])
    deadline = start + time_limit
    status, gap = "optimal", 0.0
    reachable = greedy.uncovered if greedy is not None else None
    least, first = (0.0 if reachable is not None and reachable <= 1e-9 else None), None
    floor = 0.0
    if least is None:
        res = milp(
            uncovered_row,
            constraints=rows,
            integrality=integrality,
            bounds=Bounds(lower, upper),
            options={"time_limit": max(STAGE1_SHARE * time_limit, 0.05)},
        )
        if res.x is not None:
            first = res.x
            found = max(float(uncovered_row @ res.x) + constant, 0.0)
            reachable = found if reachable is None else min(reachable, found)
        if res.status == 0 and res.x is not None:
            least = floor = reachable
        elif getattr(res, "mip_dual_bound", None) is not None:
            floor = max(float(res.mip_dual_bound) + constant, 0.0)
    cost = np.zeros(n)
    cost[n_g + n_v + n_d :] = move_costs(problem)
    stage2 = list(rows)
    if reachable is not None and reachable <= 1e-9:
        upper[n_g + n_v : n_g + n_v + n_d] = 0.0  # every book at or under the line
        mandatory = model.group_mandatory
        lower[:n_g][mandatory] = upper[:n_g][mandatory]  # every open-book account placed
    else:
        cost = cost + problem.overload_weight * uncovered_row
        # No more than the greedy plan leaves (not stage 1's value: held to exactly the least
        # overload, the solver struggles to find any plan at all).
        top = (
            np.inf
            if greedy is None
            else greedy.uncovered - constant + 1e-7 * (1 + greedy.uncovered)
        )
        stage2.append(LinearConstraint(uncovered_row.reshape(1, -1), floor - constant - 1e-7, top))
    res = milp(
        cost,
        constraints=stage2,
        integrality=integrality,
        bounds=Bounds(lower, upper),
        options={"time_limit": max(deadline - time.perf_counter(), 0.05)},
    )
    x = res.x if res.x is not None else first
    if res.status != 0 or res.x is None:
        status = "time_limit" if x is not None else "no_solution"
    gap = _gap(res) if res.x is not None else None
    seconds = time.perf_counter() - start
    run = SolverRun(status, seconds, gap, n, least)
    return (_named_moves(problem, model, x) if x is not None else None), run


def move_costs(problem: TeamProblem) -> np.ndarray:
    """What moving each candidate adds to the objective: its ARR + the weight off an
    over-loaded book; the weight less its ARR for an open-book account (placing it saves its
    ARR from being left without an owner; a constant apart, the objective)."""
    return np.where(problem.mandatory, -problem.acc_arr, problem.acc_arr) + MOVE_WEIGHT


def _gap(res: Any) -> float | None:
    gap = getattr(res, "mip_gap", None)
    return float(gap) if gap is not None and math.isfinite(gap) else None


def _model(problem: TeamProblem) -> _Model:
    cost = move_costs(problem)
    owner = problem.acc_owner
    order = np.lexsort((problem.acc_ids, cost, problem.acc_class, owner))
    keys = np.stack([owner[order], problem.acc_class[order]], axis=1)
    starts = np.flatnonzero(np.r_[True, (np.diff(keys, axis=0) != 0).any(axis=1)])
    groups = np.split(order, starts[1:]) if len(order) else []
    slots = [(r, k) for k, receivers in enumerate(problem.class_receivers) for r in receivers]
    return _Model(
        groups=groups,
        group_owner=np.array([owner[g[0]] for g in groups], dtype=int),
        group_class=np.array([problem.acc_class[g[0]] for g in groups], dtype=int),
        group_mandatory=np.array([bool(problem.mandatory[g[0]]) for g in groups], dtype=bool),
        slots=np.array(slots, dtype=int).reshape(-1, 2),
        donors=np.flatnonzero(problem.is_donor),
    )


def _upper_bounds(problem: TeamProblem, model: _Model) -> np.ndarray:
    k = problem.max_moves
    sizes = np.array([len(g) for g in model.groups], dtype=float)
    w = np.where(model.group_mandatory, sizes, np.minimum(sizes, k))
    rec, cls = model.slots[:, 0], model.slots[:, 1]
    points = problem.class_points[cls]
    fits = np.floor(
        np.divide(problem.room[rec], points, out=np.full(len(points), np.inf), where=points > 0)
        + 1e-9
    )
    v = np.minimum(fits, k)
    s = np.maximum(problem.load - problem.line, 0.0)[model.donors]
    return np.concatenate([w, v, s, np.ones(len(problem.acc_ids))])


def _rows(problem: TeamProblem, model: _Model) -> tuple[list[LinearConstraint], np.ndarray, float]:
    """The constraints over [w, v, s, y], the stage-1 objective row (work left uncovered, less
    a constant) and that constant."""
    n_g, n_v, n_d, n_a = (
        len(model.groups),
        len(model.slots),
        len(model.donors),
        len(problem.acc_ids),
    )
    n = n_g + n_v + n_d + n_a
    w_col, v_col, s_col, y_col = 0, n_g, n_g + n_v, n_g + n_v + n_d
    n_classes, n_csm = len(problem.class_points), len(problem.load)
    g_points = problem.class_points[model.group_class]
    g_idx, v_idx = np.arange(n_g), np.arange(n_v)
    rec, cls = model.slots[:, 0], model.slots[:, 1]

    def sparse(rows_, cols_, vals, count):
        return csr_array((vals, (rows_, cols_)), shape=(count, n))

    out = []
    # Each class: accounts leaving = accounts arriving.
    out.append(
        LinearConstraint(
            sparse(
                np.r_[model.group_class, cls],
                np.r_[w_col + g_idx, v_col + v_idx],
                np.r_[np.ones(n_g), -np.ones(n_v)],
                n_classes,
            ),
            0,
            0,
        )
    )
    # A donor sheds its excess (or keeps s of it) in at most max_moves moves.
    donor_row = np.full(n_csm, -1)
    donor_row[model.donors] = np.arange(n_d)
    owner = model.group_owner
    of_donor = (owner >= 0) & (donor_row[np.maximum(owner, 0)] >= 0)
    d_rows = donor_row[owner[of_donor]]
    if n_d:
        shed = sparse(
            np.r_[d_rows, np.arange(n_d)],
            np.r_[w_col + g_idx[of_donor], s_col + np.arange(n_d)],
            np.r_[g_points[of_donor], np.ones(n_d)],
            n_d,
        )
        out.append(LinearConstraint(shed, (problem.load - problem.line)[model.donors], np.inf))
        cap = sparse(d_rows, w_col + g_idx[of_donor], np.ones(of_donor.sum()), n_d)
        out.append(LinearConstraint(cap, -np.inf, problem.max_moves))
    # A receiver takes no more than its room, in at most max_moves moves.
    out.append(
        LinearConstraint(
            sparse(rec, v_col + v_idx, problem.class_points[cls], n_csm),
            -np.inf,
            _fillable(problem, model),
        )
    )
    out.append(
        LinearConstraint(
            sparse(rec, v_col + v_idx, np.ones(n_v), n_csm), -np.inf, problem.max_moves
        )
    )
    # The accounts that move in a group: sum y = w.
    members = np.concatenate(model.groups)
    member_group = np.repeat(g_idx, [len(g) for g in model.groups])
    out.append(
        LinearConstraint(
            sparse(
                np.r_[member_group, g_idx],
                np.r_[y_col + members, w_col + g_idx],
                np.r_[np.ones(len(members)), -np.ones(n_g)],
                n_g,
            ),
            0,
            0,
        )
    )
    # Work left uncovered = sum s + sum over open-book groups of points x (size - w).
    row = np.zeros(n)
    row[s_col : s_col + n_d] = 1.0
    mandatory = model.group_mandatory
    row[w_col + g_idx[mandatory]] = -g_points[mandatory]
    sizes = np.array([len(g) for g in model.groups], dtype=float)
    constant = float((g_points[mandatory] * sizes[mandatory]).sum())
    return out, row, constant


def _fillable(problem: TeamProblem, model: _Model) -> np.ndarray:
    """Each receiver's room cut to the most points its eligible classes can fill exactly in at
    most max_moves accounts (a knapsack over a few sizes, by bitset). Integer plans are the
    same; the relaxation cannot count room that no whole accounts fill, which is what makes
    tight teams slow to prove. Left at the room when sizes are not whole ten-thousandths of a
    point or the knapsack would be large (small accounts waste little room anyway)."""
    fillable = problem.room.astype(float).copy()
    for r in np.unique(model.slots[:, 0]):
        sizes = problem.class_points[model.slots[model.slots[:, 0] == r, 1]]
        units = np.rint(sizes * FILL_SCALE)
        if np.abs(units - sizes * FILL_SCALE).max() > 1e-6 or units.min() <= 0:
            continue
        most = min(problem.max_moves, int(problem.room[r] / sizes.min() + 1e-9))
        if most * len(units) > FILL_MAX_STEPS:
            continue
        limit = int(math.floor(problem.room[r] * FILL_SCALE + 1e-6))
        if limit > FILL_MAX_BITS:
            continue
        mask = (1 << (limit + 1)) - 1
        layer, reached = 1, 1
        for _ in range(most):
            layer = functools.reduce(operator.or_, (layer << int(u) for u in set(units))) & mask
            if not layer:
                break
            reached |= layer
        fillable[r] = (reached.bit_length() - 1) / FILL_SCALE
    return fillable


def _named_moves(problem: TeamProblem, model: _Model, x: np.ndarray) -> np.ndarray:
    """Turn counts into named moves: each group's cheapest w accounts, matched class by class
    with the receivers' slots (the largest accounts to the least-loaded receivers)."""
    n_g, n_v = len(model.groups), len(model.slots)
    w = np.rint(x[:n_g]).astype(int)
    v = np.rint(x[n_g : n_g + n_v]).astype(int)
    assignment = np.full(len(problem.acc_ids), -1)
    movers: dict[int, list[int]] = {}
    for g, count in enumerate(w):
        if count > 0:
            movers.setdefault(int(model.group_class[g]), []).extend(model.groups[g][:count])
    utilisation = problem.load / np.where(problem.capacity > 0, problem.capacity, 1.0)
    for k, accounts in movers.items():
        chosen = np.flatnonzero((model.slots[:, 1] == k) & (v > 0))
        receivers = sorted(
            chosen, key=lambda i: (utilisation[model.slots[i, 0]], model.slots[i, 0])
        )
        slots = [int(model.slots[i, 0]) for i in receivers for _ in range(v[i])]
        accounts = sorted(accounts, key=lambda a: (-problem.acc_arr[a], problem.acc_ids[a]))
        for a, r in zip(accounts, slots, strict=False):
            assignment[a] = r
    return assignment


# ---- Building the problems ----------------------------------------------------------------------
def account_teams(accounts: pd.DataFrame) -> pd.Series:
    """The team each account belongs to for rebalancing: its owner's, and for an account
    without an owner the team that serves most accounts of its segment and region."""
    team = accounts["owner_team"].copy()
    missing = team.isna()
    if missing.any():
        owned = accounts[~missing]
        home = owned.groupby(["segment", "region", "owner_team"]).size().rename("n").reset_index()
        home = home.sort_values(["n", "owner_team"], ascending=[False, True]).drop_duplicates(
            ["segment", "region"]
        )
        lookup = {
            (s, r): t
            for s, r, t in home[["segment", "region", "owner_team"]].itertuples(index=False)
        }
        team[missing] = [
            lookup.get((s, r))
            for s, r in accounts.loc[missing, ["segment", "region"]].itertuples(index=False)
        ]
    return team


def with_loads(csms: pd.DataFrame, accounts: pd.DataFrame) -> pd.DataFrame:
    """CSMs with the points they carry (`load`) and their utilisation (None at no capacity)."""
    load = accounts.groupby("owner_csm_id")["points"].sum()
    out = csms.copy()
    out["load"] = out["csm_id"].map(load).fillna(0.0).astype(float)
    cap = out["capacity"].astype(float)
    out["utilisation"] = (out["load"] / cap).where(cap > 0)
    return out


def build_team_problem(
    team: str,
    accounts: pd.DataFrame,
    csms: pd.DataFrame,
    params: WorkloadParams,
    options: RebalanceOptions,
) -> tuple[TeamProblem, pd.DataFrame, pd.DataFrame]:
    """One team's problem, the team's CSMs (with loads) and its candidate accounts (frame rows in
    the problem's order). `accounts` are the team's accounts, `csms` its CSMs (with loads)."""
    csms = csms.reset_index(drop=True)
    index = {c: i for i, c in enumerate(csms["csm_id"])}
    active = (csms["state"] == "active").to_numpy() & (csms["capacity"] > 0).to_numpy()
    capacity = csms["capacity"].astype(float).to_numpy()
    load = csms["load"].to_numpy(dtype=float)
    line = params.overloaded_above * capacity
    is_donor = (csms["state"] == "active").to_numpy() & (load > line + 1e-9)
    ceiling = min(params.target_utilisation, params.overloaded_above) * capacity
    room = np.where(active & ~is_donor, np.maximum(ceiling - load, 0.0), 0.0)

    donor_ids = set(csms.loc[is_donor, "csm_id"])
    is_open = accounts["owner_state"].isin(OPEN_STATES) & options.open_books
    movable = (
        accounts["owner_csm_id"].isin(donor_ids)
        & ~accounts["frozen"]
        & ~accounts["kept"]
        & (accounts["owner_state"] == "active")
        & accounts["in_view"]
    )
    mandatory = is_open & ~accounts["kept"] & accounts["in_view"]
    candidates = accounts[movable | mandatory].copy()
    candidates["mandatory"] = mandatory[movable | mandatory]
    candidates = candidates.sort_values(["mandatory", "account_id"]).reset_index(drop=True)

    serves = _served_pairs(accounts, csms)
    by_pair: dict[tuple[str, str], list[int]] = {}
    for r in np.flatnonzero(room > EPS):
        for pair in serves.get(csms.at[r, "csm_id"], ()):
            by_pair.setdefault(pair, []).append(int(r))
    points = candidates["points"].to_numpy(dtype=float)
    keys = list(zip(candidates["segment"], candidates["region"], np.round(points, 9), strict=True))
    classes = sorted(set(keys), key=str)
    class_of = {key: i for i, key in enumerate(classes)}
    class_points = np.array([key[2] for key in classes], dtype=float)
    class_receivers = [
        np.array([r for r in by_pair.get((seg, reg), ()) if pts <= room[r] + EPS], dtype=int)
        for seg, reg, pts in classes
    ]
    problem = TeamProblem(
        team=team,
        csm_ids=csms["csm_id"].to_numpy(),
        load=load,
        capacity=capacity,
        line=line,
        room=room,
        is_donor=is_donor,
        acc_ids=candidates["account_id"].to_numpy(),
        acc_points=points,
        acc_arr=candidates["arr"].to_numpy(dtype=float),
        acc_owner=candidates["owner_csm_id"].map(index).fillna(-1).astype(int).to_numpy(),
        mandatory=candidates["mandatory"].to_numpy(dtype=bool),
        acc_class=np.array([class_of[key] for key in keys], dtype=int),
        class_points=class_points,
        class_receivers=class_receivers,
        max_moves=options.max_moves,
    )
    return problem, csms, candidates


def _served_pairs(accounts: pd.DataFrame, csms: pd.DataFrame) -> dict[str, set[tuple[str, str]]]:
    """CSM id -> the (segment, region) pairs they serve: those of their book, or for an empty
    book the team's pairs their own region covers."""
    owned = accounts[accounts["owner_state"] == "active"]
    serves: dict[str, set[tuple[str, str]]] = {}
    for csm, seg, reg in (
        owned[["owner_csm_id", "segment", "region"]].drop_duplicates().itertuples(index=False)
    ):
        serves.setdefault(csm, set()).add((seg, reg))
    team_pairs = set(
        accounts[["segment", "region"]].drop_duplicates().itertuples(index=False, name=None)
    )
    for csm, region in csms[["csm_id", "region"]].itertuples(index=False):
        if csm not in serves:
            covered = REGION_COVERAGE.get(region)
            serves[csm] = {p for p in team_pairs if covered is None or p[1] in covered}
    return serves


# ---- The plan -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RebalancePlan:
    """The proposed moves and what they do.

    moves: account_id, name, team, segment, region, coverage_tier, arr, points, next_renewal,
      from_csm_id, from_name, from_state (active | departed | missing), to_csm_id, to_name,
      reason (overload | open_book); largest ARR first within a team.
    csms: every CSM of the teams in scope: csm_id, name, team, state, capacity, load_before,
      load_after, util_before, util_after, moves_out, moves_in, donor, over_after, affected.
    stuck: the books still over the line: csm_id, name, team, util_before, util_after, reason
      (one of REASONS).
    unplaced: open-book accounts left without an owner: account_id, name, team, from_name, arr,
      points, reason.
    teams: one row per team with work: team, donors, open_accounts, candidates, variables,
      status, seconds, gap, chosen (solver | greedy) and each method's moves, moved_arr,
      objective, uncovered.
    solver / greedy: the totals of the plan shown and of the greedy baseline.
    """

    moves: pd.DataFrame
    csms: pd.DataFrame
    stuck: pd.DataFrame
    unplaced: pd.DataFrame
    teams: pd.DataFrame
    solver: Outcome
    greedy: Outcome
    over_before: int
    open_accounts: int
    held_back: int  # accounts of over-loaded books that the freeze or the user keep
    over_line: float
    ceiling: float
    options: RebalanceOptions

    @property
    def solver_seconds(self) -> float:
        return float(self.teams["seconds"].sum()) if not self.teams.empty else 0.0

    @property
    def time_limited(self) -> pd.DataFrame:
        return (
            self.teams[self.teams["status"] == "time_limit"] if not self.teams.empty else self.teams
        )


MOVE_COLUMNS = [
    "account_id", "name", "team", "segment", "region", "coverage_tier", "arr", "points",
    "next_renewal", "from_csm_id", "from_name", "from_state", "to_csm_id", "to_name", "reason",
]  # fmt: skip
CSM_COLUMNS = [
    "csm_id", "name", "team", "state", "capacity", "load_before", "load_after", "util_before",
    "util_after", "moves_out", "moves_in", "donor", "over_after", "affected",
]  # fmt: skip
TEAM_COLUMNS = [
    "team", "donors", "open_accounts", "candidates", "variables", "status", "seconds",
    "greedy_seconds", "gap", "least_uncovered", "chosen", "solver_moves", "solver_arr", "solver_objective", "solver_uncovered",
    "greedy_moves", "greedy_arr", "greedy_objective", "greedy_uncovered",
]  # fmt: skip


def plan_moves(
    accounts: pd.DataFrame,
    csms: pd.DataFrame,
    params: WorkloadParams,
    options: RebalanceOptions,
    day: date,
    team_time_limit: float = TEAM_TIME_LIMIT,
    company_time_limit: float = COMPANY_TIME_LIMIT,
) -> RebalancePlan:
    """The plan for `accounts` (services/workload.account_workload rows, plus `next_renewal`:
    the account's next open renewal date on `day`, overdue included, or null; and optionally
    `in_view`: False for an account that must stay where it is because the view's filters
    leave it out) and `csms` (services/workload.csm_capacity rows), team by team."""
    accounts = accounts.copy()
    if "in_view" not in accounts:
        accounts["in_view"] = True
    accounts["team_key"] = account_teams(accounts) if not accounts.empty else pd.Series(dtype=str)
    if "next_renewal" not in accounts:
        accounts["next_renewal"] = pd.NaT
    accounts["in_view"] = accounts["in_view"].astype("boolean").fillna(False).astype(bool)
    accounts["frozen"] = frozen_by_renewal(accounts, day, options.freeze_days)
    accounts["kept"] = accounts["account_id"].isin(list(options.never_move))
    csms = with_loads(csms, accounts)
    teams = sorted(set(csms["team"].dropna()) | set(accounts["team_key"].dropna()))
    if options.team:
        teams = [t for t in teams if t == options.team]

    parts = []
    for team in teams:
        team_accounts = accounts[accounts["team_key"] == team]
        team_csms = csms[csms["team"] == team]
        problem, team_csms, candidates = build_team_problem(
            team, team_accounts, team_csms, params, options
        )
        parts.append((team, problem, team_csms, candidates, team_accounts))

    busy = sorted((p for p in parts if p[1].has_work), key=lambda p: len(p[1].acc_ids))
    budget = company_time_limit
    results: dict[str, TeamResult] = {}
    # The larger problems last: they get whatever time the small ones left.
    for i, (team, problem, *_) in enumerate(busy):
        limit = max(min(team_time_limit, budget / (len(busy) - i)), 0.1)
        results[team] = solve_team(problem, limit)
        budget -= results[team].run.seconds
    return _assemble(parts, results, accounts, params, options)


@dataclass(frozen=True)
class TeamResult:
    """One team solved both ways, and the plan kept (the solver's unless it did worse)."""

    assignment: np.ndarray
    chosen: str  # solver | greedy
    solver: Outcome | None
    greedy: Outcome
    run: SolverRun
    greedy_seconds: float
    overload_weight: float

    @property
    def shown(self) -> Outcome:
        return self.greedy if self.chosen == "greedy" or self.solver is None else self.solver


def solve_team(problem: TeamProblem, time_limit: float = TEAM_TIME_LIMIT) -> TeamResult:
    """The greedy baseline, then the solver (told how little the greedy plan left uncovered);
    the solver's plan is kept unless it scores worse (cut short by its time limit)."""
    start = time.perf_counter()
    greedy = solve_greedy(problem)
    greedy_out = evaluate(problem, greedy)
    greedy_seconds = time.perf_counter() - start
    solved, run = solve_milp(problem, time_limit, greedy_out)
    solver_out = evaluate(problem, solved) if solved is not None else None
    weight = problem.overload_weight
    if solver_out is None or greedy_out.better_than(solver_out, weight):
        return TeamResult(greedy, "greedy", solver_out, greedy_out, run, greedy_seconds, weight)
    return TeamResult(solved, "solver", solver_out, greedy_out, run, greedy_seconds, weight)


def _team_row(team: str, problem: TeamProblem, result: TeamResult) -> dict[str, Any]:
    return {
        "team": team,
        "donors": int(problem.is_donor.sum()),
        "open_accounts": int(problem.mandatory.sum()),
        "candidates": len(problem.acc_ids),
        "variables": result.run.variables,
        "status": result.run.status,
        "seconds": result.run.seconds,
        "greedy_seconds": result.greedy_seconds,
        "gap": result.run.gap,
        "least_uncovered": result.run.least_uncovered,
        "chosen": result.chosen,
        **_outcome_columns("solver", result.solver),
        **_outcome_columns("greedy", result.greedy),
    }


def _outcome_columns(prefix: str, outcome: Outcome | None) -> dict[str, Any]:
    if outcome is None:
        return {f"{prefix}_{k}": None for k in ("moves", "arr", "objective", "uncovered")}
    return {
        f"{prefix}_moves": outcome.moves,
        f"{prefix}_arr": outcome.moved_arr,
        f"{prefix}_objective": outcome.objective,
        f"{prefix}_uncovered": outcome.uncovered,
    }


def _assemble(parts, results, accounts, params, options) -> RebalancePlan:
    moves, csm_frames, stuck, unplaced = [], [], [], []
    shown, greedy = Outcome(), Outcome()
    held_back = 0
    for team, problem, team_csms, candidates, team_accounts in parts:
        assignment = (
            results[team].assignment if team in results else np.full(len(problem.acc_ids), -1)
        )
        after = loads_after(problem, assignment)
        moved = assignment >= 0
        moves_out = np.zeros(len(after), dtype=int)
        owners = problem.acc_owner[moved]
        np.add.at(moves_out, owners[owners >= 0], 1)
        moves_in = np.bincount(assignment[moved], minlength=len(after))
        frame = team_csms.assign(
            load_before=problem.load,
            load_after=after,
            moves_out=moves_out,
            moves_in=moves_in,
            donor=problem.is_donor,
        )
        cap = frame["capacity"].astype(float)
        frame["util_before"] = (frame["load_before"] / cap).where(cap > 0)
        frame["util_after"] = (frame["load_after"] / cap).where(cap > 0)
        frame["over_after"] = problem.is_donor & (after > problem.line + 1e-6)
        frame["affected"] = frame["donor"] | (moves_out > 0) | (moves_in > 0)
        csm_frames.append(frame)

        if moved.any():
            m = candidates[moved].copy()
            m["to_csm_id"] = problem.csm_ids[assignment[moved]]
            moves.append(m)
        donor_books = team_accounts[
            team_accounts["owner_csm_id"].isin(problem.csm_ids[problem.is_donor])
        ]
        held_back += int((donor_books["frozen"] | donor_books["kept"]).sum())
        stuck.append(_stuck(problem, frame, assignment, donor_books))
        unplaced.append(_unplaced(problem, candidates, assignment, team_accounts, options))
        if team in results:
            shown = shown + results[team].shown
            greedy = greedy + results[team].greedy

    orphans = accounts[
        accounts["team_key"].isna()
        & accounts["owner_state"].isin(OPEN_STATES)
        & accounts["in_view"].astype(bool)
    ]
    if options.open_books and not options.team and not orphans.empty:
        unplaced.append(_unplaced_rows(orphans, "no_team"))
    csms_out = (
        pd.concat(csm_frames, ignore_index=True)
        if csm_frames
        else pd.DataFrame(columns=CSM_COLUMNS)
    )
    names = dict(zip(csms_out.get("csm_id", []), csms_out.get("name", []), strict=False))
    if moves:
        moves_df = pd.concat(moves, ignore_index=True)
        moves_df["team"] = moves_df["team_key"]
        moves_df["from_name"] = moves_df["owner_name"]
        moves_df["from_csm_id"] = moves_df["owner_csm_id"]
        moves_df["from_state"] = moves_df["owner_state"]
        moves_df["to_name"] = moves_df["to_csm_id"].map(names)
        moves_df["reason"] = np.where(moves_df["mandatory"], "open_book", "overload")
        moves_df = moves_df.sort_values(["team", "arr"], ascending=[True, False])[MOVE_COLUMNS]
    else:
        moves_df = pd.DataFrame(columns=MOVE_COLUMNS)
    teams_df = (
        pd.DataFrame(
            [_team_row(t, problem, results[t]) for t, problem, *_ in parts if t in results],
            columns=TEAM_COLUMNS,
        ).sort_values("team")
        if results
        else pd.DataFrame(columns=TEAM_COLUMNS)
    )
    scope_open = accounts["owner_state"].isin(OPEN_STATES) & accounts["in_view"].astype(bool)
    if options.team:
        scope_open &= accounts["team_key"] == options.team
    return RebalancePlan(
        moves=moves_df.reset_index(drop=True),
        csms=csms_out[CSM_COLUMNS] if not csms_out.empty else csms_out,
        stuck=pd.concat(stuck, ignore_index=True) if stuck else _empty_stuck(),
        unplaced=pd.concat(unplaced, ignore_index=True) if unplaced else _empty_unplaced(),
        teams=teams_df.reset_index(drop=True),
        solver=shown,
        greedy=greedy,
        over_before=int(csms_out["donor"].sum()) if not csms_out.empty else 0,
        open_accounts=int(scope_open.sum()),
        held_back=held_back,
        over_line=params.overloaded_above,
        ceiling=min(params.target_utilisation, params.overloaded_above),
        options=options,
    )


def _empty_stuck() -> pd.DataFrame:
    return pd.DataFrame(columns=["csm_id", "name", "team", "util_before", "util_after", "reason"])


def _empty_unplaced() -> pd.DataFrame:
    return pd.DataFrame(
        columns=["account_id", "name", "team", "from_name", "arr", "points", "reason"]
    )


def _stuck(problem, frame, assignment, donor_books) -> pd.DataFrame:
    """The books still over, each with the reason that binds first: everything left is frozen,
    kept or outside the filters; the move cap; nobody with room serves what is left; the
    receivers' room ran out."""
    rows = []
    books = donor_books.assign(
        movable=~donor_books["frozen"] & ~donor_books["kept"] & donor_books["in_view"],
        moved=donor_books["account_id"].isin(problem.acc_ids[assignment >= 0]),
        eligible=donor_books["account_id"].isin(problem.acc_ids[_eligible_mask(problem)]),
    )
    for i in np.flatnonzero(frame["over_after"].to_numpy()):
        csm = frame.iloc[i]
        left = books[(books["owner_csm_id"] == csm["csm_id"]) & ~books["moved"]]
        movable = left[left["movable"]]
        if movable.empty:
            outside = left[~left["frozen"] & ~left["kept"]]
            reason = "outside" if len(outside) else "frozen"
        elif frame["moves_out"].iat[i] >= problem.max_moves:
            reason = "cap"
        elif not movable["eligible"].any():
            reason = "no_receiver"
        else:
            reason = "no_room"
        rows.append(
            {
                "csm_id": csm["csm_id"],
                "name": csm["name"],
                "team": csm["team"],
                "util_before": csm["util_before"],
                "util_after": csm["util_after"],
                "reason": reason,
            }
        )
    return pd.DataFrame(rows, columns=_empty_stuck().columns)


def _unplaced(problem, candidates, assignment, team_accounts, options) -> pd.DataFrame:
    """Open-book accounts left without an owner, with the reason."""
    if not options.open_books:
        return _empty_unplaced()
    open_accounts = team_accounts[
        team_accounts["owner_state"].isin(OPEN_STATES) & team_accounts["in_view"].astype(bool)
    ]
    if open_accounts.empty:
        return _empty_unplaced()
    left = open_accounts[~open_accounts["account_id"].isin(problem.acc_ids[assignment >= 0])]
    eligible = left["account_id"].isin(problem.acc_ids[_eligible_mask(problem)])
    reasons = np.where(left["kept"], "frozen", np.where(eligible, "no_room", "no_receiver"))
    return _unplaced_rows(left, reasons)


def _unplaced_rows(accounts: pd.DataFrame, reasons: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "account_id": accounts["account_id"],
            "name": accounts["name"],
            "team": accounts["team_key"],
            "from_name": accounts["owner_name"],
            "arr": accounts["arr"],
            "points": accounts["points"],
            "reason": reasons,
        }
    ).reset_index(drop=True)


def _eligible_mask(problem: TeamProblem) -> np.ndarray:
    """Per candidate account: some receiver could take it (before any move)."""
    has = np.array([len(r) > 0 for r in problem.class_receivers], dtype=bool)
    return has[problem.acc_class] if len(problem.acc_ids) else np.zeros(0, dtype=bool)
