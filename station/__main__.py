"""``python -m station``: the same command line as the ``station`` script."""
from station.cli.main import main

main()
