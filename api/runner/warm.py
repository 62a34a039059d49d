# baton warm slot: `python -c <this file>`, started by a run's supervisor
# before the run exists (see warm.go). It brings the interpreter to the very
# state a cold `python -m pytest` reaches just before it runs pytest's
# __main__ -- pytest imported by runpy, nothing else, no user code -- then
# waits for one run and becomes its pytest. It imports nothing itself: every
# module it uses (os, sys) is already loaded at interpreter start, so
# sys.modules holds exactly what a cold start's would.
#
# Descriptors: 0 /dev/null, 1 and 2 the run's output pipe, 3 the request
# (read until EOF), 4 the report (written once, then closed: "ready").
def _baton_warm():
    import os
    import sys

    def stamp(kind, path):
        p = os.fsencode(path)
        try:
            st = os.stat(p)
        except FileNotFoundError:
            return [kind, p, b"-", b"-", b"-"]
        except OSError:
            return [kind, p, b"?", b"?", b"?"]  # the run user may not look
        return [kind, p, b"%d" % st.st_mtime_ns, b"%d" % st.st_size, b"%d" % st.st_ino]

    # `python -m` puts the working directory first on sys.path; -c put "".
    warm_cwd = os.getcwd()
    sys.path[0] = warm_cwd
    records = []
    # The installed packages, as they are before anything is imported from
    # them: a change after this shows in these times, and retires the slot.
    for p in sys.path[1:]:
        records.append(stamp(b"P", p))

    before = set(sys.modules)
    environ = os.environ
    plain = type(environ)
    seen = set()

    class Recording(plain):
        # Notes every variable read while pytest is imported: if a run
        # gives one of them another value, it must start cold.
        def __getitem__(self, key):
            seen.add(key)
            return plain.__getitem__(self, key)

        def __contains__(self, key):
            seen.add(key)
            return plain.__contains__(self, key)

        def __iter__(self):
            seen.add(None)
            return plain.__iter__(self)

    environ.__class__ = Recording
    try:
        import runpy

        # What `python -m pytest` does before it runs pytest/__main__.py.
        runpy._get_module_details("pytest")
    finally:
        environ.__class__ = plain
    del Recording

    dirs = set()
    for name in list(sys.modules):
        mod = sys.modules[name]
        # Every file loaded so far, also at start-up (site, .pth files).
        f = getattr(mod, "__file__", None)
        if isinstance(f, str):
            records.append(stamp(b"F", f))
            dirs.add(os.path.dirname(f))
        if name in before:
            continue
        spec = getattr(mod, "__spec__", None)
        origin = getattr(spec, "origin", None)
        if "." not in name and origin not in ("built-in", "frozen"):
            # Found on sys.path: a file of this name in a project's root
            # would take its place in a cold start.
            records.append([b"M", os.fsencode(name)])
    for d in sorted(dirs):
        records.append(stamp(b"D", d))
    for key in seen:
        records.append([b"E*"] if key is None else [b"E", os.fsencode(key)])
    records.append([b"OK"])
    # Everything alive now is the interpreter's and pytest's own, made by the
    # same imports as in a cold start: collect what of it is garbage, then
    # freeze the rest (gc.freeze, as pre-fork servers do), so the collector
    # never walks it again. That walk is most of the interpreter's shutdown
    # after a test run (about 30 ms on an idle core, out of a 160 ms trivial
    # run) and a part of every full collection while the tests run. The run's
    # own objects are collected as in a cold start; what differs is only what
    # gc itself reports (get_freeze_count, get_objects and get_referrers leave frozen ones
    # out, get_stats counts one more collection). gc is in sys.modules
    # because pytest imported it; without that, nothing is frozen, so that
    # sys.modules stays a cold start's.
    gc = sys.modules.get("gc")
    if gc is not None:
        gc.collect()
        gc.freeze()
    del gc
    # Every field ends with a NUL (no path or name holds one); the kind,
    # first, says how many fields follow.
    report = b"".join(f + b"\0" for r in records for f in r)
    while report:
        report = report[os.write(4, report):]
    os.close(4)
    del records, report, dirs, seen, before

    chunks = []
    while True:
        b = os.read(3, 1 << 16)
        if not b:
            break
        chunks.append(b)
    os.close(3)
    fields = b"".join(chunks).split(b"\0")
    del chunks
    if len(fields) < 4 or fields[0] != b"BATON-WARM-1":
        # No run came (the slot was retired): leave without a word.
        os._exit(0)
    directory = fields[1]
    argc = int(fields[2])
    argv = [os.fsdecode(a) for a in fields[3 : 3 + argc]]
    envc = int(fields[3 + argc])
    env = fields[4 + argc : 4 + argc + envc]

    os.chdir(directory)
    environb = os.environb
    environb.clear()  # unsetenv() too, so C's environ agrees
    for kv in env:
        k, _, v = kv.partition(b"=")
        environb[k] = v

    # sys as `python -m pytest ARGS` started in the directory leaves it.
    sys.orig_argv[:] = argv
    sys.argv[:] = ["-m"] + argv[3:]
    sys.path[0] = os.getcwd()
    sys.path_importer_cache.pop(warm_cwd, None)
    import importlib

    importlib.invalidate_caches()
    main = sys.modules["__main__"].__dict__
    for k in list(main):
        if k not in ("__name__", "__doc__", "__package__", "__loader__", "__spec__", "__annotations__", "__builtins__"):
            del main[k]
    del os, sys, importlib, main, environ, environb, plain, env, argv, fields, directory
    runpy._run_module_as_main("pytest")


_baton_warm()
