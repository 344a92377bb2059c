"""`python -m reportqa`: the same command as the `reportqa` console script."""

from reportqa.cli import app

app(prog_name="reportqa")
