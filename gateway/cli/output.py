"""Printing for the CLI: rich tables for people, JSON for scripts.

Identifiers (client ids, HCODEs, tariff codes, model versions) are what a user copies into
the next command, so a table never cuts one: identifier columns do not wrap and take the
width they need; the other columns wrap (fold) instead of ending in an ellipsis, and when the
terminal is too narrow even for that, the right-most other columns are left out (and named
under the table; `--json` always has everything).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

console = Console()
errors = Console(stderr=True)

ROWS_REFUSED_EXIT = 4
"""Exit code of an import (`member import`, `tariff import`…) that refused at least one row;
the valid rows are imported all the same. 1 is any other failure, 2 a usage error, 3 no
database found (see gateway/cli/database.py)."""


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """A table column; `identifier` columns are never cut or wrapped mid-value."""

    header: str
    identifier: bool = False

    @property
    def narrowest(self) -> int:
        """The least width a wrapping column is given before it is left out."""
        return max(len(self.header), NARROWEST_COLUMN)


NARROWEST_COLUMN = 8
COLUMN_OVERHEAD = 3
"""A column's border and padding in a rich table."""


def id_column(header: str) -> ColumnSpec:
    """A column of identifiers a user copies: shown whole."""
    return ColumnSpec(header, identifier=True)


def print_json(data: Any) -> None:
    """Machine-readable output on stdout, nothing else."""
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def build_table(
    title: str,
    columns: Sequence[str | ColumnSpec],
    rows: Sequence[Sequence[Any]],
    width: int | None = None,
) -> tuple[Table, list[str]]:
    """A rich table whose identifier columns keep their full width; and the columns left out."""
    specs = [c if isinstance(c, ColumnSpec) else ColumnSpec(c) for c in columns]
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [_needed(spec, [row[i] for row in cells]) for i, spec in enumerate(specs)]
    kept = _columns_that_fit(specs, widths, width or console.width)
    table = Table(title=title)
    for index in kept:
        spec = specs[index]
        if spec.identifier:
            table.add_column(spec.header, no_wrap=True, overflow="fold", min_width=widths[index])
        else:
            table.add_column(spec.header, overflow="fold")
    for row in cells:
        table.add_row(*[row[i] for i in kept])
    return table, [specs[i].header for i in range(len(specs)) if i not in kept]


def _needed(spec: ColumnSpec, values: Sequence[str]) -> int:
    longest = max((len(line) for v in values for line in v.splitlines()), default=0)
    if spec.identifier:
        return max(longest, len(spec.header))
    return min(max(longest, len(spec.header)), spec.narrowest)


def _columns_that_fit(specs: Sequence[ColumnSpec], widths: list[int], width: int) -> list[int]:
    """Every identifier column, then the other columns from the left while they fit."""
    kept = [i for i, spec in enumerate(specs) if spec.identifier]
    used = 1 + sum(widths[i] + COLUMN_OVERHEAD for i in kept)
    for index, spec in enumerate(specs):
        if spec.identifier:
            continue
        if used + widths[index] + COLUMN_OVERHEAD <= width:
            kept.append(index)
            used += widths[index] + COLUMN_OVERHEAD
    return sorted(kept)


def print_rows(
    title: str, columns: Sequence[str | ColumnSpec], rows: Sequence[Sequence[Any]]
) -> None:
    """A table for people; columns that do not fit the terminal are named below it."""
    table, left_out = build_table(title, columns, rows)
    console.print(table)
    if left_out:
        console.print(
            f"[dim]not shown at this width: {', '.join(left_out)} "
            "(widen the terminal, or use --json)[/dim]"
        )


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A table for people (plain columns); see `print_rows` for identifier columns."""
    print_rows(title, columns, rows)


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def fail(message: str, code: int = 1) -> NoReturn:
    """Say what went wrong on stderr and stop."""
    errors.print(f"[red]error:[/red] {escape(message)}", soft_wrap=True, highlight=False)
    raise typer.Exit(code)
