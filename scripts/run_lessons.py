"""The main job: execute every lesson notebook top to bottom, `#| slow` cells included, and print what they measured.

Each notebook runs in its own process through nbdev's test runner (the one `nbdev-test` uses), as a temporary copy
in nbs/ so that paths relative to the notebook hold; the executed copy, outputs and all, goes to _out/nbs/. With the
slow cells they run one after another, so that their timings do not fight over the CPU. Figures that a notebook
reports with `miniai.measure.show_result` are collected in _out/results.json and printed as a table at the end;
after a full run (all notebooks, slow cells included, none failed) they also go to nbs/results.json, which the
home page (nbs/index.ipynb, and so README.md) shows as its results table. A notebook that fails does not stop the
others; the run then ends with a non-zero exit naming it."""
import argparse, json, os, shutil, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS, OUT = ROOT/'nbs', ROOT/'_out'

# nbdev-test's own runner for one notebook; `save=True` writes the outputs back only when every cell ran.
RUN = """import sys; from nbdev.config import get_config; from nbdev.test import test_nb
cfg = get_config(); flags = sys.argv[2].split()
ok,_ = test_nb(sys.argv[1], skip_flags=[f for f in cfg.tst_flags.split() if f not in flags], force_flags=flags,
               basepath=cfg.config_path, save=True, cell_timeout=None, verbose=sys.argv[3]=='1')
sys.exit(0 if ok else 1)"""

def execute(src, dest, flags='', env=None, verbose=False, prefix='.run'):
    "Execute notebook `src` with nbdev's test runner (plus `flags`) into `dest`. Returns (ok, seconds, output)."
    tmp = NBS/f'{prefix}-{src.name}'   # in nbs/, so that relative paths hold; nbdev's globs skip dot files
    shutil.copy(src, tmp)
    t0 = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, '-c', RUN, str(tmp), flags, '1' if verbose else '0'], cwd=ROOT,
                           env=env, text=True, **({} if verbose else dict(capture_output=True)))
        if r.returncode == 0:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(tmp, dest)
    finally: tmp.unlink(missing_ok=True)
    return r.returncode == 0, time.perf_counter()-t0, (r.stdout or '')[-4000:] + (r.stderr or '')[-4000:]

def results(stem):
    f = OUT/'results'/f'{stem}.jsonl'
    return [json.loads(l) for l in f.read_text().splitlines()] if f.exists() else []

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='*', help='notebooks to run (default: every numbered notebook in nbs/)')
    p.add_argument('--flags', default='slow', help="test flags to run (default: 'slow'; '' skips the slow cells)")
    p.add_argument('--jobs', type=int, default=1, help='notebooks run at once (default 1, so timings are fair)')
    p.add_argument('--quiet', action='store_true', help="don't stream the cells' output")
    a = p.parse_args()
    nbs = [Path(n).resolve() for n in a.notebooks] or sorted(NBS.glob('[0-9]*.ipynb'))
    (OUT/'results').mkdir(parents=True, exist_ok=True)
    verbose = not a.quiet and a.jobs == 1
    t_start = time.perf_counter()

    def run(nb):
        i = nbs.index(nb)+1
        (OUT/'results'/f'{nb.stem}.jsonl').unlink(missing_ok=True)
        print(f'[{i}/{len(nbs)}] {nb.name} ...', flush=True)
        env = dict(os.environ, MINIAI_RESULTS=str(OUT/'results'/f'{nb.stem}.jsonl'))
        ok,secs,out = execute(nb, OUT/'nbs'/nb.name, a.flags, env, verbose)
        if not ok and not verbose: print(out, file=sys.stderr)
        print(f'[{i}/{len(nbs)}] {nb.name}: {"ok" if ok else "FAILED"} in {secs:.0f}s', flush=True)
        return ok,secs

    with ThreadPoolExecutor(a.jobs) as ex: outcomes = dict(zip(nbs, ex.map(run, nbs)))
    failed = [nb.name for nb,(ok,_) in outcomes.items() if not ok]
    rows = [dict(r, notebook=nb.stem, notebook_s=round(secs, 1)) for nb,(ok,secs) in outcomes.items() for r in results(nb.stem)]
    summary = json.dumps(dict(rows=rows, failed=failed, flags=a.flags, when=time.strftime('%Y-%m-%d %H:%M'),
                              total_s=round(time.perf_counter()-t_start)), indent=1)
    (OUT/'results.json').write_text(summary)
    if not a.notebooks and a.flags == 'slow' and not failed:
        (NBS/'results.json').write_text(summary)
        subprocess.run([sys.executable, str(ROOT/'scripts'/'readme.py')], check=True)

    print_summary(json.loads(summary))

def print_summary(s):
    "The figures of a run as a table, then what failed."
    print(f'\n{"notebook":<26} {"figure":<34} {"value":>12}  {"notebook time":>13}')
    for r in s['rows']:
        v = f"{r['value']:.4g}" if isinstance(r['value'], float) else str(r['value'])
        print(f"{r['notebook']:<26} {r['key']:<34} {v+r['unit']:>12}  {r['notebook_s']:>12.0f}s")
    print(f"\nRun of {s['when']} (flags: {s['flags'] or 'none'}), {s['total_s']}s in all. Executed notebooks in {OUT/'nbs'}, "
          f"figures in {OUT/'results.json'}, the site in {ROOT/'_docs'}.")
    if s['failed']: sys.exit(f"FAILED: {', '.join(s['failed'])} (see the errors above); the other notebooks were written")

if __name__ == '__main__': main()
