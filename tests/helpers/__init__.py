"""What the tests share besides fixtures: databases, the API's checks, a daemon and its devices.

Fixtures live in ``tests/conftest.py``; the classes and functions they and
the tests use live here, imported as ``from helpers.daemon import ...``
(``tests`` is on pytest's ``pythonpath``), so no test imports another test
module or a conftest.
"""
