import os
import pwd


def test_runs_unprivileged(tmp_path):
    print("UID=%d NAME=%s" % (os.getuid(), pwd.getpwuid(os.getuid()).pw_name))
    assert os.getuid() != 0 and os.geteuid() != 0
    # Its workspace is its own: HOME, TMPDIR (and pytest's tmp_path in it).
    for d in (os.environ["HOME"], os.environ["TMPDIR"], str(tmp_path)):
        with open(os.path.join(d, "probe"), "w") as f:
            f.write("ok")
    assert str(tmp_path).startswith(os.environ["TMPDIR"])


def test_cannot_read_parents_environment():
    # Its parent is the run's supervisor; the worker is above it.
    pid = os.getppid()
    seen = []
    while pid > 1:
        try:
            with open("/proc/%d/environ" % pid, "rb") as f:
                seen.append((pid, f.read()[:40]))
        except PermissionError:
            print("ENVIRON-DENIED %d" % pid)
        with open("/proc/%d/stat" % pid) as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
    assert seen == []
