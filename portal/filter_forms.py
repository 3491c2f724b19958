"""What every HTML filter form shares (the API shares the FilterSets but never shows these labels)."""

from django import forms


def label_blank_choices(form: forms.Form, *, no_blank: frozenset[str] = frozenset()) -> forms.Form:
    """Say "Any" instead of "---------" and "Unknown"; fields in ``no_blank`` (whose blank would repeat one
    of their own choices) get no blank choice at all."""
    for name, field in form.fields.items():
        if isinstance(field.widget, forms.NullBooleanSelect):
            field.widget.choices = [("unknown", "Any"), ("true", "Yes"), ("false", "No")]
        elif hasattr(field, "empty_label"):  # model choices, and django-filter's choices
            field.empty_label = None if name in no_blank else "Any"
            # The form's copy of the widget still iterates the class-level field; point it at this one.
            field.widget.choices = field.choices
    return form
