"""A forked worker caps its thread pools (``limit_threads``) and can still compile Numba code afterwards: the
timing pass's local workers are forked from a process that has Numba loaded, and with an empty compile cache
they compile the timing kernels the parent never called.  (Before the fix, ``nmsim run --placement snake`` on a
fresh install stopped with a traceback: "Cannot set NUMBA_NUM_THREADS ... once the threads have been launched".)
"""
import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import multiprocessing as mp, os, sys
os.environ.pop("NUMBA_NUM_THREADS", None)
import numba
numba.njit(lambda x: x + 1)(1)
if sys.argv[1] == "pool":
    numba.get_num_threads()  # the parent's thread pool runs before the fork

def child(q):
    from nmsim.sweep.executors import limit_threads
    limit_threads()
    try:
        q.put((numba.njit(lambda x: x * 2)(21), os.environ.get("OMP_NUM_THREADS")))
    except Exception as exc:
        q.put((repr(exc), None))

if __name__ == "__main__":
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(q,))
    p.start()
    print(q.get(timeout=120))
    p.join()
"""


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="no fork")
@pytest.mark.parametrize("parent", ["no-pool", "pool"])
def test_a_forked_worker_limits_threads_and_still_compiles(tmp_path, parent):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_NUM_THREADS"}
    env["NUMBA_CACHE_DIR"] = str(tmp_path)
    p = subprocess.run([sys.executable, "-c", SCRIPT, parent], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "(42, '1')", p.stdout + p.stderr
