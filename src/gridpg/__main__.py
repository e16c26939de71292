"""`python -m gridpg`: the same as the `gridpg` command."""

import sys

from gridpg.cli.main import main

sys.exit(main())
