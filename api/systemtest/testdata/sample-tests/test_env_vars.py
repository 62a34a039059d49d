import hashlib
import os


def test_env_vars():
    """Prints what the run got from its environment: the URL, a plain
    variable and a secret one (which Baton must mask in the log), and checks
    the secret arrived intact without naming it."""
    print("url=" + os.environ["TEST_ENV_URL"])
    print("region=" + os.environ["REGION"])
    print("secret=" + os.environ["API_KEY"])
    assert hashlib.sha256(os.environ["API_KEY"].encode()).hexdigest() == os.environ["API_KEY_SHA256"]
