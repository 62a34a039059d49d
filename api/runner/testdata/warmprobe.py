# Records what a test can see of the process it runs in, to compare a warm
# start with a cold one (warm_test.go): everything here must be identical.
import gc
import json
import os
import resource
import signal
import stat
import sys

import __main__


def fds():
    out = {}
    for fd in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            st = os.fstat(int(fd))
        except OSError:
            continue  # the listing's own descriptor
        kind = "pipe" if stat.S_ISFIFO(st.st_mode) else "chr" if stat.S_ISCHR(st.st_mode) else "other"
        flags = os.get_inheritable(int(fd))
        out[fd] = [kind, flags]
    return out


def signals():
    out = {}
    for s in signal.valid_signals():
        try:
            h = signal.getsignal(s)
        except (OSError, ValueError):
            continue
        out[str(int(s))] = h if isinstance(h, int) else getattr(h, "__qualname__", repr(h))
    return out


def test_record():
    with open("/proc/self/status") as f:
        status = dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)
    state = {
        "argv": sys.argv,
        "orig_argv": sys.orig_argv,
        "executable": sys.executable,
        "path": sys.path,
        "cwd": os.getcwd(),
        "environ": dict(os.environ),
        "c_environ_matches": all(os.getenv(k) == v for k, v in os.environ.items()),
        "modules": list(sys.modules),
        "main": sorted(vars(__main__)),
        "main_file": getattr(__main__, "__file__", None),
        "main_spec": getattr(getattr(__main__, "__spec__", None), "name", None),
        "flags": list(sys.flags),
        "signals": signals(),
        "blocked": status.get("SigBlk"),
        "ignored": status.get("SigIgn"),
        "fds": fds(),
        "umask": os.umask(0o22),
        "ids": [os.getuid(), os.geteuid(), os.getgid(), os.getegid(), sorted(os.getgroups())],
        "pgrp_is_self": os.getpgrp() == os.getpid(),
        "ppid_comm": open("/proc/%d/comm" % os.getppid()).read().strip(),
        "nice": os.nice(0),
        "sched": os.sched_getscheduler(0),
        "rlimits": [resource.getrlimit(getattr(resource, n)) for n in sorted(dir(resource)) if n.startswith("RLIMIT_")],
        "stdio": [[s.encoding, s.errors, s.line_buffering, s.write_through, s.isatty()] for s in (sys.__stdout__, sys.__stderr__)],
        "stdin": [sys.__stdin__.encoding, sys.__stdin__.fileno()],
        "cgroup": open("/proc/self/cgroup").read(),
        "filesystem_encoding": [sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()],
        "hash_randomized": sys.flags.hash_randomization,
        "dont_write_bytecode": sys.dont_write_bytecode,
        "warnoptions": sys.warnoptions,
        "threads": status.get("Threads"),
        # The collector as the run finds it; warm.py froze what pytest's
        # import left, which only gc.get_freeze_count (left out) can tell.
        "gc": [gc.isenabled(), gc.get_threshold(), gc.get_debug(), len(gc.garbage), len(gc.callbacks)],
        "importer_cache_under_cwd": sorted(k for k in sys.path_importer_cache if k.startswith(os.getcwd())),
    }
    os.umask(state["umask"])
    print("WARMPROBE " + json.dumps(state, sort_keys=True))
