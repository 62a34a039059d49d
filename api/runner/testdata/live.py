import os
import time

# The Go test creates the release file once it has seen the marker, so the
# test can prove output arrives while pytest is still running.
RELEASE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "release")


def test_live():
    print("LIVE-MARKER", flush=True)
    deadline = time.monotonic() + 120
    while not os.path.exists(RELEASE):
        assert time.monotonic() < deadline, "release file never appeared"
        time.sleep(0.05)
