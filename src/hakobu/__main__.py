"""`python -m hakobu` runs the CLI (the tests use it to run hakobu as a real process)."""

from hakobu.cli import main

main()
