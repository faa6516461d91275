"""Live updates: what changed, told to the screens as it happens, and the web server that streams it.

- ``status``: the daemon's in-process live status under ``station run``
  (held scans, scanners, a change counter, the ordered path for web scans),
  and the ``Live`` interface the web app reads it through.
- ``changes``: the change feed, one thread per app that learns which
  stations changed (the live status, PostgreSQL ``LISTEN``, or polling on
  SQLite) and tells its listeners.
- ``streams``: the server-sent events, served from the event loop: a
  waiting screen costs a socket and a small coroutine.
- ``bridge``: the WSGI app (Flask) behind the event loop, in a thread pool;
  ``host``: the Host header check before anything runs.
- ``asgi``: the ASGI app tying them together; ``serve``: uvicorn on a
  thread of its own, listening where ``[web]`` says.

Nothing here imports the web app: it hands in itself, its body limit, its
environ key, how to read a station's state and its change feed's source
(web.app.asgi_app, web.db.change_feed).
"""
