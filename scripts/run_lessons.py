"""The main job: execute every lesson notebook top to bottom, `#| slow` cells included, and print what they measured.

Each notebook runs in its own process on a copy in _out/nbs/ (the executed copy, outputs and all, stays there),
one after another so that their timings do not fight over the CPU. Figures that a notebook reports with
`miniai.datasets.show_result` are collected in _out/results.json and printed as a table at the end; after a
full run (all notebooks, slow cells included, none failed) they also go to nbs/results.json, which the home page
(nbs/index.ipynb, and so README.md) shows as its results table.
A notebook that fails does not stop the others; the run then ends with a non-zero exit naming it."""
import argparse, json, os, shutil, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT/'_out'

def run_nb(nb, flags, verbose):
    dest = OUT/'nbs'/nb.name
    shutil.copy(nb, dest)
    env = dict(os.environ, MINIAI_RESULTS=str(OUT/'results'/f'{nb.stem}.jsonl'))
    cmd = [str(Path(sys.executable).parent/'nbdev-test'), str(dest), '--flags', flags, '--save', '--cell-timeout', '0']
    if verbose: cmd.append('--verbose')
    t0 = time.perf_counter()
    ok = subprocess.run(cmd, env=env, cwd=ROOT).returncode == 0
    return ok, time.perf_counter()-t0

def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('notebooks', nargs='*', help='notebooks to run (default: every numbered notebook in nbs/)')
    p.add_argument('--flags', default='slow', help="test flags to run (default: 'slow'; '' skips the slow cells)")
    p.add_argument('--quiet', action='store_true', help="don't stream the cells' output")
    a = p.parse_args()
    nbs = [Path(n).resolve() for n in a.notebooks] or sorted((ROOT/'nbs').glob('[0-9]*.ipynb'))
    for d in ('nbs', 'results'): (OUT/d).mkdir(parents=True, exist_ok=True)
    rows,failed,t_start = [],[],time.perf_counter()
    for i,nb in enumerate(nbs, 1):
        (OUT/'results'/f'{nb.stem}.jsonl').unlink(missing_ok=True)
        print(f'\n[{i}/{len(nbs)}] {nb.name} ...', flush=True)
        ok,secs = run_nb(nb, a.flags, not a.quiet)
        print(f'[{i}/{len(nbs)}] {nb.name}: {"ok" if ok else "FAILED"} in {secs:.0f}s', flush=True)
        if not ok: failed.append(nb.name)
        res = OUT/'results'/f'{nb.stem}.jsonl'
        recs = [json.loads(l) for l in res.read_text().splitlines()] if res.exists() else []
        rows += [dict(r, notebook=nb.stem, notebook_s=round(secs, 1), ok=ok) for r in recs]
    summary = json.dumps(dict(rows=rows, failed=failed, flags=a.flags, when=time.strftime('%Y-%m-%d %H:%M'),
                              total_s=round(time.perf_counter()-t_start)), indent=1)
    (OUT/'results.json').write_text(summary)
    # A full run (every notebook, slow cells too, none failed) becomes the README's results table.
    if not a.notebooks and a.flags == 'slow' and not failed:
        (ROOT/'nbs'/'results.json').write_text(summary)
        subprocess.run([sys.executable, str(ROOT/'scripts'/'readme.py')], check=True)
    print(f'\n{"notebook":<24} {"figure":<32} {"value":>12}  {"notebook time":>13}')
    for r in rows:
        v = f"{r['value']:.4g}" if isinstance(r['value'], float) else str(r['value'])
        print(f"{r['notebook']:<24} {r['key']:<32} {v+r['unit']:>12}  {r['notebook_s']:>12.0f}s")
    print(f'\nExecuted notebooks are in {OUT/"nbs"}; figures in {OUT/"results.json"}; total {time.perf_counter()-t_start:.0f}s')
    if failed: sys.exit(f'FAILED: {", ".join(failed)} (see the errors above); the other notebooks were written')

if __name__ == '__main__': main()
