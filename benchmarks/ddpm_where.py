"""Where a DDPM's FID comes from (issue 20): trains `EmbUNetModel` with channels `--nfs` at batch size `--bs` and peak
rate `--lr` for `--tflops` TFLOPs as `benchmarks/diffusion.py` does, then, each on `--n` images against the 10,000 test
images:

- real training images (the floor) and DDIM-50 samples (eta=1): the FID, its mean term |mu - mu_ref|^2 (the rest is the
  covariance term), and how many of each class the book's classifier sees (a shortfall or a glut of a class shows in
  the mean term);
- partial chains: the same real training images noised to the time t of step k of the sampler's 50, then DDIM's last
  50-k steps: the FID that the steps below t alone add (a perfect model would stay at the floor);
- real training images with Gaussian noise of a small std added: how much the classifier's features mind faint noise.

One seed: a diagnosis, not a result."""
import argparse, json, sys, torch
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.diffusion import train, draw, mixed
from miniai.conv import def_device
from miniai.diffusion import EmbUNetModel, abar, ddim_step
from miniai.fid import fashion_eval, classify, real_images, _calc_stats, _calc_fid

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--tflops', type=float, default=10.)
    p.add_argument('--n', type=int, default=2048)
    p.add_argument('--nfs', type=int, nargs='+', default=[8, 16, 32])
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--lr', type=float, default=1e-2)
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--device', default=def_device)
    a = p.parse_args()
    ie,res = fashion_eval(),dict(vars(a), threads=torch.get_num_threads())
    learn = train('where', lambda: EmbUNetModel(1, 1, nfs=tuple(a.nfs), attn_chans=0), a, res)
    mu_r,cov_r = ie.stats
    def fid_parts(x):
        mu,cov = _calc_stats(ie.get_feats(x))
        return _calc_fid(mu_r, cov_r, mu, cov), ((mu-mu_r)**2).sum().item()
    s,_ = draw(learn, a.n, 50, 1., a)
    real = real_images(a.n, seed=0)   # in [-1, 1]
    for name,x in (('real', real), ('ddim50', s*2)):
        fid,mt = fid_parts(x)
        counts = torch.bincount(classify(x), minlength=10).tolist()
        print(f'{name}: FID {fid:.3f}, of which the mean term {mt:.3f}; images per class {counts}', flush=True)
        res.update({f'fid_{name}': round(fid, 4), f'mean_term_{name}': round(mt, 4), f'classes_{name}': counts})
    mp = mixed(learn)
    model,x,steps = learn.model.eval(),real/2,50
    ts = torch.linspace(1-1/steps, 0, steps)   # the grid of miniai.diffusion.sample
    res['partial'] = {}
    for k in (45, 40, 30, 20, 10):
        torch.manual_seed(a.seed)
        ab = abar(ts[k])
        x_t = ab.sqrt()*x + (1-ab).sqrt()*torch.randn_like(x)
        with torch.no_grad(), torch.autocast(**mp.autocast):
            for i in range(k, steps):
                t = ts[i][None]
                abar_t = abar(t)
                abar_t1 = abar(t-1/steps) if t >= 1/steps else torch.tensor(1.)
                x0,x_t = ddim_step(x_t, model((x_t, t)), abar_t, abar_t1, 1-abar_t, 1-abar_t1, 1., 0)
        fid,mt = fid_parts(x0.float()*2)
        print(f'real images noised to t={ts[k]:.2f} (abar {ab:.3f}), then the last {steps-k} steps: FID {fid:.3f}, '
              f'of which the mean term {mt:.3f}', flush=True)
        res['partial'][f'{ts[k]:.2f}'] = round(fid, 4)
    res['noisy'] = {}
    torch.manual_seed(a.seed)
    for std in (0.01, 0.02, 0.05):   # in the units of the book's images, [-0.5, 0.5]
        fid,_ = fid_parts((real + 2*std*torch.randn_like(real)).clamp(-1, 1))
        print(f'real training images with noise of std {std}: FID {fid:.3f}', flush=True)
        res['noisy'][str(std)] = round(fid, 4)
    print('RESULT', json.dumps(res))

if __name__ == '__main__': main()
