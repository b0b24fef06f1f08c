"""A learning-rate screen for `benchmarks/diffusion.py --parts unet` (issue 21): one UNet (`--model ours`, miniai's
`EmbUNetModel` with 16, 32 and 64 channels, or `diffusers`, the book's `ddpm_unet()`) trained at one peak learning rate
`--lr` for `--tflops` TFLOPs (default 10, a third of the comparison's budget), then the FID of `--n` DDIM samples at 50
steps (eta=1) beside the floor for `--n`. It trains and samples with diffusion.py's own `train_fid`, so a rate
chosen here is the rate the comparison uses. Run one rate per call, e.g.

    for lr in 2e-3 5e-3 1e-2 2e-2; do python benchmarks/unet_lr.py --model ours --lr $lr; done

One seed and a short budget: a screen to choose each model's rate, not a comparison of the two."""
import argparse, json, sys, torch
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.diffusion import train_fid, pixel_unet
from miniai.conv import def_device
from miniai.diffusion import ddpm_unet
from miniai.fid import fashion_eval, fid_floor

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--model', choices=['ours', 'diffusers'], required=True)
    p.add_argument('--lr', type=float, required=True, help='peak learning rate of the one-cycle schedule')
    p.add_argument('--tflops', type=float, default=10.)
    p.add_argument('--n', type=int, default=1024, help='samples for the FID')
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--device', default=def_device)
    a = p.parse_args()
    ie,res = fashion_eval(),{}
    fid,secs = train_fid(a.model, dict(ours=pixel_unet, diffusers=ddpm_unet)[a.model], a, res, ie)
    floor = fid_floor(a.n)
    print(f'{a.model} at lr {a.lr:g}: FID of {a.n} DDIM-50 samples {fid:.3f} ({fid/floor:.2f}x the floor of {floor:.3f}) '
          f'in {secs:.0f}s', flush=True)
    res.update(model=a.model, lr=a.lr, tflops_budget=a.tflops, n=a.n, seed=a.seed, bs=a.bs, threads=torch.get_num_threads(),
               fid=round(fid, 3), fid_floor=round(floor, 3), sample_seconds=round(secs, 1))
    print('RESULT', json.dumps(res))

if __name__ == '__main__': main()
