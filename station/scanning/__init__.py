"""Scanning, the database side: a line of text from any scanner becomes the right line on the right document.

``service`` runs one scan in the caller's transaction: it loads the
station's row (``station_row``), asks the pure scan core (station.scan_core)
what the scan is and what it means, carries the decision's actions out
(``actions``, on the scan's ``context``), and logs it (``scan_log``).
``sign_in`` says who is signed in at a station, ``views`` what a scan answers
and the station shows.
"""
