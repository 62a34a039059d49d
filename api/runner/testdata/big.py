import sys

LINE = "x" * 99 + "\n"


def test_big_stdout():
    for _ in range(12000):  # 1.2 MB
        sys.stdout.write(LINE)
    sys.stdout.flush()


def test_big_stderr():
    for _ in range(3000):
        sys.stderr.write("e" * 99 + "\n")
    sys.stderr.flush()
    print("BIG-DONE")
