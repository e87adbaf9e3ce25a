#!/usr/bin/env python3
"""The draw-a-digit page in a real browser: starts digit_server on a free port,
drives headless Chromium (Debian chromium + chromium-driver, through
python3-selenium), draws a digit on the canvas with pointer events, waits for
the bars, asserts the shown top-1, and saves a screenshot.

    draw_digit_test.py DIGIT_SERVER MODEL SCREENSHOT.png [--digit 7]

Also checks the HTTP error paths the page never takes: a non-image body gets
400 with a message, a body over --max-body gets 413, and the server lives on.
Exits 77 (CTest's SKIP_RETURN_CODE) only if Chromium cannot start at all,
saying why.
"""
import argparse
import http.client
import json
import subprocess
import sys
import time

# Strokes of each digit the test can draw, in canvas pixels (280x280).
STROKES = {
    7: [[(70, 60), (210, 60), (120, 230)]],
    1: [[(150, 40), (140, 240)]],
    0: [[(140, 40), (200, 80), (210, 150), (190, 220), (140, 245), (90, 220), (70, 150), (85, 80), (140, 40)]],
}


def request(port, method, path, body=None, ctype="image/png"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request(method, path, body=body, headers={"Content-Type": ctype} if body is not None else {})
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("server")
    ap.add_argument("model")
    ap.add_argument("screenshot")
    ap.add_argument("--digit", type=int, default=7, choices=sorted(STROKES))
    args = ap.parse_args()

    srv = subprocess.Popen([args.server, "--model", args.model, "--port", "0", "--max-body", "1000000"],
                           stdout=subprocess.PIPE, text=True)
    try:
        line = srv.stdout.readline()
        print(line.strip())
        if "listening on http://127.0.0.1:" not in line:
            print("FAIL: digit_server did not start", file=sys.stderr)
            return 1
        port = int(line.split("127.0.0.1:")[1].split("/")[0])

        # The error paths.
        status, body = request(port, "POST", "/predict", b"this is not an image", "application/octet-stream")
        assert status == 400 and b"not an image" in body, (status, body)
        status, body = request(port, "POST", "/predict", b'{"width": 2, "height": 2, "pixels": [1, 2, 3]}',
                            "application/json")
        assert status == 400 and b"4" in body, (status, body)
        status, body = request(port, "POST", "/predict", b"\x89PNG\r\n\x1a\n" + b"\0" * 2_000_000)
        assert status == 413, status
        status, body = request(port, "GET", "/")
        assert status == 200 and b"<canvas" in body and b"http" not in body.split(b"<script>")[1], status
        print("server: 400 for a bad body, 413 for a large one, page has no external resources")

        try:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
            from selenium.webdriver.common.action_chains import ActionChains
            from selenium.webdriver.common.by import By
            from selenium.webdriver.support.ui import WebDriverWait
            opts = webdriver.ChromeOptions()
            opts.binary_location = "/usr/bin/chromium"
            for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                      "--window-size=1100,700"):
                opts.add_argument(a)
            driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
        except Exception as e:  # noqa: BLE001 -- any failure to start the browser
            print(f"SKIP: Chromium could not start: {e}")
            return 77
        try:
            driver.get(f"http://127.0.0.1:{port}/")
            pad = driver.find_element(By.ID, "pad")
            # Every text the status line shows while drawing (an error must not flash).
            driver.execute_script(
                "window.statusTexts = []; new MutationObserver(() => statusTexts.push("
                "document.getElementById('status').textContent)).observe(document.getElementById('status'),"
                "{childList: true, characterData: true, subtree: true});")
            # Pointer events from the WebDriver actions API, offsets from the canvas centre.
            for stroke in STROKES[args.digit]:
                chain = ActionChains(driver, duration=20)
                x0, y0 = stroke[0]
                chain.move_to_element_with_offset(pad, x0 - 140, y0 - 140).click_and_hold()
                for (a, b), (x, y) in zip(stroke, stroke[1:]):
                    for t in range(1, 9):  # several moves a segment, as a hand makes them
                        xi, yi = a + (x - a) * t / 8, b + (y - b) * t / 8
                        chain.move_to_element_with_offset(pad, int(xi - 140), int(yi - 140))
                chain.release().perform()
            # The bars appear and settle (the last request answers the finished drawing).
            WebDriverWait(driver, 20).until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#bars .bar")) == 3)
            time.sleep(1.0)
            WebDriverWait(driver, 20).until(lambda d: d.execute_script("return !inFlight && !again"))
            top1 = driver.find_element(By.ID, "top1").text
            bars = [b.text.replace("\n", " ") for b in driver.find_elements(By.CSS_SELECTOR, "#bars .bar")]
            seen_ink = driver.execute_script(
                "const d = document.getElementById('seen').getContext('2d').getImageData(0,0,28,28).data;"
                "let s = 0; for (let i = 0; i < d.length; i += 4) s += d[i]; return s;")
            # Each bar's fill is as wide, against its track, as the probability it shows.
            widths = driver.execute_script(
                "return [...document.querySelectorAll('#bars .bar')].map(b => ["
                "b.querySelector('.fill').getBoundingClientRect().width / b.querySelector('.track').getBoundingClientRect().width,"
                "parseFloat(b.querySelector('.p').textContent) / 100]);")
            statuses = driver.execute_script("return statusTexts;")
            driver.save_screenshot(args.screenshot)
            for drawn, shown in widths:
                if abs(drawn - shown) > 0.02:
                    print(f"FAIL: a bar is filled {drawn:.3f} of its track for a probability of {shown:.3f}", file=sys.stderr)
                    return 1
            if any("no ink" in t or "error" in t for t in statuses):
                print(f"FAIL: the status line flashed an error while drawing: {statuses}", file=sys.stderr)
                return 1
            print(f"drew {args.digit}; page shows top-1 {top1!r}, bars {bars}; screenshot {args.screenshot}")
            if top1 != str(args.digit):
                print(f"FAIL: the page shows {top1!r} for a drawn {args.digit}", file=sys.stderr)
                return 1
            if seen_ink <= 0:
                print("FAIL: the 28x28 the net sees is empty on the page", file=sys.stderr)
                return 1
            # Clear empties the page.
            driver.find_element(By.ID, "clear").click()
            assert driver.find_element(By.ID, "top1").text == ""
        finally:
            driver.quit()
        assert srv.poll() is None, "the server died"
        print("PASS")
        return 0
    finally:
        srv.terminate()
        srv.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
