"""Imports every subcommand module so that each registers itself on the ``station`` group."""
from . import records  # noqa: F401
from . import devices  # noqa: F401
from . import run  # noqa: F401
from . import token  # noqa: F401
from . import bench  # noqa: F401
