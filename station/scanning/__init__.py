"""Scanning: a line of text from any scanner becomes the right line on the right document.

``reading`` turns raw bytes or text into a Reading (what the scan is),
``machine`` decides what a Reading means in the station's state (pure code,
no database, no devices), ``prompts`` words the answer, and ``service``
carries a decision out against the database in the caller's transaction.
"""
