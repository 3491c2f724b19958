"""The noise report in the API, for every signed-in user (token or session):

- ``GET /api/v1/reports/?team=<slug>&service=<slug>&weeks=<1-53>``: the whole report as JSON: the window
  (``since``, ``until``, ``time_zone``, ``weeks``), the filters, ``summary`` and ``tables``
  (each table a list of flat rows, named as on the page);
- ``GET /api/v1/reports/<table>.csv`` with the same parameters: one table as CSV, the page's own export.

Rates are fractions (0.4286) over the alerts that carry an outcome, durations are seconds; null where there is
nothing to divide or measure. An invalid parameter is a 400 in the API's one error shape."""

from __future__ import annotations

from django.http import HttpResponse
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from alarms.review.report import MAX_WEEKS, TABLES, report_csv, report_csv_name, report_from_params

PARAMETERS = [
    OpenApiParameter("team", str, description="A team's slug: its alarms only."),
    OpenApiParameter("service", str, description="A service's slug: its alarms only."),
    OpenApiParameter("weeks", int, description=f"Weeks shown, the current one included (1 to {MAX_WEEKS}; 12)."),
]


def _report(request):
    form, report = report_from_params(request.query_params)
    if report is None:
        raise ValidationError(
            {name: [error["message"] for error in errors] for name, errors in form.errors.get_json_data().items()}
        )
    return report


class ReportView(APIView):
    """The noise report: notifications per week by team and service (page tier apart), outcome rates, median
    time to first response, time in ALARM, the most-firing alarms, page budgets and the change since each
    team's first review."""

    @extend_schema(parameters=PARAMETERS, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(_report(request).as_json())


class ReportTableCsvView(APIView):
    """One table of the noise report as CSV: ``weekly``, ``teams``, ``services``, ``top-alarms``,
    ``alarm-time``, ``budget`` or ``since-first-review``."""

    @extend_schema(
        operation_id="v1_reports_table_csv",
        parameters=PARAMETERS,
        responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR)},
    )
    def get(self, request, table: str):
        if table not in TABLES:
            raise NotFound(f"No such table; the tables are {', '.join(TABLES)}.")
        report = _report(request)
        response = HttpResponse(report_csv(report, table), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{report_csv_name(report, table)}"'
        return response


urlpatterns = [
    path("reports/", ReportView.as_view(), name="api-report"),
    path("reports/<slug:table>.csv", ReportTableCsvView.as_view(), name="api-report-csv"),
]
