#!/usr/bin/env python3
"""The progress display both ways: under a pseudo-terminal (util-linux `script`)
the line is redrawn in place; into a pipe there is one line per epoch.

    progress_test.py LOG_FIXTURE
"""
import re
import os
import shlex
import subprocess
import sys

fixture = sys.argv[1]
steps = 12
final = re.compile(r"Epoch (\d)/2  12/12 \[=+\] - \d+s \d+ms/step - \d+ samples/s - loss: \d\.\d{4} - "
                   r"accuracy: 0\.9000 - test_accuracy: 0\.9500")

# Not a terminal: exactly one line per epoch, no carriage returns.
# (Bytes, not text mode: universal newlines would turn each \r into \n.)
piped = subprocess.run([fixture, "progress", str(steps)], capture_output=True, check=True, timeout=60)
err = piped.stderr.decode()
lines = err.split("\n")
assert "\r" not in err, repr(err)
assert lines[-1] == "" and len(lines) == 3 and all(final.fullmatch(l) for l in lines[:2]), repr(err)
lines = lines[:2]

# A terminal: `script` gives the program a pty; its output comes back on our stdout.
# Its pty has no size, so the display reads COLUMNS: wide enough for the whole
# line here (fitting a narrow terminal is log_test's FitsTheTerminal...).
cmd = f"{shlex.quote(fixture)} progress {steps}"
tty = subprocess.run(["script", "-qefc", cmd, "/dev/null"], capture_output=True, timeout=60, stdin=subprocess.DEVNULL,
                     env={**os.environ, "COLUMNS": "200"})
assert tty.returncode == 0, (tty.returncode, tty.stdout, tty.stderr)
out = tty.stdout.decode().replace("\r\n", "\n")  # the pty's ONLCR turns each \n into \r\n
epochs = out.split("\n")
assert epochs[-1] == "" and len(epochs) == 3, repr(out)
for epoch, text in zip((1, 2), epochs):
    draws = [d for d in text.split("\r") if d]
    # Redrawn in place: several partial lines, then the final one (padding spaces stripped).
    assert len(draws) >= 3, f"epoch {epoch}: {len(draws)} draws: {text!r}"
    assert all(d.startswith(f"Epoch {epoch}/2 ") for d in draws), repr(text)
    assert any(re.search(r"ETA: \d+s", d) for d in draws[:-1]), repr(text)
    assert final.fullmatch(draws[-1].rstrip()), repr(draws[-1])
print(f"progress_test: pipe {len(lines)} lines; terminal {[len(e.split(chr(13))) - 1 for e in epochs[:2]]} redraws per epoch")
