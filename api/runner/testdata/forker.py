import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def test_forker():
    # A daemon in its own session that keeps forking children that fork
    # too: killing it process by process races its forks.
    if os.fork() == 0:
        os.setsid()
        with open(os.path.join(HERE, "forker.pids"), "a") as log:
            while True:
                pid = os.fork()
                if pid == 0:
                    log.write("%d\n" % os.getpid())
                    log.flush()
                    time.sleep(300)
                    os._exit(0)
                time.sleep(0.005)
    time.sleep(0.3)
