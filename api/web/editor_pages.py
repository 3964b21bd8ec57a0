"""The strategy editors and settings pages (prompts, programs, signals, settings), as one
entry for the app's router tuple in api/web/__init__.py."""

from __future__ import annotations

from api.web import programs_page, prompts_page, settings_page, signals_page

EDITOR_PAGES = (prompts_page, programs_page, signals_page, settings_page)
