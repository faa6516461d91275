"""``python -m station``: the same command line as the ``station`` script."""
from .cli import main

main()
