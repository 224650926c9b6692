"""``python -m smsstatus``: the same as the ``smsstatus`` command."""

import sys

from .cli import main

sys.exit(main())
