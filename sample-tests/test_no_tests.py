"""A file without tests: pytest collects nothing and exits with code 5."""


def helper():
    return 42
