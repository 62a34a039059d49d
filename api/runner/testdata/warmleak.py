# Reports what a run can see of earlier runs, then leaves traces for the
# next one (warm_test.go): a warm slot serves one run, so none may show.
import builtins
import json
import os
import sys


def started_since_boot():
    # Field 22 of /proc/self/stat: when this process started, in clock
    # ticks since boot (CLOCK_BOOTTIME).
    with open("/proc/self/stat") as f:
        s = f.read()
    return int(s[s.rindex(")") + 2 :].split()[19]) / os.sysconf("SC_CLK_TCK")


def test_leak():
    seen = {
        "pid": os.getpid(),
        "started": started_since_boot(),
        "env": os.environ.get("BATON_LEAK_ENV"),
        "tmp": sorted(os.listdir(os.environ["TMPDIR"])),
        "module": "baton_leak_module" in sys.modules,
        "builtin": hasattr(builtins, "baton_warm_leak"),
    }
    print("WARMLEAK " + json.dumps(seen), flush=True)
    os.environ["BATON_LEAK_ENV"] = "left by %d" % os.getpid()
    with open(os.path.join(os.environ["TMPDIR"], "left-behind"), "w") as f:
        f.write("x")
    builtins.baton_warm_leak = True
    sys.modules["baton_leak_module"] = sys
