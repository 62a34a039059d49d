import os


def test_prints_invalid_utf8_and_nul():
    # Straight to fd 1, the worker's pipe: bytes no text layer would produce.
    os.write(1, b"BEFORE-BAD \xff\xfe\xc3 NUL:\x00:NUL caf\xc3\xa9 AFTER-BAD\n")
