"""`wavis usage`: a month's FCU by day as a bar chart, and by operation (GET /billing/usage
answers totals, `by_operation` {name: count, fcu, cost_usd} and `by_day`, the days that
had usage)."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timezone
from typing import Any

import click
from rich.table import Table
from rich.text import Text

from wavis_sdk.cli._app import json_option, pass_app
from wavis_sdk.cli._output import App

BAR_WIDTH = 40
_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar(value: float, largest: float, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of `value` against `largest`, in eighths of a character."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / largest * width * 8))
    return "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")


def month_days(period: str, today: date | None = None) -> list[str]:
    """Every day of the month YYYY-MM, up to today for the current month."""
    year, month = (int(part) for part in period.split("-"))
    last = calendar.monthrange(year, month)[1]
    today = today or datetime.now(timezone.utc).date()
    if (year, month) == (today.year, today.month):
        last = today.day
    return [date(year, month, day).isoformat() for day in range(1, last + 1)]


@click.command()
@click.option("--period", metavar="YYYY-MM", help="The month (UTC); default: this month.")
@json_option
@pass_app
def usage(app: App, period: str | None) -> None:
    """FCU and cost of a month: by day (a bar chart) and by operation."""
    with app.waiting("Fetching usage"):
        report = app.client().billing.usage(period)
    days = {row["date"]: row for row in report["by_day"]}
    try:
        dates = month_days(report["period"])
    except ValueError:
        dates = sorted(days)
    dates = sorted(set(dates) | set(days))

    def human() -> None:
        app.out.print(f"[bold]Usage {report['period']}[/]: {report['total_fcu']:,} FCU, "
                      f"${report['total_cost_usd']:,.4f} (¥{report['total_cost_jpy']:,.2f})")
        largest = max((float(row["fcu"]) for row in days.values()), default=0.0)
        chart = Table(title="FCU by day", show_edge=False, box=None, pad_edge=False)
        chart.add_column("day")
        chart.add_column("", min_width=BAR_WIDTH, no_wrap=True)
        chart.add_column("FCU", justify="right")
        chart.add_column("USD", justify="right")
        for day in dates:
            row = days.get(day, {"fcu": 0, "cost_usd": 0.0})
            chart.add_row(day[5:], Text(bar(float(row["fcu"]), largest), style="cyan"),
                          f"{row['fcu']:,}", f"{row['cost_usd']:.4f}")
        app.out.print(chart)
        operations: dict[str, Any] = report["by_operation"]
        if not operations:
            app.out.print("No operations this month.")
            return
        table = Table("operation", title="By operation")
        for heading in ("count", "FCU", "USD", "share"):
            table.add_column(heading, justify="right")
        total = max(1, int(report["total_fcu"]))
        for name, row in sorted(operations.items(), key=lambda item: -item[1]["fcu"]):
            table.add_row(name, f"{row['count']:,}", f"{row['fcu']:,}",
                          f"{row['cost_usd']:.4f}", f"{100 * row['fcu'] / total:.1f}%")
        app.out.print(table)

    app.emit(report, human)
