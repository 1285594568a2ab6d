"""``python -m provml``: the same as the ``provml`` command."""

from provml.cli import main

main()
