"""The book's Fashion-MNIST recipe (`miniai.faster.fast_learner`, taught in nbs/09a_faster.ipynb; `--recipe accel` for
`miniai.accel.recipe_learner` of nbs/09_accel.ipynb): test accuracy at a budget of training compute, over seeds; how
much of the machine the training uses, with each speed option alone; and how it holds up on a busy machine.

1. The main runs train the recipe (`fast_learner`: `recipe_learner` with a fifth stage, widths 12 to 192, its first
   layer started from whitening filters, which `--no-whiten` leaves out, compiled by `CompileCB`, and with
   `EMACB(--ema)` if `--ema` is given; `--nfs` or `--width` sets the widths, for every run of the script) to `--tflops` TFLOPs (default 50) of training compute each, one per seed of
   `--seeds` (default 3: seeds 42, 43, 44); `--lookahead` adds `LookaheadCB`, and `--mm-wgrad` `MMWgradCB` (nbs/09b_wgrad:
   the weights' gradient as one matrix product, on the layers where that is faster): the FLOPs of one training batch, counted by `FlopCounterMode` (forward and backward), times the
   batches trained. Each then predicts the test set, averaging over flips and one-pixel shifts. The RESULT has
   `accuracy_mean` and `accuracy_std` (the sample standard deviation) over the seeds, `accuracies`, and the first seed's
   `accuracy` (with `accuracy_flip`, flips only, and `accuracy_no_tta`), `tflops`, `epochs`, `seconds` (of training),
   and `mfu`: the training FLOP/s over the FLOP/s of a matrix product in the type it trained in (`dtype`: bf16 on a
   CPU that has it, fp16 on CUDA, else float32), measured in the same run on the same threads. `seconds` and `mfu` are
   the first seed's, whose run includes compiling; `mfu_median` is the median over the seeds.
2. `--speed-secs` (default 20, 0 skips it): each speed option alone, against the eager recipe of `09_accel` (channels-
   last, batches of 512, AdamW's default foreach implementation, mixed precision): `torch.compile` (`CompileCB`), the
   contiguous layout, compiled and contiguous, compiled with `MMWgradCB`, batches of 256 and 1024, AdamW as a for loop
   and fused, float32, float32 compiled, and float32 compiled with `MMWgradCB`.
   Each trains for that many seconds after a warm-up (which compiles, where it compiles); `speed` gives each one's
   training GFLOP/s, its mfu against a matrix product in its own type, and its speedup over the eager recipe.
3. Two short runs of `--busy-secs` seconds of training each, one on the quiet machine and one beside a CPU-bound
   process at normal priority that this script starts and stops itself: `busy_ratio = epochs_busy/epochs_quiet`.
   The same pair without `ThreadsCB` (PyTorch's default threads throughout) gives `busy_ratio_default_threads`.

Everything comes from `miniai`; this script only sets the budgets and prints. Run it alone on the machine: anything
else that runs takes the place of the quiet machine. `--device cuda` runs it on a GPU."""
import argparse, inspect, json, os, statistics, time
from functools import partial
import torch
from torch import optim
from miniai.conv import def_device
from miniai.learner import ProgressCB
from miniai.augment import shift_views
from miniai.training import accuracy
from miniai.accel import (fashion_dls, recipe_learner, fit_budget, flops_per_batch, matmul_flops, busy_cpu, MixedPrecisionCB,
                          ChannelsLastCB)
from miniai.faster import fast_learner, CompileCB, LookaheadCB
from miniai.wgrad import MMWgradCB

def nfs_of(a):
    "The ResNet's widths: `--nfs`, else `--width` doubled over as many stages as the recipe has, else the recipe's own."
    default = inspect.signature(fast_learner if a.recipe == 'faster' else recipe_learner).parameters['nfs'].default
    if a.nfs: return tuple(a.nfs)
    return tuple(a.width*2**i for i in range(len(default))) if a.width else default

def recipe_kw(a): return dict(nfs=nfs_of(a), lr=a.lr, wd=a.wd, ls=a.ls, mixed=not a.no_mixed, device=a.device)

def peak(a, peaks, dtype):
    "The FLOP/s of a matrix product in `dtype`, measured once per run."
    if dtype not in peaks: peaks[dtype] = matmul_flops(dtype=dtype, device=a.device)
    return peaks[dtype]

def make(a, seed=42, **kwargs):
    torch.manual_seed(seed)
    kw = recipe_kw(a)
    if a.recipe == 'faster':
        cbs = ([LookaheadCB()] if a.lookahead else []) + ([MMWgradCB()] if a.mm_wgrad else [])
        return fast_learner(a.dls, ema=a.ema or None, whiten=not a.no_whiten, cbs=cbs, **{**kw, **kwargs})
    return recipe_learner(a.dls, **{**kw, **kwargs})

def acc(probs, ys): return round(accuracy(probs, ys).item(), 4)

def load(): return round(os.getloadavg()[0], 1)

def dtype_of(learn): return next((cb.dtype for cb in learn.cbs if isinstance(cb, MixedPrecisionCB)), torch.float32)

def main_run(a, seed, peaks):
    learn = make(a, seed)
    n,secs = fit_budget(learn, tflops=a.tflops, cbs=[ProgressCB(notebook=False)] if seed == a.seed0 else [])
    fpb = flops_per_batch(learn.model, next(iter(a.dls.train)), learn.loss_func)
    r = dict(seed=seed, accuracy=acc(*learn.tta(shift_views())), accuracy_flip=acc(*learn.tta()),
             accuracy_no_tta=acc(*learn.capture_preds()))
    dtype = dtype_of(learn)
    pk = peak(a, peaks, dtype)
    tflops = n*fpb/1e12
    r.update(dtype=str(dtype), tflops=round(tflops, 1), epochs=round(n/len(a.dls.train), 2), seconds=round(secs, 1),
             train_gflops_s=round(tflops*1e3/secs, 1), matmul_gflops_s=round(pk/1e9, 1), mfu=round(tflops*1e12/secs/pk, 3))
    print(f"seed {seed}: {fpb/1e9:.1f} GFLOPs per batch; {n} steps, {r['epochs']:.2f} epochs, {tflops:.1f} TFLOPs in {secs:.0f}s: "
          f"{r['train_gflops_s']:.0f} GFLOP/s against a {dtype} matmul's {pk/1e9:.0f}, mfu {r['mfu']:.3f}; test accuracy "
          f"{r['accuracy']} (flips {r['accuracy_flip']}, none {r['accuracy_no_tta']}); load average {load()}", flush=True)
    return r

def speed_options(a):
    "Each speed option alone: (name, learner-making kwargs, fix-up of the learner)."
    drop_cl = lambda learn: setattr(learn, 'cbs', [cb for cb in learn.cbs if not isinstance(cb, ChannelsLastCB)])
    opt = lambda **kw: (lambda learn: setattr(learn, 'opt_func', partial(optim.AdamW, weight_decay=a.wd, **kw)))
    return [('eager', {}, None), ('compiled', dict(cbs=[CompileCB()]), None), ('contiguous', {}, drop_cl),
            ('compiled contiguous', dict(cbs=[CompileCB()]), drop_cl),
            ('compiled, MMWgradCB', dict(cbs=[CompileCB(), MMWgradCB()]), None), ('batches of 256', dict(bs=256), None),
            ('batches of 1024', dict(bs=1024), None), ('AdamW for loop', {}, opt(foreach=False)),
            ('AdamW fused', {}, opt(fused=True)), ('float32', dict(mixed=False), None),
            ('compiled float32', dict(mixed=False, cbs=[CompileCB()]), None),
            ('compiled float32, MMWgradCB', dict(mixed=False, cbs=[CompileCB(), MMWgradCB()]), None)]

def speed(a, peaks):
    res = {}
    dlss = {a.bs: a.dls}
    for name,kw,fix in speed_options(a):
        bs = kw.pop('bs', a.bs)
        if bs not in dlss: dlss[bs] = fashion_dls(bs, device=a.device)   # loaded once per batch size
        torch.manual_seed(0)
        learn = recipe_learner(dlss[bs], threads=False, **{**recipe_kw(a), **kw})
        if fix: fix(learn)
        fit_budget(learn, secs=3)   # warm-up: the first batches, and compiling
        n,secs = fit_budget(learn, secs=a.speed_secs)
        fpb = flops_per_batch(learn.model, next(iter(dlss[bs].train)), learn.loss_func)
        dtype = dtype_of(learn)
        gf = n*fpb/secs/1e9
        res[name] = dict(gflops_s=round(gf, 1), mfu=round(gf*1e9/peak(a, peaks, dtype), 3), dtype=str(dtype))
        res[name]['speedup'] = round(gf/res['eager']['gflops_s'], 2)
        print(f"speed, {name}: {n} steps of {bs} in {secs:.0f}s, {gf:.0f} GFLOP/s in {dtype}, mfu {res[name]['mfu']:.3f}, "
              f"{res[name]['speedup']:.2f}x the eager recipe; load average {load()}", flush=True)
    return res

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--recipe', choices=['faster', 'accel'], default='faster', help="09a's fast_learner or 09's recipe_learner")
    p.add_argument('--tflops', type=float, default=50., help='training compute of each main run (0 skips them)')
    p.add_argument('--seeds', type=int, default=3, help='main runs, with seeds 42, 43, ...')
    p.add_argument('--speed-secs', type=float, default=20., help='seconds of training for each speed option (0 skips them)')
    p.add_argument('--busy-secs', type=float, default=30., help='seconds of training in each busy-machine run (0 skips them)')
    p.add_argument('--bs', type=int, default=512)
    p.add_argument('--lr', type=float, default=1e-2)
    p.add_argument('--wd', type=float, default=0.05)
    p.add_argument('--ls', type=float, default=0.1, help='label smoothing')
    p.add_argument('--width', type=int, default=None, help="the ResNet's first width, each stage doubling it (default: the recipe's)")
    p.add_argument('--nfs', type=int, nargs='+', default=None, help="the ResNet's widths, one per stage (default: the recipe's)")
    p.add_argument('--ema', type=float, default=0, help="fast_learner's EMACB decay (default 0: no average of the weights)")
    p.add_argument('--lookahead', action='store_true', help="fast_learner with LookaheadCB (airbench's: every 5 steps, decay 0.95**5)")
    p.add_argument('--mm-wgrad', action='store_true', help="fast_learner with MMWgradCB (the weights' gradient as one matrix product where faster)")
    p.add_argument('--no-whiten', action='store_true', help="fast_learner's first layer initialised as usual, not whitened")
    p.add_argument('--device', default=def_device)
    p.add_argument('--no-mixed', action='store_true', help='float32 instead of mixed precision')
    a = p.parse_args()
    if a.nfs and a.width: p.error('give the widths one way: --nfs or --width, not both')
    a.seed0 = 42
    t0 = time.perf_counter()
    a.dls = fashion_dls(a.bs, device=a.device)
    print(f'torch {torch.__version__} on {a.device}, {torch.get_num_threads()} threads; data in {time.perf_counter()-t0:.1f}s; '
          f'{len(a.dls.train)} batches of {a.bs} per epoch; load average {load()} (above 2, other work shares these 2 cores)', flush=True)
    res = dict(recipe=a.recipe, ema=a.ema if a.recipe == 'faster' else None, lookahead=a.recipe == 'faster' and a.lookahead, mm_wgrad=a.recipe == 'faster' and a.mm_wgrad, whiten=a.recipe == 'faster' and not a.no_whiten, device=a.device, mixed=not a.no_mixed, threads=torch.get_num_threads(), nfs=list(nfs_of(a)), bs=a.bs,
               lr=a.lr, wd=a.wd, ls=a.ls, seeds=a.seeds)
    peaks = {}

    if a.tflops and a.seeds:
        runs = [main_run(a, a.seed0+i, peaks) for i in range(a.seeds)]
        accs = [r['accuracy'] for r in runs]
        res.update(runs[0])
        res.update(accuracies=accs, accuracy_mean=round(statistics.mean(accs), 4),
                   accuracy_std=round(statistics.stdev(accs), 4) if len(accs) > 1 else None,
                   mfu_median=round(statistics.median(r['mfu'] for r in runs), 3), load_avg_main=load())
        print(f"accuracy over {a.seeds} seeds: mean {res['accuracy_mean']:.4f}, std {res['accuracy_std']}", flush=True)

    if a.speed_secs and torch.device(a.device).type == 'cpu': res['speed'] = speed(a, peaks)

    if a.busy_secs and torch.device(a.device).type == 'cpu':
        for threads in (True, False):
            epochs = {}
            for busy in (False, True):
                learn = make(a, threads=threads)
                with busy_cpu(1 if busy else 0): n,_ = fit_budget(learn, secs=a.busy_secs)
                epochs[busy] = n/len(a.dls.train)
                print(f"{'ThreadsCB' if threads else 'default threads'}, {'busy' if busy else 'quiet'}: {epochs[busy]:.2f} epochs "
                      f"in {a.busy_secs:g}s", flush=True)
            sfx = '' if threads else '_default_threads'
            res.update({f'epochs_quiet{sfx}': round(epochs[False], 3), f'epochs_busy{sfx}': round(epochs[True], 3),
                        f'busy_ratio{sfx}': round(epochs[True]/epochs[False], 3)})
        res.update(busy_secs=a.busy_secs, load_avg_end=load())
    print('RESULT ' + json.dumps(res))

if __name__ == '__main__': main()
