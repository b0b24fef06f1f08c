"""The book's Fashion-MNIST recipe (`miniai.accel.recipe_learner`, taught in nbs/09_accel.ipynb): test accuracy at a
budget of training compute, how much of the machine the training uses, and how it holds up on a busy machine.

1. The main run trains to `--tflops` TFLOPs (default 100) of training compute: the FLOPs of one training batch,
   counted by `FlopCounterMode` (forward and backward), times the batches trained. Then it predicts the test set,
   averaging over flips and one-pixel shifts. It reports `accuracy` (with `accuracy_flip`, flips only, and
   `accuracy_no_tta`), `tflops`, `epochs`, `seconds` (of training), and `mfu`: the training FLOP/s over the FLOP/s of a
   matrix product in the type it trained in (`dtype`: bf16 on a CPU that has it, fp16 on CUDA, else float32), measured
   in the same run on the same threads.
2. Two short runs of `--busy-secs` seconds of training each, one on the quiet machine and one beside a CPU-bound
   process at normal priority that this script starts and stops itself: `busy_ratio = epochs_busy/epochs_quiet`.
   The same pair without `ThreadsCB` (PyTorch's default threads throughout) gives `busy_ratio_default_threads`.

Everything comes from `miniai`; this script only sets the budgets and prints. Run it alone on the machine: anything
else that runs takes the place of the quiet machine. `--device cuda` runs it on a GPU (`make gpu-check` does)."""
import argparse, json, os, time
import torch
from miniai.conv import def_device
from miniai.learner import ProgressCB
from miniai.augment import shift_views
from miniai.training import accuracy
from miniai.accel import fashion_dls, recipe_learner, fit_budget, flops_per_batch, matmul_flops, busy_cpu, MixedPrecisionCB

def train(dls, tflops=None, secs=None, progress=False, seed=42, **kwargs):
    "Train the recipe to a budget of `tflops` or `secs`; return the learner, the steps taken and the seconds."
    torch.manual_seed(seed)
    learn = recipe_learner(dls, **kwargs)
    steps,secs = fit_budget(learn, tflops=tflops, secs=secs, cbs=[ProgressCB(notebook=False)] if progress else [])
    return learn, steps, secs

def acc(probs, ys): return round(accuracy(probs, ys).item(), 4)

def load(): return round(os.getloadavg()[0], 1)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--tflops', type=float, default=100., help='training compute of the main run (0 skips it)')
    p.add_argument('--busy-secs', type=float, default=30., help='seconds of training in each busy-machine run (0 skips them)')
    p.add_argument('--bs', type=int, default=512)
    p.add_argument('--lr', type=float, default=1e-2)
    p.add_argument('--wd', type=float, default=0.05)
    p.add_argument('--width', type=int, default=12, help="the ResNet's first width; each stage doubles it")
    p.add_argument('--device', default=def_device)
    p.add_argument('--no-mixed', action='store_true', help='float32 instead of mixed precision')
    a = p.parse_args()
    kw = dict(nfs=tuple(a.width*2**i for i in range(4)), lr=a.lr, wd=a.wd, mixed=not a.no_mixed, device=a.device)
    t0 = time.perf_counter()
    dls = fashion_dls(a.bs, device=a.device)
    print(f'torch {torch.__version__} on {a.device}, {torch.get_num_threads()} threads; data in {time.perf_counter()-t0:.1f}s; '
          f'{len(dls.train)} batches of {a.bs} per epoch; load average {load()} (above 2, other work shares these 2 cores)', flush=True)
    res = dict(device=a.device, mixed=not a.no_mixed, threads=torch.get_num_threads(), width=a.width, bs=a.bs, lr=a.lr, wd=a.wd)

    if a.tflops:
        learn,n,secs = train(dls, tflops=a.tflops, progress=True, **kw)
        fpb = flops_per_batch(learn.model, next(iter(dls.train)), learn.loss_func)
        accs = dict(accuracy=acc(*learn.tta(shift_views())), accuracy_flip=acc(*learn.tta()), accuracy_no_tta=acc(*learn.capture_preds()))
        dtype = next((cb.dtype for cb in learn.cbs if isinstance(cb, MixedPrecisionCB)), torch.float32)
        peak = matmul_flops(dtype=dtype, device=a.device)
        tflops = n*fpb/1e12
        mfu = tflops*1e12/secs/peak
        print(f'{fpb/1e9:.1f} GFLOPs per batch; {n} steps, {n/len(dls.train):.2f} epochs, {tflops:.1f} TFLOPs in {secs:.0f}s: '
              f'{tflops*1e3/secs:.0f} GFLOP/s against a {dtype} matmul\'s {peak/1e9:.0f}, mfu {mfu:.2f}; test accuracy {accs}', flush=True)
        res.update(accs, dtype=str(dtype), tflops=round(tflops, 1), mfu=round(mfu, 3), epochs=round(n/len(dls.train), 2), seconds=round(secs, 1),
                   train_gflops_s=round(tflops*1e3/secs, 1), matmul_gflops_s=round(peak/1e9, 1), load_avg_main=load())

    if a.busy_secs and torch.device(a.device).type == 'cpu':
        for threads in (True, False):
            epochs = {}
            for busy in (False, True):
                with busy_cpu(1 if busy else 0):
                    _,n,_ = train(dls, secs=a.busy_secs, threads=threads, **kw)
                epochs[busy] = n/len(dls.train)
                print(f"{'ThreadsCB' if threads else 'default threads'}, {'busy' if busy else 'quiet'}: {epochs[busy]:.2f} epochs "
                      f"in {a.busy_secs:g}s", flush=True)
            sfx = '' if threads else '_default_threads'
            res.update({f'epochs_quiet{sfx}': round(epochs[False], 3), f'epochs_busy{sfx}': round(epochs[True], 3),
                        f'busy_ratio{sfx}': round(epochs[True]/epochs[False], 3)})
        res.update(busy_secs=a.busy_secs, load_avg_end=load())
    print('RESULT ' + json.dumps(res))

if __name__ == '__main__': main()
