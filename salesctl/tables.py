"""Tables that fit the terminal: columns are chosen by width, never squeezed into slivers.

A column is shown whole or not at all, as `gh`, `kubectl` and `docker` do: when the terminal
is too narrow for every column, the least important go first (`keep` orders them), prose
columns wrap between words and name columns end in "…", but no word, id or amount is ever
broken across lines. `wide=True` (the commands' `--wide`) shows every column at full width.
A cell may hold several lines (a router agent's model mix); its width is its longest line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

GUTTER = 3
"""Characters between two columns: a space each side of an (invisible) separator."""
NAME_WIDTH = 24
"""A name column cut short gets this much room before prose columns are widened."""
LONGEST_WORD = 30
"""A prose column is never made narrower than its longest word, up to this; longer words
(URLs, paths) are folded."""


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    right: bool = False
    keep: int = 0
    """Importance: when not every column fits, the lowest `keep` goes first (then the
    rightmost of equals)."""
    wrap: bool = False
    """Prose: may wrap between words."""
    squeeze: int = 0
    """A name that may be cut short with "…", down to this many characters (0: never)."""


def _width(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.split("\n")), default=0)


def _longest_word(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(word) for word in re.split(r"\s+", text) if word), default=0)


@dataclass(frozen=True, slots=True)
class Layout:
    widths: dict[int, int]
    """Width of each shown column, by index."""
    hidden: tuple[str, ...]
    """Headers of the columns left out."""


class FitTable:
    """A Rich renderable table laid out for the width it is given."""

    def __init__(
        self,
        columns: Sequence[Column],
        rows: Sequence[Sequence[Any]],
        *,
        title: str | None = None,
        wide: bool = False,
        footer: Sequence[Any] | None = None,
        more: str | None = None,
    ) -> None:
        self.columns = list(columns)
        self.rows = [[_cell(value) for value in row] for row in rows]
        self.footer = [_cell(value) for value in footer] if footer is not None else None
        self.title = title
        self.wide = wide
        self.more = more
        """The flag that shows every column (`--wide`), named under a table that left some
        out, so the reader knows they exist."""

    def _all_rows(self) -> list[list[str]]:
        return [*self.rows, *([self.footer] if self.footer is not None else [])]

    def natural_width(self) -> int:
        """The width with every column at full width."""
        layout = self.layout(None)
        return sum(layout.widths.values()) + GUTTER * (len(layout.widths) - 1)

    def layout(self, max_width: int | None) -> Layout:
        """Which columns to show, and how wide, in `max_width` characters (None: no limit)."""
        rows = self._all_rows()
        natural: dict[int, int] = {}
        least: dict[int, int] = {}
        for index, column in enumerate(self.columns):
            cells = [row[index] for row in rows]
            full = max([_width(column.header), *(_width(cell) for cell in cells)])
            natural[index] = full
            if column.wrap:
                words = max((_longest_word(cell) for cell in cells), default=0)
                least[index] = max(_width(column.header), min(words, LONGEST_WORD))
            elif column.squeeze:
                least[index] = min(full, max(_width(column.header), column.squeeze))
            else:
                least[index] = full
        shown = list(range(len(self.columns)))
        if max_width is None or self.wide:
            return Layout({i: natural[i] for i in shown}, ())

        def needed(indexes: list[int], sizes: dict[int, int]) -> int:
            return sum(sizes[i] for i in indexes) + GUTTER * max(len(indexes) - 1, 0)

        drop_order = sorted(shown, key=lambda i: (self.columns[i].keep, -i))
        hidden: list[int] = []
        while len(shown) > 1 and needed(shown, least) > max_width:
            victim = next(i for i in drop_order if i in shown)
            shown.remove(victim)
            hidden.append(victim)
        widths = {i: least[i] for i in shown}
        spare = max_width - needed(shown, widths)
        by_keep = sorted(shown, key=lambda i: -self.columns[i].keep)
        prose = [i for i in by_keep if self.columns[i].wrap]

        def grow(i: int, target: int) -> None:
            nonlocal spare
            step = min(spare, max(target - widths[i], 0))
            widths[i] += step
            spare -= step

        # Names first, up to a readable length; then prose, evenly (fewer lines); then the
        # names in full.
        for i in by_keep:
            if i not in prose:
                grow(i, min(natural[i], max(least[i], NAME_WIDTH)))
        while spare and any(widths[i] < natural[i] for i in prose):
            for i in prose:
                grow(i, min(natural[i], widths[i] + 1))
        for i in by_keep:
            grow(i, natural[i])
        return Layout(widths, tuple(self.columns[i].header for i in sorted(hidden)))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich import box
        from rich.table import Table
        from rich.text import Text

        layout = self.layout(options.max_width)
        table = Table(
            title=self.title,
            title_justify="left",
            title_style="bold",
            header_style="bold",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            show_footer=False,
        )
        for index, width in layout.widths.items():
            column = self.columns[index]
            table.add_column(
                column.header,
                justify="right" if column.right else "left",
                width=width,
                no_wrap=not column.wrap,
                overflow="fold" if column.wrap else "ellipsis",
            )
        for row in self.rows:
            table.add_row(*(Text(row[i]) for i in layout.widths))
        if self.footer is not None:
            table.add_section()
            table.add_row(*(Text(self.footer[i]) for i in layout.widths), style="bold")
        if self.wide:
            options = options.update(width=max(options.max_width, self.natural_width()))
        yield from console.render(table, options)
        if layout.hidden and self.more:
            left_out = ", ".join(layout.hidden)
            yield Text(f"({left_out}: left out at this width; {self.more} shows them)", style="dim")


def _cell(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)
