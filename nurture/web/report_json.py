"""Reports as JSON — the dataclasses of nurture/reports, every field (computed rates included),
as `nurture report … --format json` prints them — and the JSON Schema of each, derived from the
same dataclasses, for /api/openapi.json."""

from __future__ import annotations

import types
from dataclasses import asdict, fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Union, get_args, get_origin, get_type_hints


def report_document(name: str, report: Any, generated_at: datetime) -> dict[str, Any]:
    """{"report": name, "generated_at": …, every field of the report}; datetimes in ISO 8601,
    decimals (PostgreSQL's AVG answers NUMERIC) as numbers."""
    return {"report": name, "generated_at": generated_at.isoformat(),
            **_plain(asdict(report))}


def report_schema(name: str, report_class: type) -> dict[str, Any]:
    """The JSON Schema of `report_document(name, <a report_class>, …)`."""
    schema = dataclass_schema(report_class)
    return {**schema, "properties": {"report": {"type": "string", "enum": [name]},
                                     "generated_at": {"type": "string", "format": "date-time"},
                                     **schema["properties"]},
            "required": ["report", "generated_at", *schema["required"]]}


def dataclass_schema(cls: type) -> dict[str, Any]:
    hints = get_type_hints(cls)
    properties = {f.name: type_schema(hints[f.name]) for f in fields(cls)}
    schema: dict[str, Any] = {"type": "object", "title": cls.__name__, "properties": properties,
                              "required": list(properties)}
    if cls.__doc__ and not cls.__doc__.startswith(f"{cls.__name__}("):
        schema["description"] = cls.__doc__.strip()
    return schema


def type_schema(hint: Any) -> dict[str, Any]:
    """The schema of one field type: scalars, datetimes, optionals, lists and dataclasses."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        options = [type_schema(arg) for arg in get_args(hint) if arg is not type(None)]
        if type(None) in get_args(hint):
            options.append({"type": "null"})
        return options[0] if len(options) == 1 else {"anyOf": options}
    if origin in (list, tuple):
        args = [arg for arg in get_args(hint) if arg is not Ellipsis]
        return {"type": "array", "items": type_schema(args[0]) if args else {}}
    if origin is dict or hint is dict:
        return {"type": "object"}
    if isinstance(hint, type) and is_dataclass(hint):
        return dataclass_schema(hint)
    scalars: list[tuple[type, dict[str, Any]]] = [
        (bool, {"type": "boolean"}), (int, {"type": "integer"}), (float, {"type": "number"}),
        (str, {"type": "string"}), (datetime, {"type": "string", "format": "date-time"}),
        (date, {"type": "string", "format": "date"})]
    return next((schema for kind, schema in scalars if hint is kind), {})


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value
