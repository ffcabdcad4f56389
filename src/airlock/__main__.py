"""``python -m airlock``: the command line."""

from airlock.cli import main

raise SystemExit(main())
