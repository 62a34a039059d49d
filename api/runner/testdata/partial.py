import sys
import time


def test_partial():
    # A line without its newline, then nothing: Baton's own closing line
    # must still start a line of its own.
    sys.stdout.write("PARTIAL-LINE")
    sys.stdout.flush()
    time.sleep(300)
