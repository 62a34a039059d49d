import os
import time


def record(what):
    """Appends what this test does, when (the wall clock), in which
    environment and as which process, to $SYSTEMTEST_PID_DIR/<run id>.times:
    the race tests judge Baton from these records, not from its own."""
    with open(os.path.join(os.environ["SYSTEMTEST_PID_DIR"], os.environ["TEST_RUN_ID"] + ".times"), "a") as f:
        f.write("%s %.6f %s %d\n" % (what, time.time(), os.environ["TEST_ENV_ID"], os.getpid()))


def test_record():
    record("start")
    # 0.05 to 0.5 s, varying with the run, so runs end in every order.
    time.sleep(0.05 + (int(os.environ["TEST_RUN_ID"]) * 7919 % 10) / 20.0)
    record("end")
