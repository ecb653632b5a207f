"""Fixtures for browser tests (`pytest -m browser`): Chromium, pages at phone and desktop size, screenshots.

Every page a test opens runs the page check (see `harness.PAGE_CHECK_SCRIPT`): no console errors,
every form control labelled, images with alt, `<html lang>`, no inline script or style. A test
fails at teardown when any visited page did not pass. (In a page opened with `javascript=False`
only the console part can run.) Expected console errors, such as the 403 of a refused form, are
declared with `page_check(page).allow_console_error(pattern)`.

The folder is skipped when Chromium is not installed, except under CI (`CI` set), where `.ci/run`
installs it and a missing browser fails the run.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.browser.harness import CHROMIUM, VIEWPORTS, PageCheck, Screenshots, launch_chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

HERE = Path(__file__).parent
HAVE_PLAYWRIGHT = importlib.util.find_spec("playwright") is not None
HAVE_CHROMIUM = CHROMIUM.exists()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mine = [item for item in items if HERE in item.path.parents]
    # Playwright comes with the test extra; Chromium is a Debian package that `.ci/run` installs. On a
    # developer machine without it the browser tests are skipped with the reason; under CI they must run.
    skip = not HAVE_CHROMIUM and not os.environ.get("CI")
    for item in mine:
        item.add_marker(pytest.mark.browser)
        if skip:
            item.add_marker(pytest.mark.skip(reason="browser tests need Chromium (apt-get install chromium) "
                                                     "and Playwright (pip install playwright)"))


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    missing = [what for what, have in (("the playwright package (pip install playwright)", HAVE_PLAYWRIGHT),
                                       (f"Chromium at {CHROMIUM} (apt-get install chromium)", HAVE_CHROMIUM)) if not have]
    if missing:
        pytest.fail("browser tests need " + " and ".join(missing))
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = launch_chromium(playwright)
    yield browser
    browser.close()


OpenPage = Callable[..., "Page"]


@pytest.fixture
def open_page(browser: Browser) -> Iterator[OpenPage]:
    """`open_page(size="desktop"|"phone", *, locale="en-GB", javascript=True, browser=None)`: a fresh
    browser context and page with the page check attached. Checks are asserted when the test ends."""
    opened: list[tuple[BrowserContext, Page, PageCheck]] = []

    def open_one(size: str = "desktop", *, locale: str = "en-GB", javascript: bool = True,
                 browser_: Browser | None = None, **options: Any) -> Page:
        context = (browser_ or browser).new_context(**VIEWPORTS[size], locale=locale, java_script_enabled=javascript,
                                                    **options)
        context.set_default_timeout(15_000)
        page = context.new_page()
        check = PageCheck()
        check.attach(page)
        page.eduwallet_size = size  # type: ignore[attr-defined]
        page.eduwallet_check = check  # type: ignore[attr-defined]
        opened.append((context, page, check))
        return page

    yield open_one
    failures: list[str] = []
    for context, page, check in opened:
        if not page.is_closed():
            page.wait_for_timeout(100)  # let the last page's check report arrive
        failures.extend(check.failures())
        context.close()
    if failures:
        pytest.fail("page check failed:\n" + "\n".join(failures), pytrace=False)


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request: pytest.FixtureRequest, open_page: OpenPage) -> Page:
    """A page at each size: tests that take `page` run once on a phone and once on a desktop screen."""
    return open_page(request.param)


@pytest.fixture
def screenshot(request: pytest.FixtureRequest) -> Screenshots:
    """`screenshot(page, "step")` saves a full-page PNG under test-artifacts/screenshots/<test>/."""
    return Screenshots(request.node.originalname)
