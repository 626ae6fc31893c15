"""What the command line writes to stderr for a person: log lines, with a warning repeated for many stories
printed a few times and then counted, not printed hundreds of times over.

Warnings are of one kind when they come from the same line of code (the same message template, e.g. "story %r
has no body"); past `SHOWN` of a kind the rest are counted, and `summarise` prints how many there were.
"""
from __future__ import annotations

import logging
from collections import Counter
from typing import TextIO

SHOWN = 3  # examples printed of each kind of warning
FORMAT = "%(levelname)s %(name)s: %(message)s"


class GroupedWarnings(logging.StreamHandler):
    """A stderr handler printing at most `shown` warnings of each kind, counting the rest."""

    def __init__(self, stream: TextIO, shown: int = SHOWN) -> None:
        super().__init__(stream)
        self.shown = shown
        self.counts: Counter[tuple[str, str]] = Counter()
        self.setFormatter(logging.Formatter(FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno == logging.WARNING:
            kind = (record.name, str(record.msg))
            self.counts[kind] += 1
            if self.counts[kind] > self.shown:
                return
        super().emit(record)

    def summarise(self) -> None:
        """One line for each kind of warning that was cut short: how many more there were."""
        for (name, template), count in self.counts.items():
            if count > self.shown:
                what = template.removeprefix("%s:%d: ").replace("%r", "…").replace("%s", "…").replace("%d", "…")
                self.stream.write(f"WARNING {name}: {count - self.shown:,} more like the {self.shown} above "
                                  f"({count:,} in all: {what})\n")
        self.counts.clear()
        self.flush()
