"""The API as a contract: its OpenAPI 3.1 document (``GET /api/openapi.json``) and a page that renders it
(``/api/docs``), SPEC 5.

- codes: every error and refusal code, by status (the enums)
- text: the patterns of text fields, from the server's own rules
- records: what the API answers with; bodies: what it takes
- routes: the paths; document: all of it, once per app
- blueprint: the two routes, and the renderer's files (Swagger UI, from the swagger-ui-bundle-v2 package)
"""
from __future__ import annotations

from .blueprint import bp
from .document import document

__all__ = ["bp", "document"]
