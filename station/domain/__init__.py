"""The domain: records, their rules and the functions that change them (SPEC 2 and 3).

Every function takes the caller's SQLAlchemy session and never commits or
opens a savepoint of its own: the caller decides the transaction. Nothing
here knows of scanners, threads, HTTP or the command line.
"""
