import os
import time


def record():
    """Appends this pytest process's pid and its parent's (the worker) to
    $SYSTEMTEST_PID_DIR/<run id>.pid, so the test harness can watch them."""
    with open(os.path.join(os.environ["SYSTEMTEST_PID_DIR"], os.environ["TEST_RUN_ID"] + ".pid"), "a") as f:
        f.write("%d %d\n" % (os.getpid(), os.getppid()))


def test_sleep60():
    record()
    time.sleep(60)
