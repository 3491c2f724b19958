"""The inbox: the alerts of my teams that nobody labelled yet."""

from django.http import HttpResponse


def inbox(request):
    return HttpResponse("inbox")
