"""Constants every benchmark app uses, so that all frameworks send the same responses."""

from __future__ import annotations

from pathlib import Path

#: Routes registered before the scenario routes, so the router has something to skip.
DECOY_COUNT = 20

#: Signs the session cookie (Flask/phial ``secret_key``; itsdangerous for the others).
SECRET_KEY = "phial-benchmark-not-a-secret"

#: Name of the session cookie, Flask's default.
SESSION_COOKIE = "session"

#: Flask's default ``permanent_session_lifetime`` (31 days), used as the cookie's max age.
SESSION_MAX_AGE = 31 * 24 * 60 * 60

#: Folder holding ``items.html``; Flask and phial find it as ``templates/`` next to the app.
TEMPLATES_DIR = Path(__file__).with_name("templates")
TEMPLATE_NAME = "items.html"
TEMPLATE_TITLE = "Items & <things>"

#: Ten items, each with characters that autoescaping must turn into entities.
TEMPLATE_ITEMS = tuple(f'<item {i}> & "friend {i}"' for i in range(10))
