"""A slow test that prints progress every second for twelve seconds, so a
live log can be watched as it grows."""

import time

STEPS = 12


def test_slow_progress():
    started = time.monotonic()
    for step in range(1, STEPS + 1):
        time.sleep(1)
        print("progress: step %d/%d, %.1fs elapsed" % (step, STEPS, time.monotonic() - started), flush=True)
    assert time.monotonic() - started >= 10
