import os
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def test_doublefork():
    # The classic daemon: fork, setsid, fork again, the middle process
    # exits, so the grandchild is an orphan in a session of its own with
    # no controlling terminal, and not in pytest's process group.
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setsid()
        if os.fork() != 0:
            os._exit(0)
        os.close(r)
        os.write(w, b"%d\n" % os.getpid())
        os.close(w)
        # Let go of the output pipe too, as a careful daemon does.
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        time.sleep(300)
        os._exit(0)
    os.close(w)
    daemon = int(os.read(r, 64))
    os.waitpid(pid, 0)
    with open(os.path.join(HERE, "daemon.pid"), "w") as f:
        f.write("%d\n" % daemon)
