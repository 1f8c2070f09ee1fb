"""The example blog in a real browser: forms, flashes, the admin Module, the live feed."""

from __future__ import annotations

import importlib.util
import os
import typing as t

import pytest

if t.TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


def _missing() -> str | None:
    """Why the browser tests cannot run here, or ``None`` when they can."""
    if not os.path.exists("/usr/bin/chromium"):
        return "/usr/bin/chromium is missing (apt-get install chromium, or run .ci/browser)"
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is missing (pip install playwright, or run .ci/browser)"
    return None


_SKIP_REASON = _missing()
if _SKIP_REASON is not None and os.environ.get("PHIAL_REQUIRE_BROWSER"):
    # CI installs the browser first: there a missing one is a failure, not a skip.
    raise RuntimeError(f"PHIAL_REQUIRE_BROWSER is set but {_SKIP_REASON}")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(_SKIP_REASON is not None, reason=_SKIP_REASON or ""),
]

#: How long an expectation may wait for the page (milliseconds).
TIMEOUT = 10_000


def _expect() -> t.Any:
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT)
    return expect


def _register(page: Page, base: str, username: str, password: str = "password1") -> None:
    page.goto(f"{base}/auth/register")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")


def _log_in(page: Page, base: str, username: str, password: str = "password1") -> None:
    page.goto(f"{base}/auth/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")


def test_register_log_in_write_edit_delete_log_out(browser: Browser, live_server: str) -> None:
    expect = _expect()
    context = browser.new_context()
    page = context.new_page()
    base = live_server

    page.goto(base)
    expect(page.locator("p.empty")).to_have_text("No posts yet.")
    expect(page).to_have_title("Posts · phial blog")

    # Validation errors, then a successful registration.
    page.click("text=Register")
    page.fill("#password", "short")
    page.click("main button[type=submit]")
    expect(page.locator(".flash.error")).to_have_text("Please correct the errors below.")
    expect(page.locator("#username-error")).to_have_text("Username is required.")
    expect(page.locator("#password-error")).to_contain_text("at least 8 characters")
    page.fill("#username", "ann")
    page.fill("#password", "password1")
    page.click("main button[type=submit]")
    expect(page).to_have_url(f"{base}/auth/login")
    expect(page.locator(".flash.success")).to_contain_text("Registration complete")

    # A wrong password, then the right one.
    _log_in(page, base, "ann", "wrong password")
    expect(page.locator(".flash.error")).to_have_text("Incorrect username or password.")
    _log_in(page, base, "ann")
    expect(page).to_have_url(f"{base}/")
    expect(page.locator(".flash.success")).to_have_text("Welcome back, ann!")
    expect(page.locator("nav .user")).to_have_text("ann")

    # Write a post: an empty title is refused, the body is kept.
    page.click("text=New post")
    page.fill("#body", "Written in a real browser.")
    page.click("main button[type=submit]")
    expect(page.locator("#title-error")).to_have_text("Title is required.")
    expect(page.locator("#body")).to_have_value("Written in a real browser.")
    page.fill("#title", "Hello <browser>")
    page.click("main button[type=submit]")
    expect(page.locator(".flash.success")).to_have_text("Your post is published.")
    expect(page.locator("article.post h2")).to_have_text("Hello <browser>")

    # Edit it.
    page.click("article.post a.action")
    expect(page.locator("#title")).to_have_value("Hello <browser>")
    page.fill("#title", "Edited")
    page.click("button:has-text('Save')")
    expect(page.locator(".flash.success")).to_have_text("Your post is updated.")
    expect(page.locator("article.post h2")).to_have_text("Edited")

    # The first user is the admin: the Module's pages list the post.
    page.click("nav >> text=Admin")
    expect(page.locator("main h1")).to_have_text("Admin: Users")
    page.click(".tabs >> text=Posts")
    expect(page.locator("table.admin tbody")).to_contain_text("Edited")

    # Delete it (the page asks for confirmation).
    page.goto(base)
    page.click("article.post a.action")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("button.danger")
    expect(page.locator(".flash.info")).to_have_text("Your post is deleted.")
    expect(page.locator("p.empty")).to_have_text("No posts yet.")

    # Log out.
    page.click("nav >> text=Log out")
    expect(page.locator(".flash.info")).to_have_text("You have been logged out.")
    expect(page.locator("nav >> text=Log in")).to_be_visible()
    context.close()


def test_admin_pages_are_forbidden_to_other_users(browser: Browser, live_server: str) -> None:
    expect = _expect()
    context = browser.new_context()
    page = context.new_page()
    _register(page, live_server, "ann")
    _register(page, live_server, "bob")
    _log_in(page, live_server, "bob")
    expect(page.locator("nav >> text=Admin")).to_have_count(0)
    response = page.goto(f"{live_server}/admin/users")
    assert response is not None
    assert response.status == 403
    expect(page.locator(".error-description")).to_have_text(
        "The admin pages are for administrators."
    )
    context.close()


def test_live_feed_shows_posts_from_another_browser(browser: Browser, live_server: str) -> None:
    expect = _expect()
    reader_context, writer_context = browser.new_context(), browser.new_context()
    reader, writer = reader_context.new_page(), writer_context.new_page()

    reader.goto(live_server)
    expect(reader.locator("#live-feed")).to_have_attribute("data-state", "open")

    _register(writer, live_server, "ann")
    _log_in(writer, live_server, "ann")
    for title in ("First live post", "Second <live> post"):
        writer.goto(f"{live_server}/create")
        writer.fill("#title", title)
        writer.fill("#body", "streamed")
        writer.click("main button[type=submit]")
        expect(writer.locator(".flash.success")).to_have_text("Your post is published.")

    items = reader.locator("#live-feed li.live-post")
    expect(items).to_have_text(["Second <live> post — by ann", "First live post — by ann"])

    # After the feed's response times out, the browser reconnects and resumes.
    reader.wait_for_timeout(2500)
    writer.goto(f"{live_server}/create")
    writer.fill("#title", "After a reconnect")
    writer.click("main button[type=submit]")
    expect(items.first).to_have_text("After a reconnect — by ann")
    expect(items).to_have_count(3)
    reader_context.close()
    writer_context.close()
