import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def test_orphan():
    # Stays in the run's process group and holds the output pipe after pytest
    # exits; only the group kill ends it.
    child = subprocess.Popen(["sleep", "300"])
    with open(os.path.join(HERE, "orphan.pid"), "w") as f:
        f.write("%d\n" % child.pid)
