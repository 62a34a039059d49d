# A KeyboardInterrupt inside a test makes pytest stop with exit code 2.
def test_interrupted():
    raise KeyboardInterrupt
