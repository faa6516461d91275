"""Files in and out: CSV imports of products and purchase orders, the movement export, and the JSON of SPEC 5."""
