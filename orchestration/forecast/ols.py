"""Month-end projection by ordinary least squares on the current month's daily spend.

    spend_d = a + b * d  (+ day-of-week effects once the month has `DOW_MIN_POINTS` days)

fitted with scikit-learn on the complete days so far. The rest of the month is the sum of the
fitted line over the remaining days, today's remaining hours counted as that fraction of
today's fitted value. The 80 % prediction interval is for that sum: with weights w (1 per
remaining day, the fraction for today) and the remaining days' design rows X_f,

    var = s^2 * (w'w + w' X_f (X'X)^-1 X_f' w),   half-width = t(0.90, n - p) * sqrt(var)

where s^2 is the residual variance (n - p degrees of freedom). Fewer than `MIN_POINTS` complete
days: status `insufficient_data` and no number.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

MIN_POINTS = 7
DOW_MIN_POINTS = 21  # three of each weekday before day-of-week effects are estimated
LEVEL = 0.80


@dataclass(frozen=True)
class Projection:
    as_of: datetime
    month: date  # first day of the month
    actual_to_date: float
    projected_total: float | None
    lower: float | None
    upper: float | None
    status: str  # ok | insufficient_data
    method: str
    points: int


def _design(days: np.ndarray, month_start: date, with_dow: bool) -> np.ndarray:
    """Columns: day number, then Monday..Saturday dummies (Sunday is the base) when asked."""
    columns = [days.astype(float)]
    if with_dow:
        weekday = np.array([(month_start + timedelta(days=int(d) - 1)).weekday() for d in days])
        columns += [(weekday == k).astype(float) for k in range(6)]
    return np.column_stack(columns)


def project_month(
    daily: dict[date, float], as_of: datetime, spent_today: float = 0.0
) -> Projection:
    """Project the calendar month of `as_of` from its complete days' spend (`daily`).

    `daily` maps each complete day of the month before `as_of`'s date to its spend (missing days
    count as 0); `spent_today` is what the running day has cost so far.
    """
    month_start = as_of.date().replace(day=1)
    today = as_of.date()
    complete = [month_start + timedelta(days=k) for k in range((today - month_start).days)]
    y = np.array([float(daily.get(d, 0.0)) for d in complete])
    actual = float(y.sum()) + float(spent_today)
    n = len(y)
    if n < MIN_POINTS:
        return Projection(as_of, month_start, actual, None, None, None, "insufficient_data",
                          "ols_trend", n)  # fmt: skip
    with_dow = n >= DOW_MIN_POINTS
    method = "ols_trend_dow" if with_dow else "ols_trend"
    days = np.arange(1, n + 1)
    X = _design(days, month_start, with_dow)
    # Imported here: scikit-learn and SciPy take ~1 s to import, which every run's start would pay.
    from scipy import stats
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(X, y)
    p = X.shape[1] + 1  # + intercept
    residuals = y - model.predict(X)
    dof = n - p
    s2 = float(residuals @ residuals) / dof if dof > 0 else float("nan")

    last_day = calendar.monthrange(month_start.year, month_start.month)[1]
    future = np.arange(n + 1, last_day + 1)  # today is day n + 1
    seconds = as_of.hour * 3600 + as_of.minute * 60 + as_of.second
    weights = np.ones(len(future))
    if len(future):
        weights[0] = 1 - seconds / 86_400  # the rest of today
    Xf = _design(future, month_start, with_dow)
    rest = float(weights @ model.predict(Xf)) if len(future) else 0.0
    projected = actual + rest

    # Prediction interval of the weighted sum, with the intercept column made explicit.
    Xi = np.column_stack([np.ones(n), X])
    Xfi = np.column_stack([np.ones(len(future)), Xf])
    xtx_inv = np.linalg.pinv(Xi.T @ Xi)
    a = Xfi.T @ weights
    variance = s2 * (float(weights @ weights) + float(a @ xtx_inv @ a))
    half = float(stats.t.ppf(0.5 + LEVEL / 2, dof)) * np.sqrt(variance) if dof > 0 else float("nan")
    return Projection(
        as_of, month_start, actual, projected, projected - half, projected + half, "ok", method, n
    )


def backtest(daily: dict[date, float], checkpoints: tuple[int, ...] = (7, 14, 21)) -> dict:
    """Projections made at the end of day 7, 14 and 21 of each complete past month vs its total.

    Returns MAPE (%), the share of actual totals inside the 80 % interval, and the cases.
    """
    if not daily:
        return {"cases": 0, "mape_pct": None, "coverage": None, "details": []}
    first, last = min(daily), max(daily)
    months = sorted({d.replace(day=1) for d in daily})
    details = []
    for month in months:
        month_end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        if month < first or month_end > last:
            continue  # only months fully inside the data
        actual_total = sum(v for d, v in daily.items() if month <= d <= month_end)
        for k in checkpoints:
            as_of = datetime.combine(month + timedelta(days=k), datetime.min.time())
            seen = {d: v for d, v in daily.items() if month <= d < as_of.date()}
            projection = project_month(seen, as_of)
            if projection.status != "ok":
                continue
            details.append({
                "month": month.isoformat(), "day": k, "actual": actual_total,
                "projected": projection.projected_total, "lower": projection.lower,
                "upper": projection.upper,
                "inside": projection.lower <= actual_total <= projection.upper,
            })  # fmt: skip
    if not details:
        return {"cases": 0, "mape_pct": None, "coverage": None, "details": []}
    errors = [abs(c["projected"] - c["actual"]) / c["actual"] for c in details if c["actual"]]
    return {
        "cases": len(details),
        "mape_pct": 100 * float(np.mean(errors)) if errors else None,
        "coverage": float(np.mean([c["inside"] for c in details])),
        "details": details,
    }
