"""``python -m phial``: the ``phial`` command line."""

from .cli import main

main()
