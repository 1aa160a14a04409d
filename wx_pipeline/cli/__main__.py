"""`python -m wx_pipeline.cli`: the `wx-pipeline` command."""

from wx_pipeline.cli import main

main()
