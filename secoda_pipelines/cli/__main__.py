"""``python -m secoda_pipelines.cli``: the same command as the `secoda-pipelines` script."""

from secoda_pipelines.cli import main

main()
