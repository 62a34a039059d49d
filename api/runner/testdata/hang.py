import os
import signal
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# Set by the Go test through the file name: hang_ignore_term makes pytest and
# its child ignore SIGTERM so that only SIGKILL can end them.
IGNORE_TERM = "ignore_term" in os.path.basename(__file__)


def test_hang():
    if IGNORE_TERM:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # SIG_IGN survives exec, so the grandchild ignores SIGTERM too.
    child = subprocess.Popen(["sleep", "300"])
    tmp = os.path.join(HERE, "pids.tmp")
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (os.getpid(), child.pid))
    os.rename(tmp, os.path.join(HERE, "pids"))
    print("HANG-STARTED", flush=True)
    time.sleep(300)
