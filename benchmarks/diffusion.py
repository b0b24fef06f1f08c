"""The book's DDPM (`miniai.diffusion`, taught in nbs/13_ddpm.ipynb and nbs/15_ddim.ipynb): the FID of its samples after
a budget of training compute, and what sampling with fewer steps costs in FID.

1. Trains `ddpm_unet()` on Fashion-MNIST's 60,000 training images with `ddpm_learner` (cosine schedule, MSE on the noise,
   AdamW, mixed precision: bf16 on a CPU that has it, fp16 on CUDA, else float32) and `fit_budget`, to `--tflops`
   TFLOPs of training compute: the FLOPs of one training batch, counted by `FlopCounterMode` (forward and backward),
   times the batches trained. It reports `train_tflops`, `epochs`, `seconds` (of training) and `mfu`: the training
   FLOP/s over the FLOP/s of a matrix product in the type it trained in, measured in the same run.
2. Samples `--n` images with DDIM at `--ddim-steps` steps, with fresh noise at each step as the course samples
   (`eta=1`: `fid_ddim50`) and without (`eta=0`, the DDIM paper's deterministic sampler: `fid_ddim50_eta0`), and with
   DDPM at 1,000 steps (`ddim_step` with eta=1 at every step is DDPM's update), under the same autocast as training, and gives the FID of each against the 10,000 test
   images (`miniai.fid.fashion_eval`, features of the book's own classifier), beside `fid_floor`: the FID of `--n`
   real training images against the same reference. Sampling FLOPs are the model's forward FLOPs times the calls.
Targets (issue 20): fid_ddim50 <= 3x fid_floor after <= 30 TFLOPs of training; fid_ddim50 <= 1.2x fid_ddpm1000.

Everything comes from `miniai`; this script only sets the budgets and prints. Run it alone on the machine."""
import argparse, json, os, time, contextlib
import torch
from torch.utils.flop_counter import FlopCounterMode
from miniai.conv import def_device
from miniai.learner import ProgressCB
from miniai.accel import fit_budget, flops_per_batch, matmul_flops, MixedPrecisionCB, cpu_bf16
from miniai.diffusion import fashion_x, ddpm_dls, ddpm_learner, ddpm_unet, sample, ddim_step, noisify
from miniai.fid import fashion_eval, fid_floor

def load(): return round(os.getloadavg()[0], 1)

def fwd_flops(model, sz, device):
    "FLOPs of one forward pass of `model` on a noisy batch of shape `sz`."
    (xt,t),_ = noisify(torch.zeros(sz, device=device))
    with torch.no_grad(), FlopCounterMode(display=False) as f: model((xt, t))
    return f.get_total_flops()

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--tflops', type=float, default=30., help='training compute')
    p.add_argument('--n', type=int, default=2048, help='samples per FID')
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--lr', type=float, default=2e-3)
    p.add_argument('--ddim-steps', type=int, nargs='+', default=[50])
    p.add_argument('--ddpm-steps', type=int, default=1000, help='0 skips the DDPM run')
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--device', default=def_device)
    a = p.parse_args()
    t0 = time.perf_counter()
    xs,xv = fashion_x('train'),fashion_x('test')
    dls = ddpm_dls(xs, xv, bs=a.bs)
    print(f'torch {torch.__version__} on {a.device}, {torch.get_num_threads()} threads, bf16 CPU: {cpu_bf16()}; data in '
          f'{time.perf_counter()-t0:.1f}s; load average {load()} (above 2, other work shares these 2 cores)', flush=True)
    res = dict(device=a.device, threads=torch.get_num_threads(), bs=a.bs, lr=a.lr, seed=a.seed, n_samples=a.n)

    torch.manual_seed(a.seed)
    learn = ddpm_learner(dls, lr=a.lr, device=a.device, cbs=[ProgressCB(notebook=False)])
    n,secs = fit_budget(learn, tflops=a.tflops)
    fpb = flops_per_batch(learn.model, next(iter(dls.train)), learn.loss_func)
    mp = next(cb for cb in learn.cbs if isinstance(cb, MixedPrecisionCB))
    peak = matmul_flops(dtype=mp.dtype, device=a.device)
    tflops = n*fpb/1e12
    mfu = tflops*1e12/secs/peak
    print(f'{sum(p.numel() for p in learn.model.parameters()):,} parameters; {fpb/1e9:.1f} GFLOPs per batch of {a.bs}; {n} steps, '
          f'{n*a.bs/len(xs):.2f} epochs, {tflops:.1f} TFLOPs in {secs:.0f}s: {tflops*1e3/secs:.0f} GFLOP/s against a '
          f'{mp.dtype} matmul\'s {peak/1e9:.0f}, mfu {mfu:.3f}', flush=True)
    res.update(dtype=str(mp.dtype), train_tflops=round(tflops, 2), epochs=round(n*a.bs/len(xs), 2), seconds=round(secs, 1),
               mfu=round(mfu, 4), train_gflops_s=round(tflops*1e3/secs, 1), matmul_gflops_s=round(peak/1e9, 1), load_avg_train=load())

    ie = fashion_eval()
    floor = fid_floor(a.n)
    res.update(fid_floor=round(floor, 3))
    print(f'floor: FID of {a.n} real training images against the 10,000 test images: {floor:.3f}', flush=True)
    f1 = fwd_flops(learn.model, (1,1,28,28), a.device)
    runs = ([(f'ddim{s}', s, 1.) for s in a.ddim_steps] + [(f'ddim{s}_eta0', s, 0.) for s in a.ddim_steps] +
            ([(f'ddpm{a.ddpm_steps}', a.ddpm_steps, 1.)] if a.ddpm_steps else []))
    for name,steps,eta in runs:
        torch.manual_seed(a.seed)
        t0 = time.perf_counter()
        with torch.autocast(**mp.autocast):
            s = sample(ddim_step, learn.model, (a.n,1,28,28), steps, eta=eta, every=steps)[-1]
        secs = time.perf_counter()-t0
        fid = ie.fid(s*2)
        sflops = f1*a.n*steps
        print(f'{name}: FID {fid:.3f} ({fid/floor:.2f}x the floor) in {secs:.0f}s; {sflops/1e12:.1f} TFLOPs of sampling, '
              f'{sflops/secs/1e9:.0f} GFLOP/s', flush=True)
        res.update({f'fid_{name}': round(fid, 3), f'fid_{name}_vs_floor': round(fid/floor, 3), f'sample_{name}_seconds': round(secs, 1),
                    f'sample_{name}_tflops': round(sflops/1e12, 2)})
    if 'fid_ddim50' in res:
        res['target_fid_ddim50_le_3x_floor'] = res['fid_ddim50'] <= 3*floor and tflops <= 30
        if 'fid_ddpm1000' in res:
            res['ddim50_vs_ddpm1000'] = round(res['fid_ddim50']/res['fid_ddpm1000'], 3)
            res['target_ddim50_le_1.2x_ddpm1000'] = res['fid_ddim50'] <= 1.2*res['fid_ddpm1000']
    res.update(load_avg_end=load())
    print('RESULT ' + json.dumps(res))

if __name__ == '__main__': main()
