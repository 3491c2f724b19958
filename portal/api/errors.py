"""One error shape for the whole API: ``{"detail": "...", "errors": {field: [messages]}}``.

Django's own ValidationError (raised by services and model validation) becomes a 400, never a 500.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.views import exception_handler


def _as_errors(data) -> dict:
    if isinstance(data, dict):
        return {key: value if isinstance(value, list) else [value] for key, value in data.items()}
    if isinstance(data, list):
        return {"non_field_errors": data}
    return {}


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        payload = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(payload)
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"detail": "Invalid input.", "errors": _as_errors(data)}
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"detail": str(data["detail"]), "errors": {}}
    else:
        response.data = {"detail": str(data), "errors": {}}
    return response
