"""Run fast.ai course22p2's notebooks cell by cell against this project's miniai, on the CPU with small data.

    python scripts/course_check.py --course /path/to/course22p2 [nbs/13_resnet.ipynb ...]
    python scripts/course_check.py --course /path/to/course22p2 --set diffusion
    python scripts/course_check.py --course /path/to/course22p2 --set unet

--set names a list of notebooks with the data sizes and caps that fit them (below); notebooks named on the command
line replace its list, and --train, --test and --cap override its settings. All the notebooks of a run share one
working folder and run in the order given, so a model file one notebook saves (`torch.save(..., 'models/x.pkl')`)
is there for a later one that loads it, as in the course's nbs/ folder.

Each notebook runs in its own process, its code cells in order in one namespace (a fresh `__main__`, as in
Jupyter), continuing after a failing cell. `from miniai.x import *` imports this project's miniai (the one the
venv has), not the course's; the lessons' own `#|export` cells run as written. The report gives, per notebook,
the cells that ran and each failing cell (index among the code cells, first line, the exception in one line),
classed as
  (a) outside miniai: a package that is not installed, CUDA, a download, a file another notebook makes, a cell
      timeout, or a NameError for a name that such a cell should have defined; a file the course loads but never
      saves (its save is commented out) is "a file made elsewhere"; an IndexError raised in the lesson's own code
      once a cap has cut something in the notebook is the cap's (a list as long as a capped `n_steps`, indexed up
      to the lesson's 999); a NameError for a name a later cell of the notebook defines (the course's own cell
      order); and the lessons' own faults in LESSON_FAULTS, each checked against the course's code and each
      matched by its error message, so that any other failure of the same cell is still (b);
  (b) a miniai API problem: everything else (a NameError for a name a (b) cell should have defined is (b) too).
The exit status is 1 when any (b) failure remains.

The substitutions, all of them, that make the lessons fit a CPU in minutes:
  - `datasets.load_dataset(name)` returns miniai's `load_dsd(name)` cut to the first --train/--test rows;
    other data sets raise ConnectionError (a download, so (a)). HF_HUB_OFFLINE and HF_DATASETS_OFFLINE are set.
  - `import torchvision...` gets a tiny stub (functional: to_tensor, resize, hflip; transforms: RandomCrop,
    RandomHorizontalFlip); anything else from torchvision is (a). `miniai.imports` is imported under the same stub, so
    the `T` and `TF` it re-exports (as the course's does, from torchvision) are the stub's too. Imports of other packages that are not
    installed (timm, diffusers, ...) are dropped from the cell, which then runs without them: an (a) note.
  - `--skip NOTEBOOK:CELL` skips that code cell (a), e.g. one that takes far longer here than its --cell-timeout can
    stop (the alarm waits for a running kernel to return); later cells use what the cells before it made.
  - Cells that are only shell (`!`) or magics (`%`) are skipped (a); `%time x`/`%timeit x` lines run `x`, a
    `%%time`/`%%timeit`/`%%capture` header is dropped, other magic lines become `pass`; other cell magics skip
    the cell. Cells calling `nbdev_export` are skipped (a): they would export the course's own package.
  - fastprogress's `master_bar`/`progress_bar` are its notebook bars, as in Jupyter (the course's ProgressCB
    writes values that only those accept); an IPython shell provides `display` and `get_ipython`.
  - Literal `'cuda'`/`'cuda:N'` become `'cpu'`, `x.cuda()` becomes `x.cpu()`, and `num_workers=...` becomes 0;
    `torch.load(f)` gets `weights_only=False` (the course pickles whole models; torch>=2.6 refuses them by default).
  - Caps (epochs=1, n_epochs=1, more with --cap NAME=N): an integer literal over the cap given to one of these names, in
    an assignment (tuples too), a keyword argument or a default value, is cut to the cap; with epochs capped, so
    is a literal first argument of `.fit(...)`. A tuple literal given to a capped name has its first item (a batch
    size: `sz = (2048,1,32,32)`) cut instead. Mind what a name means: the diffusion lessons' `n_steps` is the
    noise schedule's length, so capping it shortens the schedule and the sampling loops together, consistently
    in every notebook of the run (a model saved by one is sampled by the next with the same schedule).
Outputs (stdout/stderr of the cells) go to <workdir>/<notebook>.log, which is also the notebooks' working folder."""
import argparse, ast, builtins, importlib.util, json, linecache, os, re, signal, subprocess, sys, tempfile, time, traceback, types
from pathlib import Path

DEFAULT = ['09_learner', '10_activations', '11_initializing', '12_accel_sgd', '13_resnet', '14_augment']
# name: (notebooks in course order, training rows, test rows, caps, cells skipped). The diffusion lessons load the
# classifier 14_augment saves (models/data_aug2.pkl) and the DDPM models 15 and 17 save (models/fashion_ddpm*.pkl).
# n_steps: the schedule's length; steps: DDIM's sampling steps (22); sz, n_samples: how many images are sampled;
# bs: smaller batches, so that each step is short. 17_DDPM_v2:37 fits with the course's own MixedPrecision (CUDA
# autocast and GradScaler, both disabled on a CPU): here its first batch sat in oneDNN's reference (unoptimised)
# convolution backward for over ten minutes, at bs 512 and at 128, while the same UNet trains in seconds in 17's
# other fits and with miniai's MixedPrecision in 19 and 22. Cause not found; skipped. The unet set (lessons 22-25) loads
# the same classifier; steps: sampling steps (26's and 28's samplers).
SETS = {'lessons': (DEFAULT, 2048, 512, [], []),
        'diffusion': (['14_augment', '15_DDPM', '17_DDPM_v2', '18_fid', '19_DDPM_v3', '20_DDIM', '22_cosine'], 1024, 512,
                      ['n_steps=20', 'steps=10', 'sz=64', 'n_samples=64', 'bs=128'], ['17_DDPM_v2:37']),
        'unet': (['14_augment', '26_diffusion_unet', '27_attention', '28_diffusion-attn-cond', '29_vae'], 1024, 512,
                 ['steps=10', 'sz=64', 'bs=128'], [])}
# Faults of the lessons' own code, read in the course's notebooks: 'notebook:cell' -> (a fragment of the error, why).
LESSON_FAULTS = {
    **dict.fromkeys(['27_attention:21', '27_attention:22'], ('mat1 and mat2 shapes cannot be multiplied',
        "the lesson's own SelfAttention (cell 20), which takes (n, c, h*w), called on x of (n, c, h, w); no miniai code runs")),
    **dict.fromkeys(['28_diffusion-attn-cond:40', '28_diffusion-attn-cond:41'], ("multiple values for argument 'steps'",
        "the lesson calls sample(cid, ddim_step, ...), a class first; the course's own sample(f, model, sz, steps) refuses "
        "it the same way (its cond_sample, cell 38, is the one that takes a class)"))}
MINIAI = str(Path(importlib.util.find_spec('miniai').origin).parent)

# ---- the substitutions

class Sub(ast.NodeTransformer):
    "The AST substitutions: caps, 'cuda' -> 'cpu', `.cuda()` -> `.cpu()`, `num_workers` -> 0, missing imports."
    def __init__(self, caps): self.caps,self.notes,self.dropped = caps,set(),{}
    def cap(self, name, node):
        c = self.caps.get(name)
        if c is not None and isinstance(node, ast.Tuple) and node.elts:   # a shape: cap its first item, the batch size
            node.elts[0] = self.cap(name, node.elts[0])
        elif c is not None and isinstance(node, ast.Constant) and type(node.value) is int and node.value > c:
            self.notes.add(f'{name}={node.value}->{c}')
            return ast.copy_location(ast.Constant(c), node)
        return node
    def visit_Assign(self, n):
        self.generic_visit(n)
        for t in n.targets:
            if isinstance(t, ast.Name): n.value = self.cap(t.id, n.value)
            elif isinstance(t, ast.Tuple) and isinstance(n.value, ast.Tuple) and len(t.elts) == len(n.value.elts):
                n.value.elts = [self.cap(e.id, v) if isinstance(e, ast.Name) else v for e,v in zip(t.elts, n.value.elts)]
        return n
    def visit_keyword(self, k):
        self.generic_visit(k)
        if k.arg == 'num_workers' and not (isinstance(k.value, ast.Constant) and k.value.value == 0):
            self.notes.add('num_workers->0')
            k.value = ast.copy_location(ast.Constant(0), k.value)
        elif k.arg: k.value = self.cap(k.arg, k.value)
        return k
    def visit_arguments(self, a):
        self.generic_visit(a)
        pos = (a.posonlyargs + a.args)[len(a.posonlyargs + a.args)-len(a.defaults):]
        a.defaults = [self.cap(arg.arg, d) for arg,d in zip(pos, a.defaults)]
        a.kw_defaults = [d if d is None else self.cap(arg.arg, d) for arg,d in zip(a.kwonlyargs, a.kw_defaults)]
        return a
    def visit_Call(self, c):
        self.generic_visit(c)
        if isinstance(c.func, ast.Attribute):
            if c.func.attr == 'cuda' and not c.args and not c.keywords:
                self.notes.add('.cuda()->.cpu()'); c.func.attr = 'cpu'
            elif c.func.attr == 'fit' and c.args and 'epochs' in self.caps: c.args[0] = self.cap('epochs', c.args[0])
            elif ast.unparse(c.func) == 'torch.load' and not any(k.arg == 'weights_only' for k in c.keywords):
                self.notes.add('torch.load(weights_only=False)'); c.keywords.append(ast.keyword('weights_only', ast.Constant(False)))
        return c
    def visit_Constant(self, c):
        if isinstance(c.value, str) and re.fullmatch(r'cuda(:\d+)?', c.value):
            self.notes.add("'cuda'->'cpu'"); return ast.copy_location(ast.Constant('cpu'), c)
        return c
    def _imports(self, n, mods):
        "Drop the aliases of `n` whose package is not installed (torchvision is stubbed, so it stays)."
        keep = []
        for al,mod in zip(n.names, mods):
            root = mod.split('.')[0]
            if root == 'torchvision' or importlib.util.find_spec(root) is not None: keep.append(al)
            else: self.dropped[(al.asname or al.name).split('.')[0]] = root
        if keep: n.names = keep; return n
        return ast.copy_location(ast.Pass(), n)
    def visit_Import(self, n): return self._imports(n, [a.name for a in n.names])
    def visit_ImportFrom(self, n): return n if n.level else self._imports(n, [n.module]*len(n.names))

def magics(src):
    "Rewrite a cell's IPython lines, one for one; returns (source, reason to skip it or None)."
    lines = src.splitlines()
    if lines and lines[0].startswith('%%'):
        if lines[0].split()[0] not in ('%%time', '%%timeit', '%%capture'): return src, f'cell magic {lines[0].split()[0]}'
        lines[0] = ''
    out = []
    for l in lines:
        s = l.lstrip(); ind = l[:len(l)-len(s)]
        if re.match(r'%(time|timeit)\s', s): out.append(ind + re.sub(r'^%\w+\s+(-\S+\s+)*', '', s))
        elif s[:1] in ('!', '%'): out.append(ind + 'pass')
        else: out.append(l)
    code = [l for l in out if l.strip() and not l.strip().startswith('#')]
    if code and all(l.strip() == 'pass' for l in code) and any(l.lstrip()[:1] in '!%' for l in lines if l.strip()):
        return src, 'shell/magic only: ' + next(l.strip() for l in lines if l.lstrip()[:1] in '!%')
    return '\n'.join(out), None

def bound(tree):
    "The names a cell binds at its top level (not inside functions or classes)."
    names, todo = set(), list(tree.body)
    while todo:
        n = todo.pop()
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)): names.add(n.name); todo += n.decorator_list; continue
        if isinstance(n, ast.Lambda): continue
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store): names.add(n.id)
        if isinstance(n, (ast.Import, ast.ImportFrom)): names |= {(a.asname or a.name).split('.')[0] for a in n.names if a.name != '*'}
        todo += list(ast.iter_child_nodes(n))
    return names

# ---- what the child process puts in place

def small_dsd(path, *args, n_train=2048, n_test=512, **kwargs):
    "Stands in for `datasets.load_dataset`: miniai's cached copy of `path`, cut to its first rows."
    from miniai.datasets import load_dsd
    name = str(path).split('/')[-1]
    if name not in ('fashion_mnist', 'mnist'): raise ConnectionError(f'load_dataset({path!r}) would download from the Hugging Face hub')
    dsd = load_dsd(name)
    for k,n in (('train', n_train), ('test', n_test)):
        if k in dsd: dsd[k] = dsd[k].select(range(min(n, len(dsd[k]))))
    return dsd

def tv_stub():
    "A tiny torchvision: the few transforms the lessons use, in plain torch."
    import numpy as np, torch, torch.nn.functional as F
    from torch import nn
    tv, tr, fn = (types.ModuleType(n) for n in ('torchvision', 'torchvision.transforms', 'torchvision.transforms.functional'))
    def to_tensor(im):
        x = torch.from_numpy(np.array(im, copy=True))
        x = x[None] if x.ndim == 2 else x.permute(2, 0, 1)
        return x.float().div(255) if x.dtype == torch.uint8 else x.float()
    def resize(x, size, antialias=True, **kw):
        size = (size, size) if isinstance(size, int) else tuple(size)
        y = x[None] if x.ndim == 3 else x
        y = F.interpolate(y.float(), size=size, mode='bilinear', antialias=antialias, align_corners=False)
        return y[0] if x.ndim == 3 else y
    fn.to_tensor, fn.resize, fn.hflip = to_tensor, resize, lambda x: x.flip(-1)
    class RandomCrop(nn.Module):
        def __init__(self, size, padding=0, **kw): super().__init__(); self.size,self.padding = (size,size) if isinstance(size, int) else size, padding
        def forward(self, x):
            x = F.pad(x, (self.padding,)*4) if self.padding else x
            i = int(torch.randint(0, x.shape[-2]-self.size[0]+1, ())); j = int(torch.randint(0, x.shape[-1]-self.size[1]+1, ()))
            return x[..., i:i+self.size[0], j:j+self.size[1]]
    class RandomHorizontalFlip(nn.Module):
        def __init__(self, p=0.5): super().__init__(); self.p = p
        def forward(self, x): return x.flip(-1) if torch.rand(()) < self.p else x
    tr.RandomCrop, tr.RandomHorizontalFlip, tr.functional, tv.transforms = RandomCrop, RandomHorizontalFlip, fn, tr
    return {m.__name__: m for m in (tv, tr, fn)}

def importer(stubs):
    "An `__import__` for the cells' builtins: torchvision from `stubs`, everything else as usual."
    real = builtins.__import__
    def _import(name, globals=None, locals=None, fromlist=(), level=0):
        if level or name.split('.')[0] != 'torchvision': return real(name, globals, locals, fromlist, level)
        if name not in stubs: raise ModuleNotFoundError(f'No module named {name!r} (torchvision is not installed; its stub has only {sorted(stubs)})', name=name)
        for f in fromlist or ():
            if not hasattr(stubs[name], f): raise ImportError(f'cannot import {f!r} from the torchvision stub {name!r}', name=name)
        return stubs[name] if fromlist else stubs['torchvision']
    return _import

class CellTimeout(Exception): pass

def classify(e, taint, capped=False, reads=()):
    "(class, reason) of a cell's exception `e`; `taint` maps names that failed cells should have bound to (class, cell)."
    msg = f'{type(e).__name__}: {e}'
    tb = traceback.extract_tb(e.__traceback__)
    if isinstance(e, CellTimeout): return 'a', 'timeout'
    if isinstance(e, NameError) and getattr(e, 'name', None) in taint:
        c,i = taint[e.name]; return c, f'{e.name!r} comes from cell {i}'
    if isinstance(e, ImportError) and e.name and e.name.split('.')[0] != 'miniai':
        root = e.name.split('.')[0]
        if root == 'torchvision' or importlib.util.find_spec(root) is None: return 'a', f'{root} not installed'
        return 'a', f'not in the installed {root}: an API it has since dropped'
    if re.search(r'\bcuda\b|CUDA|NCCL|cudnn|nvidia', msg): return 'a', 'needs CUDA'
    if isinstance(e, (ConnectionError, TimeoutError)) or re.search(r'offline|hugging ?face|Max retries|resolve host|URLError', msg, re.I): return 'a', 'needs a download'
    if re.search(r'torchvision|timm|diffusers|k_diffusion|wandb', msg): return 'a', 'package not installed'
    if isinstance(e, FileNotFoundError) and tb and not tb[-1].filename.startswith(MINIAI):
        return 'a', f'needs a file made elsewhere: {e.filename}' if e.filename else 'needs a file made elsewhere'
    if re.search(r'Parent directory .* does not exist', msg): return 'a', 'needs a folder another notebook makes'
    if isinstance(e, IndexError) and tb and tb[-1].filename.startswith('<'):
        # an empty list a failed cell left behind, or one as long as a capped length
        n = next((n for n in reads if n in taint), None)
        if n: c,i = taint[n]; return c, f'{n!r} is what cell {i} left when it failed'
        if capped: return 'a', 'an index past a length the caps cut'
    return 'b', ''

def one_line(e):
    s = f'{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ""}'
    return s if len(s) <= 200 else s[:197] + '...'

def child(nb, out, a):
    "Run notebook `nb`'s code cells in this process, writing a JSON line per cell to `out`."
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt, datasets, fastprogress, fastprogress.fastprogress as fp
    fp.master_bar, fp.progress_bar = fastprogress.master_bar, fastprogress.progress_bar = fp.NBMasterBar, fp.NBProgressBar
    from functools import partial
    datasets.load_dataset = partial(small_dsd, n_train=a.train, n_test=a.test)
    from IPython.core.interactiveshell import InteractiveShell   # for display handles and get_ipython, as in Jupyter
    from traitlets.config import Config
    cfg = Config(); cfg.HistoryManager.hist_file = ':memory:'
    mod = types.ModuleType('__main__')   # becomes sys.modules['__main__'], so lesson-defined classes pickle
    ns = InteractiveShell.instance(config=cfg, user_module=mod).user_ns
    imp = importer(tv_stub())
    ns['__builtins__'] = dict(vars(builtins), __import__=imp)
    real, builtins.__import__ = builtins.__import__, imp   # miniai.imports re-exports torchvision's T and TF
    try: import miniai.imports
    except ImportError: pass
    finally: builtins.__import__ = real
    from IPython.display import display; ns['display'] = display
    def alarm(*_): raise CellTimeout(f'cell took over {a.cell_timeout}s')
    signal.signal(signal.SIGALRM, alarm)
    caps = {'epochs': 1, 'n_epochs': 1, **{k:int(v) for k,v in (c.split('=') for c in a.cap)}}
    cells = [''.join(c['source']) for c in json.loads(Path(nb).read_text())['cells'] if c['cell_type'] == 'code']
    taint, capped = {}, False   # capped: a cap has cut a literal in this notebook
    defs = {}   # name -> the first cell that binds it
    for j,src in enumerate(cells):
        try: names = bound(ast.parse(magics(src)[0]))
        except SyntaxError: continue
        for n in names: defs.setdefault(n, j)
    with open(out, 'w') as f:
        for i,src in enumerate(cells):
            lines = [l.strip() for l in src.splitlines() if l.strip()]
            r = dict(i=i, first=next((l for l in lines if not re.match(r'#\||%%(time|timeit|capture)\b', l)), lines[0] if lines else '')[:100], status='ok')
            print(f'\n##### cell {i}: {r["first"]}', flush=True)
            code, skip = magics(src)
            if f'{Path(nb).stem}:{i}' in a.skip: skip = 'skipped with --skip'
            if not skip and re.search(r'nbdev_export|notebook2script', code): skip = "exports the course's own package"
            tree = None
            if not skip:
                try: tree = ast.parse(code)
                except SyntaxError as e: skip = f'not Python: {one_line(e)}'
            if skip:
                r.update(status='skip', cls='a', why=skip)
                for n in (bound(tree) if tree else ()): taint[n] = ('a', i)
            else:
                sub = Sub(caps); tree = ast.fix_missing_locations(sub.visit(tree))
                r['subs'] = sorted(sub.notes)
                capped = capped or any(re.match(r'\w+=\d+->', n) for n in sub.notes)
                if sub.dropped: r['dropped'] = sorted(set(sub.dropped.values()))
                for n in sub.dropped: taint[n] = ('a', i)
                if sub.dropped and all(isinstance(n, ast.Pass) for n in tree.body):
                    r.update(status='skip', cls='a', why=f"imports {', '.join(r.pop('dropped'))}, not installed")
                    f.write(json.dumps(r) + '\n'); f.flush(); continue
                fname = f'<{Path(nb).stem} cell {i}>'
                linecache.cache[fname] = (len(code), None, code.splitlines(True), fname)
                reads = sorted({n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)})
                last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
                t0 = time.perf_counter(); signal.alarm(a.cell_timeout)
                try:
                    exec(compile(tree, fname, 'exec'), ns)
                    if last is not None:
                        v = eval(compile(ast.Expression(last.value), fname, 'eval'), ns)
                        if v is not None: print(repr(v)[:2000])
                    for n in bound(tree) | (bound(ast.Module([last], [])) if last else set()): taint.pop(n, None)
                except BaseException as e:
                    signal.alarm(0)
                    if isinstance(e, KeyboardInterrupt): raise
                    c,why = classify(e, taint, capped, reads)
                    fault = LESSON_FAULTS.get(f'{Path(nb).stem}:{i}')
                    n = getattr(e, 'name', None)
                    if c == 'b' and fault and fault[0] in str(e): why = fault[1]; c = 'a'
                    elif c == 'b' and isinstance(e, NameError) and defs.get(n, -1) > i:
                        c,why = 'a', f"{n!r} is defined in cell {defs[n]}, after this one (the course's cell order)"
                    frames = [t for t in traceback.extract_tb(e.__traceback__) if t.filename != __file__]
                    tb = ''.join(['Traceback (most recent call last):\n', *traceback.format_list(frames), *traceback.format_exception_only(type(e), e)])
                    print(tb, flush=True)
                    r.update(status='fail', cls=c, why=why, error=one_line(e), tb=tb, src=src)
                    if last is not None: tree.body.append(last)
                    for n in bound(tree): taint[n] = (c, i)
                finally: signal.alarm(0)
                r['secs'] = round(time.perf_counter()-t0, 1)
            plt.close('all')
            f.write(json.dumps(r) + '\n'); f.flush()

# ---- the parent: one process per notebook, and the report

def report(nb, rows, n_cells, secs, died, a):
    "Print notebook `nb`'s results; return its number of (b) failures."
    bad = [r for r in rows if r['status'] != 'ok']
    print(f"{nb.stem}: {sum(r['status'] == 'ok' for r in rows)}/{n_cells} code cells ran, "
          f"{sum(r['status'] == 'skip' for r in rows)} skipped, {sum(r['status'] == 'fail' for r in rows)} failed ({secs:.0f}s)")
    for r in rows:
        if r.get('dropped'): print(f"  [{r['i']:3}] a  {r['first'][:60]:60}  import of {', '.join(r['dropped'])} dropped (not installed)")
        if r['status'] == 'ok': continue
        what = r.get('error') or 'skipped'
        why = f" [{r['why']}]" if r.get('why') else ''
        print(f"  [{r['i']:3}] {r['cls']}  {r['first'][:60]:60}  {what}{why}")
        if a.tb and r['cls'] == 'b' and r.get('tb') and not r.get('why'):
            print('        ' + '\n        '.join(r['tb'].rstrip().splitlines()[-a.tb:]))
    if a.verbose:
        for r in rows:
            if r.get('subs'): print(f"  [{r['i']:3}] substituted: {', '.join(r['subs'])}")
    if died: print(f'  {died}')
    return bad

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('notebooks', nargs='*', help='notebooks, relative to --course (default: those of --set)')
    p.add_argument('--course', required=True, help='a checkout of fastai/course22p2')
    p.add_argument('--set', default='lessons', choices=list(SETS),
                   help='; '.join(f'{k}: nbs/ + {", ".join(v[0])}, --train {v[1]} --test {v[2]}{"".join(" --cap "+c for c in v[3])}{"".join(" --skip "+c for c in v[4])}'
                                  for k,v in SETS.items()) + ' (default: lessons)')
    p.add_argument('--train', type=int, help="training rows kept (default: the set's)")
    p.add_argument('--test', type=int, help="test rows kept (default: the set's)")
    p.add_argument('--cap', action='append', default=[], metavar='NAME=N', help='cap integer literals given to NAME (repeatable; epochs=1 and n_epochs=1 always, unless overridden)')
    p.add_argument('--skip', action='append', default=[], metavar='NOTEBOOK:CELL', help='skip a code cell, e.g. 17_DDPM_v2:37 (repeatable)')
    p.add_argument('--cell-timeout', type=int, default=300, help='seconds a cell may run (default 300)')
    p.add_argument('--nb-timeout', type=int, default=1200, help='seconds a notebook may run (default 1200)')
    p.add_argument('--workdir', help='working folder for the notebooks and their logs (default: a new temporary one)')
    p.add_argument('--tb', type=int, default=0, help='show the last N lines of the traceback of each (b) failure')
    p.add_argument('-v', '--verbose', action='store_true', help='list the substitutions made in each cell')
    p.add_argument('--child', nargs=2, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child: return child(*a.child, a)
    names, train, test, caps, skips = SETS[a.set]
    a.train, a.test, a.cap, a.skip = a.train or train, a.test or test, [*caps, *a.cap], [*skips, *a.skip]   # the user's caps come last, and win
    course, work = Path(a.course), Path(a.workdir or tempfile.mkdtemp(prefix='course_check_'))
    work.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HF_HUB_OFFLINE='1', HF_DATASETS_OFFLINE='1', MPLBACKEND='Agg', PYTHONUNBUFFERED='1')
    env.setdefault('OMP_NUM_THREADS', '1')
    nbs = [course/n for n in a.notebooks] or [course/'nbs'/f'{n}.ipynb' for n in names]
    print(f"{len(nbs)} notebooks, --train {a.train} --test {a.test}, caps: epochs=1 n_epochs=1 {' '.join(a.cap)}{''.join(' --skip '+c for c in a.skip)}; in {work}", flush=True)
    causes, n_b = {}, 0
    for nb in nbs:
        if not nb.exists(): print(f'{nb}: no such notebook'); n_b += 1; continue
        n_cells = sum(c['cell_type'] == 'code' for c in json.loads(nb.read_text())['cells'])
        out, log = work/f'{nb.stem}.jsonl', work/f'{nb.stem}.log'
        args = [sys.executable, os.path.abspath(__file__), '--course', str(course), '--train', str(a.train), '--test', str(a.test),
                '--cell-timeout', str(a.cell_timeout), *[f'--cap={c}' for c in a.cap], *[f'--skip={c}' for c in a.skip], '--child', str(nb.resolve()), str(out)]
        t0, died = time.perf_counter(), ''
        with open(log, 'w') as lf:
            try:
                rc = subprocess.run(args, cwd=work, env=env, stdout=lf, stderr=subprocess.STDOUT, timeout=a.nb_timeout).returncode
                if rc: died = f'the notebook process exited with status {rc}; see {log}'
            except subprocess.TimeoutExpired: died = f'killed after {a.nb_timeout}s (--nb-timeout)'
        rows = [json.loads(l) for l in out.read_text().splitlines()] if out.exists() else []
        if len(rows) < n_cells and not died: died = f'only {len(rows)} of {n_cells} cells reported; see {log}'
        for r in report(nb, rows, n_cells, time.perf_counter()-t0, died, a):
            key = (r['cls'], 'cascades: a name from a failed cell' if re.match(r"'\w+' (comes from|is what) cell", r.get('why', '')) else r.get('error') or r['why'])
            causes.setdefault(key, []).append(f"{nb.stem.split('_')[0]}:{r['i']}")
            n_b += r['cls'] == 'b'
        n_b += bool(died and 'killed' not in died)
        sys.stdout.flush()
    if causes: print('\nBy cause:')
    for (c,what),where in sorted(causes.items(), key=lambda kv: (kv[0][0], -len(kv[1]))):
        print(f"  {c}  {len(where):3}x  {what[:110]}\n           {' '.join(where)}")
    print(f'\nlogs in {work}; {n_b} miniai (b) failure(s)')
    return 1 if n_b else 0

if __name__ == '__main__': sys.exit(main())
