import os
import time


def record(what):
    """Appends what this test does, when (the wall clock) and as which
    process to $SYSTEMTEST_PID_DIR/<run id>.times, as test_record.py does:
    a process that was killed shows as one whose last line is a tick."""
    line = "%s %.6f %s %d\n" % (what, time.time(), os.environ["TEST_ENV_ID"], os.getpid())
    # One write(2) on an O_APPEND descriptor: whole lines only.
    fd = os.open(os.path.join(os.environ["SYSTEMTEST_PID_DIR"], os.environ["TEST_RUN_ID"] + ".times"),
                 os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def test_lease_ticks():
    with open(os.path.join(os.environ["SYSTEMTEST_PID_DIR"], os.environ["TEST_RUN_ID"] + ".pid"), "a") as f:
        f.write("%d %d\n" % (os.getpid(), os.getppid()))
    print("fence=" + os.environ["TEST_ENV_FENCE"], flush=True)
    record("start")
    # Bounded, so a process Baton failed to kill ends by itself.
    end = time.time() + 20
    while time.time() < end:
        time.sleep(0.05)
        record("tick")
    record("end")
