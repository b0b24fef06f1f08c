"""What produced a notebook's outputs, and whether they are still what its code gives.

The notebooks are committed with their outputs. The fingerprint of a notebook is a hash of its code cells and of
every file of the repository that code runs: the `miniai` modules it imports, the modules those import in turn, and
any script it starts (a benchmark, an example). Prose is left out: editing a sentence changes no output. The home
page (index.ipynb) shows the figures the lessons reported and their run times, so its fingerprint holds those too, as
they were when it was written. It is stale when a figure differs now, or a timing beyond noise: timings are the figures
in s or ms, or whose key ends in _s or _ms or names a speedup, an overhead, a busy ratio or an MFU (ratios of times),
and they stand when within `TOL` (25%) of each other; each notebook's run time (`seconds`) stands within 25% or
`TOL_S` (30 s). The target and whether it was met must still agree exactly. So re-running a notebook whose timings
move only by noise leaves the home page and README.md alone.

`make lessons` records the fingerprint in each notebook it writes (metadata `miniai.fingerprint`). Run as a script
(`make test` does), this fails when a notebook's outputs came from other code, naming the notebook, what changed and
the command that refreshes it; when all notebooks together outgrow `MAX_MB`; and when a notebook's prose still says
`TODO(refresh)`, left by a change that waits for its re-run."""
import hashlib, json, re, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NBS, LIB = ROOT/'nbs', ROOT/'miniai'
MAX_MB = 10
TODO = 'TODO(refresh)'   # in a notebook's prose: a passage to write from the figures of its next run
TOL, TOL_S = 0.25, 30   # timings that differ by less than 25% (run times: or by 30 s) are the same but for noise

def pages():
    "The notebooks of the book: the home page first, then the lessons in order."
    return [NBS/'index.ipynb'] + sorted(NBS.glob('[0-9]*.ipynb'))

def read(path) -> dict:
    "The notebook at `path` as plain JSON (its cells' sources joined into strings)."
    nb = json.loads(Path(path).read_text())
    for c in nb['cells']:
        if isinstance(c['source'], list): c['source'] = ''.join(c['source'])
    return nb

def code(nb) -> str: return '\n'.join(c['source'] for c in nb['cells'] if c['cell_type'] == 'code')

_re_mod = re.compile(r'\bminiai\.(\w+)|from\s+miniai\s+import\s+([\w, ]+)|from\s+\.(\w+)\s+import|from\s+\.\s+import\s+([\w, ]+)')
_re_script = re.compile(r"""\b(benchmarks|examples|scripts|tests)['"]?\s*/\s*['"]?(\w+\.py)\b""")

def deps(text) -> set:
    "The files of the repository that the Python code `text` imports (miniai modules) or names as a script to run."
    fs = set()
    for m in _re_mod.finditer(text):
        for n in re.split(r'[,\s]+', next(g for g in m.groups() if g).strip()):
            if n and (LIB/f'{n}.py').exists(): fs.add(LIB/f'{n}.py')
    fs.update(ROOT/d/f for d,f in _re_script.findall(text) if (ROOT/d/f).exists())
    return fs

def runs(text) -> set:
    "`deps` of `text`, with the files those depend on in turn."
    todo,seen = deps(text),set()
    while todo:
        f = todo.pop()
        seen.add(f)
        todo |= deps(f.read_text()) - seen
    return seen

def _h(b: bytes) -> str: return hashlib.sha256(b).hexdigest()[:16]

def shown() -> dict:
    "What the home page's results table shows: each lesson's figures and run time, by notebook (None: no outputs yet)."
    metas = {p.stem: read(p)['metadata'].get('miniai') for p in pages()[1:]}
    return {nb: m and dict(results=m.get('results', []), seconds=m.get('seconds')) for nb,m in metas.items()}

_re_timing = re.compile(r'_m?s$|speedup|overhead|busy_ratio|mfu')

def is_timing(r) -> bool: return r['unit'].strip() in ('s', 'ms') or bool(_re_timing.search(r['key']))

def near(a, b, floor=0) -> bool:
    "Whether the timings `a` and `b` differ only by noise: by less than `TOL` of the larger, or than `floor`."
    return abs(a-b) <= max(TOL*max(abs(a), abs(b)), floor)

def _fmt(v): return f'{v:.4g}' if isinstance(v, float) else str(v)

def changes(was, now) -> list:
    "What differs between two records of what the home page shows (`shown`): figures exactly, timings beyond noise."
    why = []
    for nb in sorted(set(was) | set(now)):
        w,n = was.get(nb),now.get(nb)
        if not (w and n):
            if w != n: why.append(f'{nb} ' + ('has no outputs now' if w else 'has outputs now'))
            continue
        if not near(w['seconds'] or 0, n['seconds'] or 0, TOL_S):
            why.append(f"{nb} ran in {n['seconds']} s, not {w['seconds']} s")
        ws,ns = ({r['key']: r for r in x['results']} for x in (w, n))
        for k in sorted(set(ws) | set(ns)):
            a,b = ws.get(k),ns.get(k)
            if a is None or b is None:
                why.append(f"{nb} {'has' if b else 'no longer has'} the figure {k}")
                continue
            noise = is_timing(a) and {**a, 'value': 0} == {**b, 'value': 0} and near(a['value'], b['value'])
            if a != b and not noise:
                met = f" ({'met' if b['met'] else 'not met'})" if b['met'] != a['met'] else ''
                why.append(f"{nb} {k} is {_fmt(b['value'])}{b['unit']}{met}, not {_fmt(a['value'])}{a['unit']}")
    return why

def fingerprint(path) -> dict:
    "The hashes of what produces the outputs of the notebook at `path`: its code cells and the files they run."
    path = Path(path)
    src = code(read(path))
    fp = dict(code=_h(src.encode()), files={str(f.relative_to(ROOT)): _h(f.read_bytes()) for f in sorted(runs(src))})
    if path.name == 'index.ipynb': fp['shown'] = shown()   # the figures its table shows, to compare within noise
    return fp

def recorded(path) -> dict | None:
    "The fingerprint the notebook at `path` was written with, if `make lessons` wrote it."
    return read(path)['metadata'].get('miniai', {}).get('fingerprint')

def why_stale(path) -> list:
    "Why the outputs of the notebook at `path` are not what its code gives now; empty if they are."
    was,now = recorded(path),fingerprint(path)
    if was is None: return ['it has no outputs from `make lessons`']
    why = ['its code cells changed'] if was['code'] != now['code'] else []
    files = sorted(f for f in {**was['files'], **now['files']} if was['files'].get(f) != now['files'].get(f))
    if files: why.append(', '.join(files) + (' changed' if len(files) > 1 or files[0] in now['files'] else ' is gone'))
    if 'shown' in now and 'shown' not in was: why.append("it does not record the lessons' figures it shows")
    elif 'shown' in now and (figs := changes(was['shown'], now['shown'])):
        more = f', and {len(figs)-4} more' if len(figs) > 4 else ''
        why.append(f"the lessons' figures changed ({', '.join(figs[:4])}{more})")
    return why

def refresh_cmd(path) -> str: return f'make lessons NB=nbs/{Path(path).name}'

def main():
    stale = {p: why for p in pages() if (why := why_stale(p))}
    for p,why in stale.items():
        what = 'it has no outputs' if recorded(p) is None else f"its outputs came from other code ({'; '.join(why)})"
        print(f"nbs/{p.name}: {what}. Write them with `{refresh_cmd(p)}`", file=sys.stderr)
    mb = sum(p.stat().st_size for p in pages())/2**20
    big = mb > MAX_MB
    if big:
        sizes = ', '.join(f'{p.name} {p.stat().st_size/2**20:.1f}' for p in sorted(pages(), key=lambda p: -p.stat().st_size)[:3])
        print(f"The notebooks hold {mb:.1f} MB, more than {MAX_MB} MB (largest: {sizes} MB): draw smaller figures "
              f"(figsize, fewer images per grid), or fewer of them.", file=sys.stderr)
    if stale:
        print(f"{len(stale)} of {len(pages())} notebooks are stale; `make refresh` refreshes them all.", file=sys.stderr)
    # prose about a run's figures that has to be written once the run is done (a change waiting for its re-run)
    todo = [p.name for p in pages() if any(c['cell_type'] == 'markdown' and TODO in c['source'] for c in read(p)['cells'])]
    for n in todo: print(f"nbs/{n}: its prose still says {TODO}: write it from the figures of its last run.", file=sys.stderr)
    if stale or big or todo: sys.exit(1)
    print(f"Every notebook's outputs came from its current code ({len(pages())} notebooks, {mb:.1f} MB)")

if __name__ == '__main__': main()
