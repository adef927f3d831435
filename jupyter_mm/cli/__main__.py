"""``python -m jupyter_mm.cli`` (same as ``jupyter mm``)."""

import sys

from . import main

sys.exit(main())
