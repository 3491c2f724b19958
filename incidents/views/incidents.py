"""Incident pages."""

from django.http import HttpResponse


def incident_list(request):
    return HttpResponse("incidents")


def incident_detail(request, pk: int):
    return HttpResponse("incident")
