"""The page of `imgperc serve` in a real browser: Debian's chromium driven by Selenium.

One flow, as a person would: choose a photo, pick a style in the gallery, move the strength
slider (a quick preview follows), make the full-size result, download it and check its size,
pixels, EXIF and ICC; then choose a text file renamed .jpg and read the error shown.
``IMGPERC_SCREENSHOTS=docs/images`` also saves the screenshots docs/serve.md shows.
"""

from __future__ import annotations

import io
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageCms

from conftest import DATA_DIR
from imgperc.cli.main import cli as cli_main
from serve_process import ServeProcess

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
if not (CHROMIUM and DRIVER):  # a system package, not a pip one: the issue asks for a one-line skip without it
    pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; .ci/run installs them)",
                allow_module_level=True)

STYLE = "wave-fast"
WAIT = 60  # seconds for a step (the first request loads torch and the net)
SHOT_QUALITY = 80  # JPEG quality of the docs' screenshots (each well under 150 KB)


def photo(path: Path) -> Path:
    """A small JPEG with EXIF and an sRGB profile: chicago.jpg from ../shared when there, else a drawing."""
    from imgperc_serve.catalogue import scene

    source = DATA_DIR / "content" / "chicago.jpg"
    picture = Image.open(source).convert("RGB").resize((384, 256)) if source.is_file() else scene(256).resize((384, 256))
    exif = Image.Exif()
    exif[0x010F] = "imgperc test camera"  # Make
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    picture.save(path, "JPEG", quality=95, exif=exif, icc_profile=icc)
    return path


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1180,900"):
        options.add_argument(argument)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False})
    driver = webdriver.Chrome(options=options, service=Service(DRIVER))
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
    yield driver
    driver.quit()


def screenshot(driver, name: str) -> None:
    """Save the page as docs/images/serve-NAME.jpg when IMGPERC_SCREENSHOTS names the folder."""
    folder = os.environ.get("IMGPERC_SCREENSHOTS")
    if folder:
        driver.execute_script("window.scrollTo(0, 0)")
        Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB").save(
            Path(folder) / f"serve-{name}.jpg", "JPEG", quality=SHOT_QUALITY, optimize=True)


def text_of(driver, element_id: str) -> str:
    return driver.find_element(By.ID, element_id).text


def test_page_stylizes_downloads_and_shows_errors(browser, tmp_path):
    image = photo(tmp_path / "photo.jpg")
    notes = tmp_path / "notes.jpg"
    notes.write_text("shopping list: eggs, milk\n")
    wait = WebDriverWait(browser, WAIT)
    with ServeProcess() as server:
        browser.get(server.url + "/")
        thumbnail = f'#gallery button[data-style="{STYLE}"] img'
        wait.until(lambda d: d.execute_script(f"const i = document.querySelector('{thumbnail}'); return i && i.complete && i.naturalWidth > 0"))

        browser.find_element(By.ID, "files").send_keys(str(image))
        browser.find_element(By.CSS_SELECTOR, f'#gallery button[data-style="{STYLE}"]').click()
        slider = browser.find_element(By.ID, "strength")
        slider.click()  # the middle of the track
        slider.send_keys(Keys.END, *[Keys.LEFT] * 10)  # 1.0 less ten steps of 0.05
        assert text_of(browser, "strength-value") == "0.50"
        wait.until(lambda d: "Preview ready" in text_of(d, "status"))
        all_loaded = "return [...document.querySelectorAll('#gallery img')].every(i => i.complete && i.naturalWidth > 0)"
        wait.until(lambda d: d.execute_script(all_loaded))
        screenshot(browser, "gallery")

        browser.find_element(By.ID, "run").click()
        wait.until(lambda d: "Done:" in text_of(d, "status"))
        split = browser.find_element(By.ID, "split")
        split.send_keys(*[Keys.LEFT] * 15)  # the after side widens to 65%
        screenshot(browser, "before-after")
        browser.find_element(By.ID, "download").click()
        result = browser.downloads / f"photo.{STYLE}.jpg"
        wait.until(lambda _: result.is_file() and result.stat().st_size > 0)
        time.sleep(0.2)  # the browser renames the partial file when done

        browser.find_element(By.ID, "files").send_keys(str(notes))
        wait.until(lambda d: d.find_element(By.ID, "error").is_displayed())
        error = text_of(browser, "error")
        screenshot(browser, "error")

    assert error == "Error: cannot read notes.jpg: not an image, or not in a format Pillow knows"
    with Image.open(result) as got:
        assert got.size == (384, 256) and got.format == "JPEG"
        assert got.getexif().get(0x010F) == "imgperc test camera"
        assert got.info.get("icc_profile") == Image.open(image).info["icc_profile"]
    cli = tmp_path / "cli.jpg"
    done = CliRunner().invoke(cli_main, ["stylize", "--style", STYLE, "--strength", "0.5", str(image), "-o", str(cli)])
    assert done.exit_code == 0, done.output
    pixels, expected, original = (np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) for path in (result, cli, image))
    assert np.abs(pixels - expected).mean() < 1  # what `imgperc stylize` writes
    assert np.abs(pixels - original).mean() > 10  # and not the photo itself
