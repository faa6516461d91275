"""The scan core: what a scan is and what it means, as pure code fed text and state and returning decisions.

``reading`` turns raw bytes or text into a Reading (what the scan is, in
SPEC 4's order of precedence), ``machine`` decides what a Reading means in
the station's State (its table is the machine), ``prompts`` words the answer
and the next prompt, and ``diagram`` draws the machine from its table. No
database, thread, web or device is imported here (an import-linter contract
says so): the database side, station.scanning, is the only caller.
"""
