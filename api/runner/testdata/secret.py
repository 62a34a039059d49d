import os
import sys
import time


def test_prints_token():
    token = os.environ["BATON_API_TOKEN"]
    print("whole:", token)
    # Split across two writes, flushed apart, so the log receives it in
    # two chunks.
    half = len(token) // 2
    sys.stdout.write("split: " + token[:half])
    sys.stdout.flush()
    time.sleep(0.3)
    sys.stdout.write(token[half:] + " end\n")
    sys.stdout.flush()
    os.write(2, ("stderr: " + token + "\n").encode())


def test_fails_with_token():
    assert os.environ["BATON_API_TOKEN"] == "something else"
