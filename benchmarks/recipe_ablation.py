"""Accuracy at a fixed budget (3 seeds) and training GFLOP/s for variants of `fast_learner`, one knob changed at a time.

    python benchmarks/recipe_ablation.py                      # every variant, 8 TFLOPs per run (about an hour on 2 AVX2 cores)
    TF=50 python benchmarks/recipe_ablation.py 'batch 256'    # chosen variants, another budget

Accuracy is the test set's over flips and one-pixel shifts (TTA). GFLOP/s is the median of the 3 runs; the float32
matmul's FLOP/s is measured at the start and the end, since on a shared host it moves as much as training does."""
import torch, time, warnings, statistics, sys, json, os
warnings.simplefilter('ignore')
from miniai.accel import fashion_dls, fit_budget, flops_per_batch, matmul_flops
from miniai.augment import shift_views
from miniai.training import accuracy
from miniai.faster import fast_learner
TF = float(os.environ.get('TF', 8))
variants = {
    'base (width 12)':   (512, {}),
    'width 16':          (512, dict(nfs=(16,32,64,128))),
    'label smoothing 0.2': (512, dict(ls=0.2)),
    'lr 2e-2':           (512, dict(lr=2e-2)),
    'batch 256':         (256, {}),
}
pick = sys.argv[1:] or list(variants)
if bad := [p for p in pick if p not in variants]: sys.exit(f"No variant {bad}: choose from {list(variants)}")
dlss = {}
pk0 = matmul_flops(dtype=torch.float32)
print(f'float32 matmul {pk0/1e9:.0f} GFLOP/s; {TF} TFLOPs per run', flush=True)
out = {}
for name in pick:
    bs,kw = variants[name]
    if bs not in dlss: dlss[bs] = fashion_dls(bs)
    dls = dlss[bs]
    accs,gfs = [],[]
    for seed in (42, 43, 44):
        torch.manual_seed(seed)
        learn = fast_learner(dls, **kw)
        n,secs = fit_budget(learn, tflops=TF)
        fpb = flops_per_batch(learn.model, next(iter(dls.train)), learn.loss_func)
        accs.append(round(accuracy(*learn.tta(shift_views())).item(), 4)); gfs.append(n*fpb/secs/1e9)
        print(f'  {name} seed {seed}: {n} steps ({n/len(dls.train):.2f} epochs) in {secs:.0f}s, {gfs[-1]:.0f} GFLOP/s; acc {accs[-1]}', flush=True)
    out[name] = dict(mean=round(statistics.mean(accs),4), std=round(statistics.stdev(accs),4), accs=accs, gflops_s=round(statistics.median(gfs),1))
    print(f'{name:<20} mean {out[name]["mean"]:.4f} std {out[name]["std"]:.4f} {accs}; median {out[name]["gflops_s"]} GFLOP/s, mfu {out[name]["gflops_s"]*1e9/pk0:.3f}', flush=True)
pk1 = matmul_flops(dtype=torch.float32)
print(f'float32 matmul at the end {pk1/1e9:.0f} GFLOP/s')
print('RESULT', json.dumps(dict(tflops=TF, matmul_start=round(pk0/1e9,1), matmul_end=round(pk1/1e9,1), variants=out)))
