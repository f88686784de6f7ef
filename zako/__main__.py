"""``python -m zako``: the same command as ``zako``."""

import sys

from .cli import main

sys.exit(main())
