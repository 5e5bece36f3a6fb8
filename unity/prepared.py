"""Prepared reads for the hot path: SQL text written once from the models' metadata, and rows
turned into model instances with the converters the ORM itself applies (JSON, and SQLite's
datetimes, UUIDs and booleans), so a request compiles no queryset.

The ORM spends more time compiling a select_related, annotated query (~0.5-0.8 ms) than
PostgreSQL spends running it (~0.1 ms). Used where a read runs on every annotate loop
(annotations.selectors, projects.selectors); everything else stays on the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

from django.db import connection
from django.db.models import Field, Model

Converter = Callable[[object, object, object], object]


@dataclass(frozen=True)
class Columns:
    """Some concrete fields of ``model`` read under the table alias ``alias``."""

    model: type[Model]
    alias: str
    fields: tuple[Field, ...]

    @property
    def sql(self) -> str:
        return ", ".join(f"{self.alias}.{connection.ops.quote_name(f.column)}" for f in self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def load(self, values: Sequence[object]) -> Model:
        """An instance from this many values of a row (the other fields deferred), converted as
        the ORM would convert them on this connection."""
        converted = []
        for raw, (col, converters) in zip(values, _converters(self, connection.vendor), strict=True):
            value = raw
            for convert in converters:
                value = convert(value, col, connection)
            converted.append(value)
        return self.model.from_db(connection.alias, [f.attname for f in self.fields], converted)


@cache
def columns(model: type[Model], alias: str, names: tuple[str, ...] | None = None) -> Columns:
    """``names`` (attnames), or every concrete field in the model's order."""
    fields = model._meta.concrete_fields
    if names is not None:
        by_name = {f.attname: f for f in fields}
        fields = [by_name[name] for name in names]
    return Columns(model, alias, tuple(fields))


@cache
def _converters(cols: Columns, vendor: str) -> tuple[tuple[object, tuple[Converter, ...]], ...]:
    out = []
    for f in cols.fields:
        col = f.get_col(cols.alias)
        out.append((col, (*connection.ops.get_db_converters(col), *f.get_db_converters(connection))))
    return tuple(out)


def split_row(row: Sequence[object], *parts: Columns) -> tuple[list[Model], Sequence[object]]:
    """Instances of each part, in order, from the start of ``row``; and the values left over."""
    instances, start = [], 0
    for part in parts:
        instances.append(part.load(row[start : start + len(part)]))
        start += len(part)
    return instances, row[start:]
