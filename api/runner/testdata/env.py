import os

NAMES = ["TEST_ENV_ID", "TEST_ENV_NAME", "TEST_RUN_ID", "TEST_ENV_FENCE", "REQUESTED_BY", "BATON_API_URL",
         "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "TMPDIR", "BATON_EXTRA"]


def test_env():
    for name in NAMES:
        print("ENV %s=%s" % (name, os.environ.get(name, "<unset>")))
    print("CWD=%s" % os.getcwd())
    # Runs start in the project root, as by hand.
    assert os.getcwd() == os.path.dirname(os.path.abspath(__file__))
    with open("/proc/self/cgroup") as f:
        print("CGROUP=%s" % [l for l in f.read().splitlines() if l.startswith("0::")][0][3:])
