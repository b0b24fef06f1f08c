"""The notebooks' tests, as `nbdev-test` runs them, with a line for each notebook as it finishes (name, ok or FAILED, seconds).

Each notebook runs in its own `nbdev-test` process (same flags, same skipped cells), `--jobs` at a time, each with one
thread unless OMP_NUM_THREADS says otherwise. A failure prints its error; the run then ends non-zero, naming them all.
`python scripts/test_nbs.py nbs/02_conv.ipynb --flags slow` tests one notebook, slow cells included."""
import argparse, os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

def test(nb, flags):
    "Run `nbdev-test` on notebook `nb`. Returns (ok, seconds, what it printed)."
    t0 = time.perf_counter()
    r = subprocess.run([str(BIN/'nbdev-test'), str(nb), '--flags', flags], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, 'OMP_NUM_THREADS': os.environ.get('OMP_NUM_THREADS', '1')})
    return r.returncode == 0, time.perf_counter()-t0, r.stdout + r.stderr

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='*', help='notebooks or folders to test (default: nbs/)')
    p.add_argument('--flags', default='', help="test flags to run that are normally skipped, e.g. 'slow'")
    p.add_argument('--jobs', type=int, default=2, help='notebooks tested at once (default 2)')
    a = p.parse_args()
    from nbdev.doclinks import nbglob
    nbs = sorted(f for n in a.notebooks or [ROOT/'nbs'] for f in nbglob(Path(n).resolve(), as_path=True))
    if not nbs: sys.exit(f"No notebooks to test in {' '.join(a.notebooks)}: give notebooks or folders of them.")
    t0,failed = time.perf_counter(),[]
    print(f'Testing {len(nbs)} notebooks, {a.jobs} at a time' + (f", flags '{a.flags}'" if a.flags else ''), flush=True)
    with ThreadPoolExecutor(a.jobs) as ex:
        runs = {ex.submit(test, nb, a.flags): nb for nb in nbs}
        for i,done in enumerate(as_completed(runs), 1):
            (ok,secs,out),nb = done.result(),runs[done]
            print(f'[{i}/{len(nbs)}] {nb.name}: {"ok" if ok else "FAILED"} in {secs:.0f}s', flush=True)
            if not ok: print(out.strip() + '\n', file=sys.stderr, flush=True); failed.append(nb.name)
    if failed: sys.exit(f"{len(failed)} of {len(nbs)} notebooks FAILED: {', '.join(sorted(failed))} (errors above)")
    print(f'All {len(nbs)} notebooks passed in {time.perf_counter()-t0:.0f}s')

if __name__ == '__main__': main()
