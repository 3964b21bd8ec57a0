"""The web app's files: Jinja2 templates and static assets (served by api/web/), shipped as
package data so an installed wheel has them. `make vendor` runs web/vendor_js.py."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
