"""Month-end projection against OLS computed by hand, the 7-point rule, and the backtest."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from orchestration.forecast.ols import MIN_POINTS, backtest, project_month

SERIES = [12.0, 13.5, 11.0, 15.0, 16.5, 14.0, 18.0, 17.5, 19.0, 21.0]  # October 1..10


def hand_projection(
    y: list[float], as_of: datetime, spent_today: float
) -> tuple[float, float, float]:
    """OLS y = a + b*d by the normal equations, then the weighted sum over the rest of the month."""
    n = len(y)
    X = np.column_stack([np.ones(n), np.arange(1, n + 1)])
    beta = np.linalg.solve(X.T @ X, X.T @ np.array(y))
    residuals = np.array(y) - X @ beta
    s2 = residuals @ residuals / (n - 2)
    days_in_month = calendar.monthrange(as_of.year, as_of.month)[1]
    future = np.arange(n + 1, days_in_month + 1)
    w = np.ones(len(future))
    w[0] = 1 - (as_of.hour * 3600 + as_of.minute * 60) / 86400
    Xf = np.column_stack([np.ones(len(future)), future])
    rest = w @ (Xf @ beta)
    a = Xf.T @ w
    var = s2 * (w @ w + a @ np.linalg.inv(X.T @ X) @ a)
    half = stats.t.ppf(0.9, n - 2) * np.sqrt(var)
    total = sum(y) + spent_today + rest
    return total, total - half, total + half


def test_projection_and_interval_equal_a_hand_computed_ols():
    as_of = datetime(2026, 10, 11, 8, 30)
    daily = {date(2026, 10, 1) + timedelta(days=k): v for k, v in enumerate(SERIES)}
    p = project_month(daily, as_of, spent_today=4.25)
    total, lower, upper = hand_projection(SERIES, as_of, 4.25)
    assert p.status == "ok" and p.method == "ols_trend" and p.points == 10
    assert p.actual_to_date == pytest.approx(sum(SERIES) + 4.25, abs=1e-9)
    assert p.projected_total == pytest.approx(total, abs=1e-6)
    assert p.lower == pytest.approx(lower, abs=1e-6)
    assert p.upper == pytest.approx(upper, abs=1e-6)
    assert p.lower < p.projected_total < p.upper


def test_fewer_than_seven_complete_days_give_no_number():
    as_of = datetime(2026, 10, MIN_POINTS, 12)  # days 1..6 complete
    daily = {date(2026, 10, 1) + timedelta(days=k): 10.0 for k in range(MIN_POINTS - 1)}
    p = project_month(daily, as_of, spent_today=3.0)
    assert p.status == "insufficient_data"
    assert (p.projected_total, p.lower, p.upper) == (None, None, None)
    assert p.actual_to_date == 63.0
    assert project_month({}, datetime(2026, 10, 8), 0).status == "ok"  # 7 days of zero spend


def test_day_of_week_effects_once_three_weeks_are_known():
    start = date(2026, 10, 1)
    weekly = {start + timedelta(days=k): 100.0 if (start + timedelta(days=k)).weekday() < 5 else 20.0
              for k in range(22)}  # fmt: skip
    p = project_month(weekly, datetime(2026, 10, 23))
    assert p.method == "ols_trend_dow"
    # 9 days left: Oct 23 (Fri) .. Oct 31 (Sat): 6 weekdays, 3 weekend days, exactly known.
    expected_rest = 6 * 100 + 3 * 20
    assert p.projected_total == pytest.approx(sum(weekly.values()) + expected_rest, abs=1e-6)


def test_backtest_reports_mape_and_coverage_over_complete_months():
    rng = np.random.default_rng(5)
    start = date(2026, 7, 1)
    daily = {start + timedelta(days=k): 50 + 0.2 * k + rng.normal(0, 3) for k in range(123)}
    result = backtest(daily)
    assert result["cases"] == 4 * 3  # July .. October (123 days) x days 7, 14, 21
    assert 0 <= result["coverage"] <= 1
    assert 0 < result["mape_pct"] < 15
    case = result["details"][0]
    assert case["month"] == "2026-07-01" and case["day"] == 7
    assert case["actual"] == pytest.approx(
        sum(v for d, v in daily.items() if d.month == 7), abs=1e-9
    )
