"""The main job: execute the lesson notebooks top to bottom, `#| slow` cells included, and write their outputs into nbs/.

Each notebook runs in its own process through nbdev's test runner (the one `nbdev-test` uses, skipping and forcing
the same flags), as a temporary copy in nbs/ so that paths relative to the notebook hold. What a cell prints is shown
on the terminal as it comes and kept in the notebook as Jupyter keeps it (stdout and stderr streams, a progress bar's
redraws collapsed to its last state); a cell slower than `SLOW_CELL` seconds gets a line. When every cell ran, the copy
is cleaned as `nbdev-clean` cleans (no execution counts, timings or object addresses), stamped with the fingerprint
of the code that produced it (see fingerprint.py) and the figures it reported with `miniai.measure.show_result`, and
written over the notebook, unless the notebook was edited meanwhile (it then goes to _out/nbs/). Then the home page,
whose results table reads those figures, is run the same way if it no longer shows them (run times within noise
leave it alone), and README.md is written from it. A notebook that fails is left as it was and does not stop the
others; the run then ends with a non-zero exit naming it."""
import argparse, io, json, os, re, shutil, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fingerprint import ROOT, NBS, pages, fingerprint, why_stale, _fmt

OUT = ROOT/'_out'
BIN = Path(sys.executable).parent
SLOW_CELL = 30   # seconds: a cell that takes longer gets a line saying so

# The child process that runs one notebook: `run_nb` below.
RUN = "import sys; sys.path.insert(0, sys.argv[1]); from run_lessons import run_nb; run_nb(sys.argv[2], sys.argv[3])"

class Echo(io.TextIOBase):
    "A cell's stdout or stderr: each write goes to the terminal at once, and to `log` with the count of displays before it."
    def __init__(self, name, term, log, shell): self.name,self.term,self.log,self.shell = name,term,log,shell
    def write(self, s):
        self.term.write(s); self.term.flush()
        self.log.append((self.name, s, len(getattr(self.shell.display_pub, 'outputs', []))))
        return len(s)

_ansi = re.compile(r'\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07')

def plain(text):
    "`text` as a terminal shows it: a carriage return redraws its line (a progress bar keeps its last state), no ANSI codes."
    lines = []
    for line in _ansi.sub('', text).replace('\r\n', '\n').split('\n'):
        if '\r' not in line: lines.append(line); continue
        shown = ''
        for part in line.split('\r'): shown = part + shown[len(part):]
        lines.append(shown.rstrip())
    return '\n'.join(lines)

def jupyter_outputs(log, outs):
    "A cell's outputs as Jupyter keeps them: what it printed (`log`) among its displays, then its error or value."
    disp = [o for o in outs if o['output_type'] == 'display_data']
    res,i = [],0
    for name,text,n in log:
        res += disp[i:n]; i = max(i, n)
        if res and res[-1]['output_type'] == 'stream' and res[-1]['name'] == name: res[-1]['text'] += text
        else: res.append(dict(output_type='stream', name=name, text=text))
    res += disp[i:] + [o for o in outs if o['output_type'] != 'display_data']
    for o in res:
        if o['output_type'] == 'stream': o['text'] = plain(o['text']).splitlines(True)
    return [o for o in res if o['output_type'] != 'stream' or o['text']]

def run_nb(path, flags):
    "Run the notebook at `path` as `nbdev-test --flags` does, echoing what its cells print and keeping it; save if all ran."
    from nbdev.config import get_config
    from nbdev.test import test_nb
    from execnb.shell import CaptureShell
    run_cell = CaptureShell.cell
    def echoing_cell(shell, c, **kw):
        log,out,err = [],sys.stdout,sys.stderr
        sys.stdout,sys.stderr = Echo('stdout', out, log, shell),Echo('stderr', err, log, shell)
        try: run_cell(shell, c, **kw)   # with verbose=True execnb leaves stdout and stderr to these
        finally: sys.stdout,sys.stderr = out,err
        if c.cell_type == 'code': c.outputs = jupyter_outputs(log, c.outputs)
    CaptureShell.cell = echoing_cell
    cfg,flags = get_config(),flags.split()
    ok,_ = test_nb(path, skip_flags=[f for f in cfg.tst_flags.split() if f not in flags], force_flags=flags,
                   basepath=cfg.config_path, save=True, cell_timeout=None, verbose=True, cell_timing_min=SLOW_CELL)
    sys.exit(0 if ok else 1)

def stamp(path, fp, rows, flags, secs):
    "Record in the notebook at `path` what produced its outputs, and what it measured; then clean it as `nbdev-clean` does."
    nb = json.loads(path.read_text())
    nb['metadata']['miniai'] = dict(fingerprint=fp, results=rows, flags=flags, seconds=round(secs))
    path.write_text(json.dumps(nb))
    subprocess.run([str(BIN/'nbdev-clean'), '--fname', str(path)], cwd=ROOT, check=True)

def execute(src, flags='', env=None, verbose=False):
    "Execute notebook `src` (plus the cells marked with `flags`) and write its outputs into it. Returns (ok, seconds, log)."
    before = src.read_bytes()
    fp = fingerprint(src)
    tmp = NBS/f'.run-{src.name}'   # in nbs/, so that relative paths hold; nbdev's globs skip dot files
    results = OUT/'results'/f'{src.stem}.jsonl'
    results.parent.mkdir(parents=True, exist_ok=True)
    results.unlink(missing_ok=True)
    shutil.copy(src, tmp)
    t0 = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, '-c', RUN, str(ROOT/'scripts'), str(tmp), flags], cwd=ROOT, text=True,
                           env=dict(env or os.environ, MINIAI_RESULTS=str(results)), **({} if verbose else dict(capture_output=True)))
        secs,log = time.perf_counter()-t0,(r.stdout or '')[-4000:] + (r.stderr or '')[-4000:]
        if r.returncode != 0: return False, secs, log
        rows = [json.loads(l) for l in results.read_text().splitlines()] if results.exists() else []
        stamp(tmp, fp, rows, flags, secs)
        if src.read_bytes() == before and fingerprint(src) == fp: os.replace(tmp, src)
        else:
            dest = OUT/'nbs'/src.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(tmp, dest)
            log += f'\n{src.name} or the code it runs was edited while it ran, so its outputs went to {dest}, not over your edits; run it again.'
            return False, secs, log
        return True, secs, log
    finally: tmp.unlink(missing_ok=True)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='*', help='notebooks to run (default: every numbered notebook in nbs/)')
    p.add_argument('--stale', action='store_true', help="run only the notebooks whose outputs came from other code")
    p.add_argument('--flags', default='slow', help="test flags to run (default: 'slow'; '' skips the slow cells)")
    p.add_argument('--jobs', type=int, default=1, help='notebooks run at once (default 1, so that timings are fair)')
    p.add_argument('--quiet', action='store_true', help="don't stream the cells' output")
    a = p.parse_args()
    index = NBS/'index.ipynb'
    nbs = [Path(n).resolve() for n in a.notebooks] or pages()[1:]
    nbs = [nb for nb in nbs if nb != index and not (a.stale and not why_stale(nb))]
    verbose = not a.quiet and a.jobs == 1
    t_start = time.perf_counter()

    def run(nb):
        i = nbs.index(nb)+1
        print(f'[{i}/{len(nbs)}] {nb.name} ...', flush=True)
        ok,secs,log = execute(nb, a.flags, verbose=verbose)
        if not ok and (not verbose or 'edited while it ran' in log): print(log, file=sys.stderr)
        print(f'[{i}/{len(nbs)}] {nb.name}: {"ok" if ok else "FAILED"} in {secs:.0f}s', flush=True)
        return ok

    with ThreadPoolExecutor(a.jobs) as ex: outcomes = dict(zip(nbs, ex.map(run, nbs)))
    failed = [nb.name for nb,ok in outcomes.items() if not ok]
    if why := why_stale(index):   # its results table shows what the lessons measured
        print(f"index.ipynb: {'; '.join(why)}: run again", flush=True)
        ok,_,log = execute(index)
        if not ok: print(log, file=sys.stderr); failed.append(index.name)
    else: print('index.ipynb: its table still shows what the notebooks recorded (run times within noise): left as it was')
    subprocess.run([sys.executable, str(ROOT/'scripts'/'readme.py')], check=True)
    print_summary([nb for nb,ok in outcomes.items() if ok], time.perf_counter()-t_start)
    if failed: sys.exit(f"FAILED: {', '.join(failed)} (see the errors above); they were left as they were, the others written")

def print_summary(nbs, secs):
    "The figures the notebooks just run reported, as a table."
    rows = [(nb, r) for nb in nbs for r in json.loads(nb.read_text())['metadata']['miniai']['results']]
    if rows: print(f'\n{"notebook":<16} {"figure":<34} {"value":>12}  {"target":>10}')
    for nb,r in rows:
        t = f"{r['target']} ({'met' if r['met'] else 'NOT met'})" if r.get('target') else ''
        print(f"{nb.stem:<16} {r['key']:<34} {_fmt(r['value'])+r['unit']:>12}  {t}")
    print(f"\n{len(nbs)} notebooks written in {secs:.0f}s, outputs in nbs/ (commit them with the code that made them).")

if __name__ == '__main__': main()
