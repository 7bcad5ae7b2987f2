"""``python -m nodes.cli``: the command line without the console script (the app starts
``make-demo-model`` this way, with its own interpreter)."""

from __future__ import annotations

import sys

from nodes.cli import main

sys.exit(main())
