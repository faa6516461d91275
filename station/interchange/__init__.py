"""Records in and out: the JSON of SPEC 5, CSV imports, movement export, labels and demo data."""
