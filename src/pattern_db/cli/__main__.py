"""`python -m pattern_db.cli ...` runs the `pattern-db` command line."""

from pattern_db.cli._app import main

main()
