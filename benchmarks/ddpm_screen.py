"""A screen of recipe changes for issue 20's target (`benchmarks/diffusion.py --parts ddpm`: DDIM-50 FID at a fixed
budget of training compute): miniai's `EmbUNetModel` (no attention) with channels `--nfs`, trained at batch size `--bs`
and peak rate `--lr` for `--tflops` TFLOPs (default 10, a third of the target's budget), then the FID of `--n` DDIM
samples at 50 steps for each `--eta`, beside the floor for `--n`. One change per call against the default:

    --bs 32 | --nfs 8 16 32 | --ema 0.99 (miniai.faster.EMACB) | --vpred (the model predicts v; the loss stays on the
    noise it implies) | --clamp-half (each step's x0 estimate clamped to the data's [-0.5, 0.5], not [-1, 1])

One seed and a short budget: a screen to choose a recipe for the benchmark, not a result."""
import argparse, json, sys, torch, torch.nn as nn
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.diffusion import load, train, draw
from miniai.conv import def_device
from miniai.faster import EMACB
from miniai.fid import fashion_eval, fid_floor
from miniai.diffusion import abar, EmbUNetModel, ddim_step

class VPred(nn.Module):
    "`model` predicts v = √ᾱ·ε - √(1-ᾱ)·x0; this returns the noise that implies, ε = √ᾱ·v + √(1-ᾱ)·x_t."
    def __init__(self, model): super().__init__(); self.model = model
    def forward(self, x):
        xt,t = x[0],x[1]
        ab = abar(t).reshape(-1,1,1,1).to(xt.dtype)
        return ab.sqrt()*self.model(x) + (1-ab).sqrt()*xt

def ddim_step_half(x_t, noise, abar_t, abar_t1, bbar_t, bbar_t1, eta, sig, clamp=True):
    "`ddim_step` with the estimate of x0 clamped to the training images' range, [-0.5, 0.5]."
    sig = ((bbar_t1/bbar_t).sqrt() * (1-abar_t/abar_t1).sqrt()) * eta
    x_0_hat = ((x_t-(1-abar_t).sqrt()*noise) / abar_t.sqrt()).clamp(-0.5, 0.5)
    if bbar_t1<=sig**2+0.01: sig=0.
    x_t = abar_t1.sqrt()*x_0_hat + (bbar_t1-sig**2).sqrt()*noise
    return x_0_hat, x_t + sig*torch.randn(x_t.shape).to(x_t)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--tflops', type=float, default=10.)
    p.add_argument('--n', type=int, default=1024, help='samples for the FID')
    p.add_argument('--nfs', type=int, nargs='+', default=[16, 32, 64])
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--lr', type=float, default=1e-2)
    p.add_argument('--ema', type=float, default=0, help='EMACB decay (0: none)')
    p.add_argument('--vpred', action='store_true')
    p.add_argument('--clamp-half', action='store_true')
    p.add_argument('--eta', type=float, nargs='+', default=[1.])
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--device', default=def_device)
    a = p.parse_args()
    ie,res = fashion_eval(),dict(vars(a), threads=torch.get_num_threads())
    def make():
        model = EmbUNetModel(1, 1, nfs=tuple(a.nfs), attn_chans=0)
        return VPred(model) if a.vpred else model
    learn = train('screen', make, a, res, cbs=[EMACB(a.ema)] if a.ema else [])
    floor = fid_floor(a.n)
    res['fid_floor'] = round(floor, 4)
    for eta in a.eta:
        s,secs = draw(learn, a.n, 50, eta, a, f=ddim_step_half if a.clamp_half else ddim_step)
        fid = ie.fid(s*2)
        print(f'eta {eta:g}: FID of {a.n} DDIM-50 samples {fid:.3f} ({fid/floor:.2f}x the floor of {floor:.3f}) in {secs:.0f}s', flush=True)
        res[f'fid_eta{eta:g}'] = round(fid, 4)
    res['load_avg_end'] = load()
    print('RESULT', json.dumps(res))

if __name__ == '__main__': main()
