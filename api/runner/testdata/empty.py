# Collects nothing: pytest exits with code 5.
HELPER = 1
