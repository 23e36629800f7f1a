"""``--field NAME=COLUMN`` options: how users map their columns onto a family's schema."""

from __future__ import annotations

import click


def parse_field_mapping(values: tuple[str, ...], allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, str]:
    """``("problem=question", ...)`` -> ``{"problem": "question"}``; names outside ``allowed`` and
    missing ``required`` names are usage errors that say what to write."""
    fields: dict[str, str] = {}
    for v in values:
        if "=" not in v:
            raise click.BadParameter(f"{v!r}: write NAME=COLUMN, e.g. problem=question", param_hint="--field")
        name, col = v.split("=", 1)
        if not col:
            raise click.BadParameter(f"{v!r}: the column after {name}= is empty", param_hint="--field")
        if name not in allowed:
            raise click.BadParameter(f"{name!r} is not one of {', '.join(allowed)}", param_hint="--field")
        fields[name] = col
    for need in required:
        if need not in fields:
            raise click.BadParameter(f"map the {need} column, e.g. --field {need}=COL", param_hint="--field")
    return fields
