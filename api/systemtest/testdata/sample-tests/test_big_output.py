import sys

LINE = "y" * 1023 + "\n"
BLOCK = LINE * 1000  # 1000 lines of 1 KiB


def test_prints_100_mb():
    for _ in range(100):  # 100k lines, ~100 MB
        sys.stdout.write(BLOCK)
    sys.stdout.flush()
