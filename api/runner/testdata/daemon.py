import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def test_daemon():
    # A new session leaves the run's process group, so the group kill misses
    # it, and it inherits (and holds open) the output pipe.
    child = subprocess.Popen(["sleep", "120"], start_new_session=True)
    with open(os.path.join(HERE, "daemon.pid"), "w") as f:
        f.write("%d\n" % child.pid)
