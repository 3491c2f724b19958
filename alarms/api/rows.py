"""Read serializers that render plain rows (``values_list``) instead of model instances.

On a page of 500 alarms a ModelSerializer spends most of the request on machinery, not data: a model
instance per row and per related object, then ``get_attribute`` and ``to_representation`` for every field of
every row. A ``RowSerializer`` keeps the ModelSerializer *declaration* (``Meta.fields`` and declared fields,
which drf-spectacular describes in the schema) and compiles it once into a plan: the ``values_list`` lookup of
each field, and for the few fields whose database value is not already what DRF would render (datetimes,
floats, anything unusual), a converter. A row then becomes its item with one ``dict(zip())`` and a handful of
calls.

Exactness is the contract: each converter gives what the DRF field's ``to_representation`` gives for that
value, and anything the plan cannot map exactly is refused when the plan is compiled rather than rendered
differently (``alarms/tests/test_api_alarm_items.py`` compares both renderings field by field).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import ISO_8601, serializers
from rest_framework.generics import get_object_or_404
from rest_framework.relations import ManyRelatedField, PrimaryKeyRelatedField, SlugRelatedField
from rest_framework.response import Response
from rest_framework.settings import api_settings

ROW_PREFIX = "row_"  # annotations of ``Meta.row_expressions``: a field computed in SQL from several columns
DATETIME = "datetime"  # converter resolved per response: DRF renders in the time zone active at the time


@dataclass(frozen=True)
class RowPlan:
    names: tuple[str, ...]  # the item's keys, in the declaration's order
    lookups: tuple[str, ...]  # the ``values_list`` lookups, in the same order
    converters: tuple[tuple[str, Callable[[Any], Any] | str], ...]  # only the fields that need one


class RowSerializer(serializers.ModelSerializer):
    """A read-only ModelSerializer over rows of ``rows(queryset)``: tuples in the order of ``plan().lookups``.

    Model instances still render the ordinary ModelSerializer way.
    """

    @classmethod
    def plan(cls) -> RowPlan:
        return _compile(cls)

    @classmethod
    def rows(cls, queryset: QuerySet) -> QuerySet:
        """The queryset as the rows this serializer renders; filter, order and slice it as before."""
        expressions = getattr(cls.Meta, "row_expressions", {})
        if expressions:
            queryset = queryset.annotate(**{ROW_PREFIX + name: e for name, e in expressions.items()})
        return queryset.values_list(*cls.plan().lookups)

    @classmethod
    def many_init(cls, *args, **kwargs):
        kwargs["child"] = cls()
        return RowListSerializer(*args, **kwargs)

    def to_representation(self, instance):
        if isinstance(instance, models.Model):
            return super().to_representation(instance)
        return render_rows(self.plan(), (instance,))[0]


class RowListSerializer(serializers.ListSerializer):
    def to_representation(self, data):
        items = list(data.all() if isinstance(data, models.Manager) else data)
        if items and isinstance(items[0], models.Model):
            return super().to_representation(items)
        return render_rows(self.child.plan(), items)


class RowReadMixin:
    """For a viewset whose serializer is a ``RowSerializer``: list and retrieve render rows, so a page is
    one query for its rows whatever their number; writes still work on model instances.

    Reads check no object permissions (there is no instance to check): use it where reading needs none.
    """

    def row(self, **lookup) -> tuple:
        """One row of the (unfiltered) queryset, or 404."""
        return get_object_or_404(self.get_serializer_class().rows(self.get_queryset()), **lookup)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        rows = self.get_serializer_class().rows(queryset)
        page = self.paginate_queryset(CountedRows(queryset, rows))
        if page is None:
            return Response(self.get_serializer(rows, many=True).data)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        lookup = kwargs[self.lookup_url_kwarg or self.lookup_field]
        rows = self.get_serializer_class().rows(self.filter_queryset(self.get_queryset()))
        return Response(self.get_serializer(get_object_or_404(rows, **{self.lookup_field: lookup})).data)


@dataclass(frozen=True)
class CountedRows:
    """Rows as a paginator's object list, counted on their queryset: a count over the joins that only the
    rows' columns need would cost as much as fetching the page."""

    queryset: QuerySet
    rows: QuerySet

    @property
    def ordered(self) -> bool:
        return self.queryset.ordered

    def count(self) -> int:
        return self.queryset.count()

    def __getitem__(self, key):
        return self.rows[key]


def render_rows(plan: RowPlan, rows: Iterable[Sequence]) -> list[dict]:
    names = plan.names
    current = timezone.get_current_timezone()
    converters = [
        (name, _datetime_in(current) if convert == DATETIME else convert) for name, convert in plan.converters
    ]
    items = []
    for row in rows:
        item = dict(zip(names, row, strict=True))
        for name, convert in converters:
            value = item[name]
            # DRF renders None as None without asking the field.
            if value is not None:
                item[name] = convert(value)
        items.append(item)
    return items


def _datetime_in(zone) -> Callable[[Any], str]:
    # DRF's DateTimeField with the ISO 8601 format: in the active time zone, UTC spelled "Z".
    def convert(value) -> str:
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return convert


@cache
def _compile(serializer_class: type[RowSerializer]) -> RowPlan:
    model = serializer_class.Meta.model
    expressions = getattr(serializer_class.Meta, "row_expressions", {})
    names, lookups, converters = [], [], []
    for name, field in serializer_class().fields.items():
        if field.write_only:
            continue
        if name in expressions:  # its SQL gives what the field renders (the tests compare both)
            names.append(name)
            lookups.append(ROW_PREFIX + name)
            continue
        lookup, model_field = _lookup(model, serializer_class, name, field)
        names.append(name)
        lookups.append(lookup)
        convert = _converter(field, model_field)
        if convert is not None:
            converters.append((name, convert))
    return RowPlan(names=tuple(names), lookups=tuple(lookups), converters=tuple(converters))


def _lookup(model, serializer_class, name: str, field) -> tuple[str, models.Field]:
    """The ``values_list`` lookup of a field and the model field it ends on."""
    if isinstance(field, (ManyRelatedField, serializers.BaseSerializer, serializers.SerializerMethodField)):
        raise ImproperlyConfigured(f"{serializer_class.__name__}.{name}: {type(field).__name__} has no single column")
    if field.source == "*":
        raise ImproperlyConfigured(f"{serializer_class.__name__}.{name}: source='*' has no single column")
    attrs = list(field.source_attrs)
    if isinstance(field, SlugRelatedField):
        attrs.append(field.slug_field)
    elif isinstance(field, PrimaryKeyRelatedField):
        attrs.append("pk")
    current, path = model, []
    for position, attr in enumerate(attrs):
        try:
            model_field = current._meta.pk if attr == "pk" else current._meta.get_field(attr)
        except Exception as error:
            raise ImproperlyConfigured(f"{serializer_class.__name__}.{name}: {attr!r} is not a model field") from error
        path.append(model_field.name)
        if position < len(attrs) - 1:
            if not model_field.is_relation or model_field.many_to_many or model_field.one_to_many:
                raise ImproperlyConfigured(f"{serializer_class.__name__}.{name}: {attr!r} is not a to-one relation")
            # Through a null relation DRF drops a dotted source's key while a join gives null; related
            # fields (slug, pk) render null like the join.
            if model_field.null and not isinstance(field, (SlugRelatedField, PrimaryKeyRelatedField)):
                raise ImproperlyConfigured(f"{serializer_class.__name__}.{name}: {attr!r} can be null")
            current = model_field.related_model
    return "__".join(path), model_field


def _converter(field, model_field: models.Field) -> Callable[[Any], Any] | str | None:
    """None where the database's value is already what the DRF field renders; else how to convert it."""
    if isinstance(field, (SlugRelatedField, PrimaryKeyRelatedField)):
        return None  # both render the related column as it is
    if isinstance(field, serializers.CharField) and isinstance(model_field, (models.CharField, models.TextField)):
        return None  # str(value) of a str
    if (
        type(field) is serializers.ChoiceField
        and isinstance(model_field, (models.CharField, models.TextField))
        and all(isinstance(key, str) for key in field.choices)
    ):
        return None  # string choices map a value to itself
    if isinstance(field, serializers.IntegerField) and isinstance(model_field, models.IntegerField):
        return None
    if isinstance(field, serializers.BooleanField) and isinstance(model_field, models.BooleanField):
        return None
    if type(field) is serializers.JSONField and not field.binary and isinstance(model_field, models.JSONField):
        return None  # the decoded document
    if isinstance(field, serializers.FloatField):
        return float
    if (
        type(field) is serializers.DateTimeField
        and settings.USE_TZ
        and not hasattr(field, "timezone")
        and str(getattr(field, "format", api_settings.DATETIME_FORMAT)).lower() == ISO_8601
    ):
        return DATETIME
    return field.to_representation  # anything else: the field itself, exact by construction
