import os
import sys


def test_streams():
    sys.stdout.write("SYS-STDOUT\n")
    sys.stderr.write("SYS-STDERR\n")
    sys.stdout.flush()
    sys.stderr.flush()
    # Straight to the file descriptors, bypassing Python's capture.
    os.write(1, b"FD-STDOUT\n")
    os.write(2, b"FD-STDERR\n")
