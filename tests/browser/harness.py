"""Browser test harness: Debian's Chromium driven by Playwright, the page check, screenshots, in-process servers.

Chromium comes from Debian's `chromium` package (never `playwright install`: browsers are not
downloaded here); `.ci/run` installs it and the `playwright` Python package.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from tests.servers import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, Playwright

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True},
}

#: Runs in every document the browser opens and reports, at `load`, what a person would trip over.
PAGE_CHECK_SCRIPT = r"""
(() => {
  if (window.top !== window) { return; }
  window.addEventListener("load", () => {
    if (document.contentType !== "text/html") { return; }
    const problems = [];
    const show = (el) => el.outerHTML.slice(0, 160);
    const byIds = (ids) => ids.split(/\s+/).map((id) => document.getElementById(id)).filter(Boolean)
      .map((el) => el.textContent.trim()).join(" ").trim();
    const ariaName = (el) => (el.getAttribute("aria-labelledby") && byIds(el.getAttribute("aria-labelledby")))
      || (el.getAttribute("aria-label") || "").trim();
    const lang = document.documentElement.getAttribute("lang");
    if (!lang || !lang.trim()) { problems.push("<html> has no lang"); }
    if (document.querySelectorAll("main").length !== 1) { problems.push("not exactly one <main> landmark"); }
    if (!document.title.trim()) { problems.push("the page has no <title>"); }
    for (const el of document.querySelectorAll("input, select, textarea")) {
      if (el.type === "hidden") { continue; }
      const labels = Array.from(el.labels || []).map((label) => label.textContent.trim()).join(" ").trim();
      if (!labels && !ariaName(el)) { problems.push("form control without a label: " + show(el)); }
    }
    for (const el of document.querySelectorAll("button, a[href]")) {
      const images = Array.from(el.querySelectorAll("img[alt]")).map((img) => img.alt.trim()).join("");
      if (!el.textContent.trim() && !ariaName(el) && !images) { problems.push("link or button without a name: " + show(el)); }
    }
    for (const img of document.images) {
      if (!img.hasAttribute("alt")) { problems.push("image without alt: " + show(img)); }
    }
    for (const script of document.querySelectorAll("script:not([src])")) { problems.push("inline script: " + show(script)); }
    for (const style of document.querySelectorAll("style, [style]")) { problems.push("inline style: " + show(style)); }
    const seen = new Set();
    for (const el of document.querySelectorAll("*")) {
      for (const attribute of el.attributes) {
        if (attribute.name.startsWith("on")) { problems.push("inline event handler: " + show(el)); }
      }
      if (el.id) {
        if (seen.has(el.id)) { problems.push("duplicate id: " + el.id); }
        seen.add(el.id);
      }
    }
    window.__eduwalletPageCheck({ url: location.href, problems: problems });
  });
})();
"""


def image_width(image: Locator) -> int:
    """The natural width of an `<img>` once it has loaded and decoded (0 read too early is not an answer);
    an image that cannot load makes this raise."""
    return int(image.evaluate("img => img.decode().then(() => img.naturalWidth)"))


def launch_chromium(playwright: Playwright, *extra_args: str) -> Browser:
    """Debian's Chromium, headless, never a downloaded browser build."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args])


@dataclass
class PageCheck:
    """What the page check found on one browser page: checked URLs, problems, console errors."""

    visited: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow_console_error(self, pattern: str) -> None:
        """Expect a console error matching `pattern` (for example the 403 of a refused form)."""
        self.allowed.append(re.compile(pattern))

    def attach(self, page: Page) -> None:
        page.expose_binding("__eduwalletPageCheck", self._report)
        page.add_init_script(PAGE_CHECK_SCRIPT)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(f"uncaught: {error}"))

    def failures(self) -> list[str]:
        unexpected = [e for e in self.console_errors if not any(p.search(e) for p in self.allowed)]
        return [*self.problems, *(f"console error: {e}" for e in unexpected)]

    def _report(self, _source: Any, result: dict[str, Any]) -> None:
        self.visited.append(result["url"])
        self.problems.extend(f"{result['url']}: {problem}" for problem in result["problems"])

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "") if message.location else ""
            self.console_errors.append(f"{message.text} ({where})")


def page_check(page: Page) -> PageCheck:
    """The page check record of a page from the `open_page`/`page` fixtures."""
    return page.eduwallet_check  # type: ignore[attr-defined,no-any-return]


class Screenshots:
    """Full-page PNGs under `test-artifacts/screenshots/<test>/NN-<step>-<size>.png`."""

    def __init__(self, test_name: str) -> None:
        self.folder = SCREENSHOTS / re.sub(r"[^A-Za-z0-9_.-]+", "-", test_name).strip("-")
        self.counts: dict[str, int] = {}

    def __call__(self, page: Page, step: str) -> Path:
        size = getattr(page, "eduwallet_size", "page")
        self.counts[size] = self.counts.get(size, 0) + 1
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{self.counts[size]:02d}-{re.sub(r'[^A-Za-z0-9_-]+', '-', step)}-{size}.png"
        # caret="initial": the default "hide" briefly puts inline styles on the page, which the page check refuses.
        page.screenshot(path=str(path), full_page=True, caret="initial")
        return path


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 in a thread; yields its `http://localhost:<port>` URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://localhost:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
