#!/usr/bin/env python3
"""An example's output through a pipe arrives a line at a time, while it runs.

    example_pipe_test.py EXAMPLE MNIST_DIR

Runs EXAMPLE for many epochs with stdout and stderr on pipes (as under tee,
nohup or `| tail`), waits for its first epoch line, checks that the program is
still running when it arrives (a block-buffered stdout only shows lines at
exit), then stops it. Also checks that the progress bar, on a pipe, does not
repeat the summary that stdout prints.
"""
import subprocess
import sys
import time

example, data = sys.argv[1], sys.argv[2]
proc = subprocess.Popen([example, "--data", data, "--limit", "2000", "--epochs", "1000"],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
deadline = time.monotonic() + 300
first = None
try:
    for line in proc.stdout:
        if line.startswith("epoch"):
            first = line
            break
        if time.monotonic() > deadline:
            break
    running = proc.poll() is None
finally:
    proc.kill()
    _, err = proc.communicate(timeout=60)
if first is None:
    sys.exit(f"FAIL: no epoch line from {example} (stderr: {err[-500:]!r})")
if not running:
    sys.exit(f"FAIL: the first epoch line arrived only after {example} had exited: stdout is not line-buffered")
bar_lines = [l for l in err.splitlines() if l.startswith("Epoch ")]
if bar_lines:
    sys.exit(f"FAIL: on a pipe the progress bar repeats stdout's summary: {bar_lines[0]!r}")
print(f"OK: {example}'s first epoch line arrived while it ran: {first.strip()}")
