"""Rollups of `ai_cost_tracking`: how they are folded, pruned, and read back exactly.

The tables (`salesctl.db.models.analytics`) hold additive sums (calls, priced, unpriced and
estimated calls, cost, its estimated part and savings as exact integer 1e-10 USD units, tokens,
latency sum and count):
  per UTC hour and per UTC day x agent x mode x provider x model x status x cache hit,
  per UTC hour (totals only: the time series in any time zone),
  per lead x hour x agent x provider x model, and per lead x day (top leads),
  per user x session x agent x hour (the per-rep view).
Nothing touches them on the write path; `fold()` adds detail rows just before a report.

Which rows are folded: every id <= the watermark (`ai_cost_rollup_state.folded_through_id`)
except the ids in `ai_cost_rollup_gaps`. Ids come from a sequence, and under concurrency they
commit out of order: when a fold sees ids 7 and 9 but not 8, 8 may belong to a transaction
still in flight. So a fold moves the watermark to the highest id it saw and records 8 as a
gap; every later fold looks the gaps up again, folds the rows that have appeared and splits the
ranges around them. A gap is dropped only once no transaction that could own it can still be
running: a fold at least `GAP_SETTLE` after the gap was seen stamps it with the snapshot's
xmax, and a later fold whose snapshot xmin has passed that stamp drops it (rolled back, or an
`ON CONFLICT DO NOTHING` duplicate). On SQLite writers are serialised, so a fold (which holds
the write lock) never sees an id that could still commit: there are no gaps to keep. Each
PostgreSQL fold pass runs in one REPEATABLE READ snapshot under an advisory lock, so every
table sees the same rows and concurrent folds never double count.

Reads are exact whatever the fold state: a report sums, in one SQL statement (one snapshot),
  day rollup rows for the whole UTC days inside its window (when its bucket cuts allow),
  hour rollup rows for the other whole hours,
  the detail rows above the watermark or in a gap (not folded yet), and
  the folded detail rows of the "ragged" hours its window or its day cuts split.
Folding first only makes that statement cheaper. Filters the rollups cannot answer (session,
user, or lead with agent/model breakdowns) read the detail table alone.

`prune()` deletes folded detail rows older than a cutoff (rounded down to the hour); the
rollups keep their sums, and cut points before the cutoff are rounded down to the hour. A lead
deleted from `leads` takes its lead rollup rows with it (a trigger, see the migration), as
`ON DELETE SET NULL` takes its lead_id off the detail rows. The rollups assume tracking rows are
not edited after they are written (only quality feedback is, which they do not hold).

The package, one module per job:
  sums      the additive facts (`Sums`) and the metric names
  tables    the rollup tables, which one serves a query, detail rows in rollup units (SQL)
  fold      the write path: folding detail rows in exactly once (watermark, gaps, locks)
  prune     deleting folded detail rows
  planner   the fold state and how a report window splits into days, hours, ragged hours
  query     the one statement a report reads: rollup rows + unfolded + ragged detail rows
"""

from salesctl.reports.rollups.fold import (
    ANALYZE_AFTER,
    FOLD_CHUNK,
    FOLD_LOCK_KEY,
    GAP_SETTLE,
    ID_BATCH,
    FoldResult,
    fold,
    fold_statement,
    fold_statements,
    lead_totals_fold_statement,
)
from salesctl.reports.rollups.planner import (
    FoldState,
    WindowPlan,
    bucket_index,
    floor_hour,
    plan_window,
    read_state,
)
from salesctl.reports.rollups.prune import (
    PRUNE_BATCH,
    PruneResult,
    prune,
)
from salesctl.reports.rollups.query import (
    Source,
    Unindexed,
    aggregate,
    filter_conditions,
    in_window,
    outer_sums,
    union_query,
)
from salesctl.reports.rollups.sums import (
    ALL_METRICS,
    COUNT_METRICS,
    MONEY_METRICS,
    Metric,
    Sums,
    total,
)
from salesctl.reports.rollups.tables import (
    AGENT_DIMS,
    DAILY,
    FACETS,
    FILTER_COLUMNS,
    HOURLY,
    HOURLY_TOTALS,
    LEAD_DAILY,
    LEAD_HOURLY,
    LEAD_TOTALS,
    NULLABLE_DIMS,
    ROLLUPS,
    SESSION_HOURLY,
    STATE_NAME,
    Grain,
    Rollup,
    Scope,
    can_serve,
    day_of,
    detail_metric,
    hour_of,
    money_units,
    pick_rollup,
    scope_condition,
    time_of,
)

# The names the other report modules imported while this was one module.
_filter_conditions = filter_conditions
_in_window = in_window
_Unindexed = Unindexed

__all__ = [
    "AGENT_DIMS",
    "ALL_METRICS",
    "ANALYZE_AFTER",
    "COUNT_METRICS",
    "DAILY",
    "FACETS",
    "FILTER_COLUMNS",
    "FOLD_CHUNK",
    "FOLD_LOCK_KEY",
    "GAP_SETTLE",
    "HOURLY",
    "HOURLY_TOTALS",
    "ID_BATCH",
    "LEAD_DAILY",
    "LEAD_HOURLY",
    "LEAD_TOTALS",
    "MONEY_METRICS",
    "NULLABLE_DIMS",
    "PRUNE_BATCH",
    "ROLLUPS",
    "SESSION_HOURLY",
    "STATE_NAME",
    "FoldResult",
    "FoldState",
    "Grain",
    "Metric",
    "PruneResult",
    "Rollup",
    "Scope",
    "Source",
    "Sums",
    "Unindexed",
    "WindowPlan",
    "aggregate",
    "bucket_index",
    "can_serve",
    "day_of",
    "detail_metric",
    "filter_conditions",
    "floor_hour",
    "fold",
    "fold_statement",
    "fold_statements",
    "hour_of",
    "in_window",
    "lead_totals_fold_statement",
    "money_units",
    "outer_sums",
    "pick_rollup",
    "plan_window",
    "prune",
    "read_state",
    "scope_condition",
    "time_of",
    "total",
    "union_query",
]
