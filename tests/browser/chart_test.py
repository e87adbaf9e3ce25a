#!/usr/bin/env python3
"""Renders scripts/compare_runs' page in headless Chromium (Debian's chromium,
chromium-driver and python3-selenium) and checks what a reader sees: a chart
per metric, a line and a legend entry (with its hyperparameters) per run, gaps
where a value is NaN or infinite, values on hover, the smoothing slider; then
saves a screenshot.

    chart_test.py COMPARE_RUNS LOGDIR OUTDIR

Exits 77 (CTest: skipped), saying why, only if Chromium cannot start at all.
"""
import json
import os
import re
import subprocess
import sys

compare_runs, logdir, outdir = sys.argv[1:4]
os.makedirs(outdir, exist_ok=True)
page = os.path.join(outdir, "index.html")
png = os.path.join(outdir, "accuracy.png")
for f in (page, png):
    if os.path.exists(f):
        os.remove(f)
subprocess.run([sys.executable, compare_runs, logdir, "--out", page, "--png", png], check=True, timeout=180)

runs = {}
for name in sorted(os.listdir(logdir)):
    if os.path.exists(os.path.join(logdir, name, "metrics.csv")):
        runs[name] = json.load(open(os.path.join(logdir, name, "hparams.json")))["hparams"]
assert len(runs) >= 2, runs

html = open(page).read()
# Self-contained: no attribute or style that would fetch anything.
assert not re.search(r'\b(src|href)\s*=|url\(|@import', html), "the page references an outside resource"
assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n", "accuracy.png is not a PNG"

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

opts = webdriver.ChromeOptions()
for a in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1600,1400"):
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
try:
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
except Exception as e:  # noqa: BLE001 - any failure to start is a reason to skip, printed
    print(f"chart_test: SKIPPED: Chromium could not start: {e}")
    sys.exit(77)

try:
    driver.get("file://" + os.path.abspath(page))
    figs = driver.find_elements(By.CSS_SELECTOR, "figure.chart")
    tags = [f.get_attribute("data-tag") for f in figs]
    assert tags[:3] == ["accuracy/test", "loss/test", "loss/train"], tags
    for fig, tag in zip(figs, tags):
        for name in runs:
            lines = fig.find_elements(By.CSS_SELECTOR, f'path.line[data-run="{name}"]')
            assert len(lines) == 1, f"{tag}: {len(lines)} lines for run {name}"
            d = lines[0].get_attribute("d")
            assert d.startswith("M") and d.count("L") >= 1, f"{tag}/{name}: empty line {d!r}"
            assert lines[0].is_displayed() and lines[0].size["width"] > 100, f"{tag}/{name}: line not drawn"
    # A NaN or infinite value is a gap: the line is lifted (a second "M").
    gap_runs = [n for n in runs if "nan" in open(os.path.join(logdir, n, "metrics.csv")).read()
                or "inf" in open(os.path.join(logdir, n, "metrics.csv")).read()]
    for name in gap_runs:
        d = driver.find_element(By.CSS_SELECTOR, f'figure[data-tag="loss/test"] path.line[data-run="{name}"]').get_attribute("d")
        assert d.count("M") >= 2, f"{name}: no gap where the loss was not finite: {d}"
    # The legend names each run and the hyperparameters that set it apart.
    varying = {k for hp in runs.values() for k in hp if len({json.dumps(h.get(k)) for h in runs.values()}) > 1}
    assert varying, runs
    for name, hp in runs.items():
        entry = driver.find_element(By.CSS_SELECTOR, f'.legend-entry[data-run="{name}"]')
        text = entry.text
        assert name in text, text
        for k, v in hp.items():
            if k not in varying:
                continue
            want = f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            assert want in text, f"legend of {name} lacks {want}: {text!r}"
    # Hover: a tooltip lists every run's value at the nearest step.
    acc_svg = figs[0].find_element(By.CSS_SELECTOR, "svg")
    ActionChains(driver).move_to_element_with_offset(acc_svg, 200, 0).perform()
    tip = figs[0].find_element(By.CSS_SELECTOR, ".tooltip")
    assert tip.is_displayed(), "no tooltip on hover"
    for name in runs:
        assert name in tip.text, f"tooltip lacks {name}: {tip.text!r}"
    assert re.search(r"step \d+", tip.text) and re.search(r"0\.\d{3}", tip.text), tip.text
    # Smoothing: moving the slider redraws the lines and shows the raw ones faintly.
    first = next(iter(runs))
    sel = f'figure[data-tag="loss/train"] path.line[data-run="{first}"]'
    before = driver.find_element(By.CSS_SELECTOR, sel).get_attribute("d")
    driver.execute_script("const s = document.getElementById('smoothing'); s.value = 0.8;"
                          "s.dispatchEvent(new Event('input'));")
    after = driver.find_element(By.CSS_SELECTOR, sel).get_attribute("d")
    assert after != before and after.count("L") == before.count("L"), (before, after)
    raw = driver.find_element(By.CSS_SELECTOR, sel.replace("path.line", "path.raw"))
    assert float(raw.get_attribute("opacity")) > 0
    assert driver.find_element(By.ID, "smoothing-value").text == "0.80"
    driver.execute_script("const s = document.getElementById('smoothing'); s.value = 0;"
                          "s.dispatchEvent(new Event('input'));")
    assert driver.find_element(By.CSS_SELECTOR, sel).get_attribute("d") == before
    ActionChains(driver).move_to_element_with_offset(acc_svg, 120, 40).perform()
    shot = os.path.join(outdir, "compare_runs.png")
    driver.save_screenshot(shot)
    print(f"chart_test: {len(tags)} charts x {len(runs)} runs, legend, gaps, hover and smoothing checked; screenshot {shot}")
finally:
    driver.quit()
