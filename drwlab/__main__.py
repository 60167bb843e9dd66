"""``python -m drwlab ...``: the same as the ``drwlab`` command."""

from __future__ import annotations

import sys

from drwlab.cli import main

if __name__ == "__main__":
    sys.exit(main())
