"""Four ways to compute one convolution, timed side by side: `apply_kernel` in Python loops, numpy im2col
plus a matrix multiply, `F.unfold` plus a matrix multiply, and `F.conv2d`.

Each way convolves MNIST image 7 (one image) and the first 16 training images (a batch) with the top edge
kernel. Times are medians of repeated calls, the ways interleaved round by round so that a slow moment of a
shared machine hits all of them alike. Run it under `flock ~/.cache/miniai/cpu.lock` on a shared machine.
The last line is `RESULT {json}`: each way's median seconds on one image, and the speedups over apply_kernel."""
import argparse, json, time
import numpy as np
import torch
from miniai.datasets import load_dsd, decode_images, to_float
from miniai.conv import conv_ways

def time_rounds(fns, rounds, reps):
    "Median seconds per call of each of `fns`, over `rounds` rounds of `reps[name]` calls each, interleaved."
    ts = {k: [] for k in fns}
    for k,f in fns.items(): f()   # warm up
    for _ in range(rounds):
        for k,f in fns.items():
            t0 = time.perf_counter()
            for _ in range(reps[k]): f()
            ts[k].append((time.perf_counter()-t0)/reps[k])
    return {k: float(np.median(v)) for k,v in ts.items()}

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--rounds', type=int, default=15, help='rounds of timing; the median is reported')
    p.add_argument('--threads', type=int, default=1,
                   help="PyTorch threads (default 1: on 28x28 images a second thread only adds synchronisation, and on a "
                        "busy machine its spin-waiting makes the torch ways many times slower)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    train = load_dsd('mnist')['train']
    xb = to_float(decode_images(train.select(range(16))))
    x1 = xb[7:8]
    k = torch.tensor([[-1,-1,-1],[0,0,0],[1,1,1]]).float()[None,None]
    ref = conv_ways['conv2d'](xb, k)
    for name,f in conv_ways.items():
        err = (f(xb, k)-ref).abs().max().item()
        if err > 1e-4: raise SystemExit(f'{name} disagrees with F.conv2d by {err:.2g}; fix it before timing it')
    reps = dict(apply_kernel=1, im2col_numpy=200, unfold=200, conv2d=200)
    res = {}
    for label,x in (('one image', x1), ('16 images', xb)):
        fns = {name: (lambda f=f: f(x, k)) for name,f in conv_ways.items()}
        r = reps if label == 'one image' else {n: max(1, v//16) for n,v in reps.items()}
        t = time_rounds(fns, a.rounds, r)
        print(f'\n{label}, {tuple(x.shape)} with a 3x3 kernel: median of {a.rounds} rounds')
        print(f'{"way":>14} {"time":>12} {"vs apply_kernel":>16}')
        for name,s in t.items(): print(f'{name:>14} {s*1e6:10.1f}us {t["apply_kernel"]/s:15.0f}x')
        res[label] = t
    t1,t16 = res['one image'],res['16 images']
    out = {f'{n}_s': round(s, 8) for n,s in t1.items()}
    out |= {f'batch16_{n}_s': round(s, 8) for n,s in t16.items()}
    out |= dict(speedup_unfold=round(t1['apply_kernel']/t1['unfold'], 1),
                speedup_conv2d=round(t1['apply_kernel']/t1['conv2d'], 1),
                speedup_im2col_numpy=round(t1['apply_kernel']/t1['im2col_numpy'], 1),
                torch_threads=torch.get_num_threads())
    ok = out['speedup_unfold'] >= 100
    print(f"\nunfold+matmul is {out['speedup_unfold']:.0f}x faster than apply_kernel on one image "
          f"(target: at least 100x): {'met' if ok else 'NOT met'}")
    print('RESULT ' + json.dumps(out))

if __name__ == '__main__': main()
