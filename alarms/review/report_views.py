"""The noise report page (``/reports/?team=&service=&weeks=``) and each of its tables as CSV
(``/reports/<table>.csv`` with the same parameters). Every signed-in user reads it: it is an overview."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from alarms.review.report import ALARM_TIME_ROWS, TABLES, TRACE_ALARMS, report_csv, report_csv_name, report_from_params
from alarms.review.report_svg import weekly_bars

OVER_BUDGET_ROWS = 20


@require_GET
def report_page(request):
    form, report = report_from_params(request.GET)
    context = {
        "form": form,
        "report": report,
        "query": request.GET.urlencode(),
        "alarm_time_rows": ALARM_TIME_ROWS,
        "trace_alarms": TRACE_ALARMS,
    }
    if report is None:
        return render(request, "review/report.html", context, status=400)
    # The latest over-budget weeks first; the CSV holds every one.
    over = sorted(
        (row for row in report.tables["budget"] if row["over_budget"]), key=lambda row: row["week"], reverse=True
    )
    budget_label = "page budget" if report.team else "page budget of the teams shown"
    context.update(
        rows={name.replace("-", "_"): rows for name, rows in report.tables.items()},
        trace_more=-TRACE_ALARMS,
        chart=weekly_bars(report.weekly_totals, budget=report.budget_total, budget_label=budget_label),
        over_budget=over[:OVER_BUDGET_ROWS],
        over_budget_total=len(over),
        budget_grid=_budget_grid(report.tables["budget"]),
    )
    return render(request, "review/report.html", context)


@require_GET
def report_table_csv(request, table: str):
    if table not in TABLES:
        raise Http404("No such table.")
    form, report = report_from_params(request.GET)
    if report is None:
        errors = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in form.errors.items())
        return HttpResponse(f"Invalid filters: {errors}\n", status=400, content_type="text/plain; charset=utf-8")
    response = HttpResponse(report_csv(report, table), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{report_csv_name(report, table)}"'
    return response


def _budget_grid(rows: list[dict]) -> list[dict]:
    """The budget rows as one line per team with its weeks in order."""
    teams: dict[str, dict] = {}
    for row in rows:
        team = teams.setdefault(
            row["team"],
            {"team": row["team"], "team_name": row["team_name"], "budget": row["budget"], "weeks": [], "over": 0},
        )
        team["weeks"].append(row)
        team["over"] += row["over_budget"]
    return list(teams.values())
