"""`python -m league.cli ...`: the `arena` command line."""

from league.cli import main

raise SystemExit(main())
