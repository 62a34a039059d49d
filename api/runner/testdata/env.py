import os

NAMES = ["TEST_ENV_ID", "TEST_ENV_NAME", "TEST_RUN_ID", "REQUESTED_BY", "BATON_API_URL",
         "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"]


def test_env():
    for name in NAMES:
        print("ENV %s=%s" % (name, os.environ.get(name, "<unset>")))
    print("CWD=%s" % os.getcwd())
    # Runs start in the project root, as by hand.
    assert os.getcwd() == os.path.dirname(os.path.abspath(__file__))
