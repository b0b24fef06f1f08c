"""Epoch time of the Fashion-MNIST classifier (examples/train_ddp.py) on 1 and 2 processes, with and without mixed
precision and channels-last, as ratios to one float32 process measured in the same run, with the accuracy reached.
The bf16 configurations run only on a CPU with bf16 arithmetic of its own (`miniai.accel.cpu_bf16`).

Every configuration takes the same steps on the same data: the 2-process runs use half the batch size per process,
so that each step sees the same global batch. Each process has one thread, as `torchrun` gives its processes, so that
"2 procs" against "1 proc" measures what DDP brings; the last configuration is one process with PyTorch's default
number of threads. An epoch's time is the fastest epoch after the first (which warms up). The load average is recorded
because other work on the machine distorts the timings, the multi-threaded ones most.
Run it alone: `flock ~/.cache/miniai/cpu.lock python benchmarks/scaling.py`."""
import argparse, json, os, subprocess, sys, tempfile, time
from pathlib import Path
from miniai.accel import cpu_bf16

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = str(ROOT/'examples'/'train_ddp.py')

ONE = {'OMP_NUM_THREADS': '1'}
# name: (processes, extra flags, environment changes; None removes a variable)
CONFIGS = {
    '1 proc':                   (1, [], ONE),
    '1 proc, bf16':             (1, ['--mixed'], ONE),
    '1 proc, channels-last':    (1, ['--channels-last'], ONE),
    '2 procs':                  (2, [], ONE),
    '2 procs, bf16':            (2, ['--mixed'], ONE),
    '2 procs, channels-last':   (2, ['--channels-last'], ONE),
    '1 proc, default threads':  (1, [], {'OMP_NUM_THREADS': None}),
}

def run(nproc, flags, env, a):
    "Train once with `nproc` processes; the results rank 0 wrote."
    with tempfile.TemporaryDirectory() as d:
        out = f'{d}/res.json'
        launch = [sys.executable] if nproc == 1 else [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc-per-node={nproc}']
        cmd = launch + [SCRIPT, '--epochs', str(a.epochs), '--n-train', str(a.n_train), '--bs', str(a.bs//nproc), '--json', out] + flags
        e = {k: v for k,v in {**os.environ, **env}.items() if v is not None}
        r = subprocess.run(cmd, capture_output=True, text=True, env=e, timeout=1200)
        if r.returncode != 0: sys.exit(f'{" ".join(cmd)} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}')
        return json.loads(Path(out).read_text())

def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--epochs', type=int, default=3)
    p.add_argument('--n-train', type=int, default=20000)
    p.add_argument('--bs', type=int, default=256, help='global batch size')
    p.add_argument('--only', nargs='*', help='run only these configurations')
    a = p.parse_args()
    if a.epochs < 2: p.error('need at least 2 epochs: the first one only warms up')
    res,t0,load0 = {},time.perf_counter(),os.getloadavg()[0]
    for name,(nproc,flags,env) in CONFIGS.items():
        if a.only and name not in a.only: continue
        if '--mixed' in flags and not cpu_bf16():
            print(f"{name:<24} skipped: this CPU has no bf16 arithmetic of its own (cpu_bf16), and emulated bf16 is far slower than float32", flush=True)
            continue
        r = run(nproc, flags, env, a)
        res[name] = dict(epoch_s=min(r['epoch_s'][1:]), accuracy=r['accuracy'])
        print(f"{name:<24} {res[name]['epoch_s']:7.2f}s/epoch  accuracy {r['accuracy']:.4f}", flush=True)
    base = res[next(iter(res))]['epoch_s']
    print(f'\n{"configuration":<24} {"s/epoch":>8} {"speedup":>8} {"accuracy":>9}')
    for k,v in res.items(): print(f"{k:<24} {v['epoch_s']:8.2f} {base/v['epoch_s']:7.2f}x {v['accuracy']:9.4f}")
    print(f'(speedup: epoch time of "{next(iter(res))}" / epoch time; {os.cpu_count()} CPUs; '
          f'{a.n_train} training images, global batch {a.bs}, {a.epochs} epochs; total {time.perf_counter()-t0:.0f}s; '
          f'load average {load0:.2f} at the start, {os.getloadavg()[0]:.2f} at the end)')
    summary = dict(epoch_s={k: round(v['epoch_s'], 3) for k,v in res.items()},
                   speedup={k: round(base/v['epoch_s'], 3) for k,v in res.items()},
                   accuracy={k: round(v['accuracy'], 4) for k,v in res.items()},
                   cpus=os.cpu_count(), n_train=a.n_train, bs=a.bs, epochs=a.epochs,
                   load_avg=[round(load0, 2), round(os.getloadavg()[0], 2)])
    print('RESULT ' + json.dumps(summary))

if __name__ == '__main__': main()
