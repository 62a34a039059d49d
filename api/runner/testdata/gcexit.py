# Leaves an object in a reference cycle, with a __del__ that says so on the
# run's output, alive until the interpreter exits (a module global holds
# it). A cold start's shutdown clears the module and collects the cycle,
# so __del__ runs after pytest is done; a warm start must do the same
# (warm.py freezes what the collector need never walk again, and that must
# not include anything of the run's).
import gc
import os

KEEP = []


class Cycle:
    def __init__(self, note):
        self.me = self
        self.note = note

    # Bound now: the module's globals are gone by the time it runs.
    def __del__(self, write=os.write):
        write(1, self.note)


def test_leaves_a_cycle():
    KEEP.append(Cycle(b"\nGCEXIT finalized at exit\n"))
    # A cycle dropped during the run is collected when asked, too.
    Cycle(b"\nGCEXIT finalized by gc.collect\n")
    assert gc.collect() > 0
