"""Where a DDPM's FID comes from (issue 20): trains `EmbUNetModel` with channels `--nfs` at batch size `--bs` and peak
rate `--lr` for `--tflops` TFLOPs as `benchmarks/diffusion.py` does, then, each on `--n` images against the 10,000 test
images:

- real training images (the floor) and DDIM-50 samples (eta=1): the FID, its mean term |mu - mu_ref|^2 (the rest is the
  covariance term), and how many of each class the book's classifier sees (a shortfall or a glut of a class shows in
  the mean term);
- partial chains: the same real training images noised to the time t of step k of the sampler's 50, then DDIM's last
  50-k steps: the FID that the steps below t alone add (a perfect model would stay at the floor);
- real training images with Gaussian noise of a small std added: how much the classifier's features mind faint noise;
- with `--aug-epochs 20`: the floor, the samples and the noisy images again under a second classifier, the book's
  `fid_net` trained as the course trained its FID classifier (`data_aug2` in its `14_augment`: random crops of 1 pixel,
  flips and `RandCopy`, 20 epochs), to see whether the samples' distance from the floor is an artefact of the book's
  classifier (5 epochs, no augmentation).

One seed: a diagnosis, not a result."""
import argparse, json, sys, time, torch, torch.nn as nn, torch.nn.functional as F
from functools import partial
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.diffusion import train, draw, mixed
from miniai.accel import MixedPrecisionCB, ChannelsLastCB, cpu_bf16
from miniai.augment import AugmentCB, RandCrop, RandFlip, RandCopy
from miniai.conv import def_device, DataLoaders, tensor_dl
from miniai.datasets import TensorDS
from miniai.learner import Learner, DeviceCB, OneCycleCB
from miniai.diffusion import EmbUNetModel, abar, ddim_step
from miniai.fid import fashion_eval, classify, real_images, fid_net, fid_classifier, to_pm1, ImageEval, RECIPE, _accuracy, _calc_stats, _calc_fid, _fashion

def aug_classifier(epochs, device):
    "`fid_net` trained as `miniai.fid`'s RECIPE says, but for `epochs` epochs under the course's augmentations; its test accuracy."
    r = RECIPE
    torch.manual_seed(r['seed'])
    (xt,yt),(xv,yv) = _fashion('train'),_fashion('test')
    dls = DataLoaders(tensor_dl(TensorDS(xt, yt, to_pm1), r['bs'], shuffle=True, drop_last=True), None)
    mixed = MixedPrecisionCB(device=device, dtype=torch.bfloat16 if torch.device(device).type == 'cuda' or cpu_bf16() else torch.float32)
    aug = AugmentCB(nn.Sequential(RandCrop(1), RandFlip(), RandCopy()))
    learn = Learner(fid_net(tuple(r['nfs'])), dls, partial(F.cross_entropy, label_smoothing=r['ls']), lr=r['lr'],
                    cbs=[DeviceCB(device), ChannelsLastCB(), mixed, aug, OneCycleCB()],
                    opt_func=partial(torch.optim.AdamW, weight_decay=r['wd']))
    learn.fit(epochs, valid=False)
    model = learn.model.cpu().float().to(memory_format=torch.contiguous_format).eval().requires_grad_(False)
    return model, _accuracy(model, xv, yv)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--tflops', type=float, default=10.)
    p.add_argument('--n', type=int, default=2048)
    p.add_argument('--nfs', type=int, nargs='+', default=[8, 16, 32])
    p.add_argument('--bs', type=int, default=32)
    p.add_argument('--lr', type=float, default=1e-2)
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--aug-epochs', type=int, default=0, help='epochs of the second, augmented classifier (0: none)')
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
    book = {}   # the FIDs under the book's classifier
    for name,x in (('real', real), ('ddim50', s*2)):
        fid,mt = fid_parts(x)
        counts = torch.bincount(classify(x), minlength=10).tolist()
        book[name] = fid
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
    noisy = {std: (real + 2*std*torch.randn_like(real)).clamp(-1, 1) for std in (0.01, 0.02, 0.05)}   # std in the book's [-0.5, 0.5]
    for std,x in noisy.items():
        fid,_ = fid_parts(x)
        print(f'real training images with noise of std {std}: FID {fid:.3f}', flush=True)
        res['noisy'][str(std)] = round(fid, 4)
        book[f'noisy_{std}'] = fid
    if a.aug_epochs:
        t0 = time.perf_counter()
        model,acc = aug_classifier(a.aug_epochs, a.device)
        x,y = _fashion('test')
        ie2 = ImageEval(model[:-1], DataLoaders([], tensor_dl(TensorDS(x, y, to_pm1), 1000)), cbs=[DeviceCB(a.device)])
        res['aug'] = dict(epochs=a.aug_epochs, accuracy=round(acc, 4), seconds=round(time.perf_counter()-t0, 1))
        print(f'the augmented classifier: {a.aug_epochs} epochs in {res["aug"]["seconds"]:.0f}s, test accuracy {acc:.4f} '
              f'(the book\'s: {fid_classifier().record["test_accuracy"]:.4f})', flush=True)
        ims = dict(real=real, ddim50=s*2, **{f'noisy_{std}': x for std,x in noisy.items()})
        for name,x in ims.items():
            fid = ie2.fid(x)
            res['aug'][f'fid_{name}'] = round(fid, 4)
            print(f'{name} under the augmented classifier: FID {fid:.3f}, {fid/res["aug"]["fid_real"]:.2f}x its floor '
                  f'(under the book\'s: {book[name]/book["real"]:.2f}x)', flush=True)
    print('RESULT', json.dumps(res))

if __name__ == '__main__': main()
