"""A screen of recipe changes for issue 20's target (`benchmarks/diffusion.py --parts ddpm`: DDIM-50 FID at a fixed
budget of training compute): miniai's `EmbUNetModel` (no attention) with channels `--nfs`, trained at batch size `--bs`
and peak rate `--lr` for `--tflops` TFLOPs (default 10, a third of the target's budget), then the FID of `--n` DDIM
samples at 50 steps for each `--eta`, beside the floor for `--n`. One change per call against the default:

- `--bs 32`, `--nfs 8 16 32`, `--layers 2` (EmbUNetModel's num_layers), `--attn 8` (self-attention, heads of 8
  channels, from the second level down), `--pct 0.1` (one-cycle's pct_start);
- `--ema 0.99`: miniai.faster.EMACB, which estimates the batch norms' running statistics for the averaged weights from
  the last `--ema-bn-batches` training batches (default 20; 0 averages them with the weights, which ruins the samples:
  see `--bn-recal`);
- `--bn-recal 300`: after training, each batch norm's running statistics set to their mean over 300 training batches
  (miniai.faster.update_bn_stats), in place of the running average over the last few dozen batches that training leaves;
- `--vpred`: the model predicts v; the loss stays on the noise it implies;
- `--clamp-half`: each step's x0 estimate clamped to the data's [-0.5, 0.5], not [-1, 1];
- `--min-snr 5`: each image's squared error on the noise weighted by min(SNR, 5)/SNR, SNR = ᾱ/(1-ᾱ) at its t (Hang et
  al. 2023, "Efficient Diffusion Training via Min-SNR Weighting");
- `--low-t-weight 3`: images noised to t < 0.4 weigh 3 in the loss, the rest 1;
- `--norm group`: every BatchNorm2d of the UNet swapped for a GroupNorm of 4 channels a group;
- `--scale 2`: train on images in [-1, 1] (the samples are scaled back for the FID);
- `--temb 32 --temb-scale 1000`: the time embedding takes 32 sines and cosines of 1000t, where EmbUNetModel takes
  nfs[0] of t.
- `--lognormal -1.6 1.2`: train on noise levels σ = √((1-ᾱ)/ᾱ) with ln σ ~ N(-1.6, 1.2²), Karras et al.'s log-normal
  (2022, "Elucidating the Design Space of Diffusion-Based Generative Models", EDM), in place of t uniform in [0, 1);
- `--loss l1`: the mean absolute error on the noise in place of the squared;
- `--zero-init`: each residual block's last convolution and the UNet's output convolution start at zero (as in
  Dhariwal and Nichol's and Karras et al.'s UNets), so every block starts as its shortcut and the model predicts 0;
- `--betas 0.9 0.99`: AdamW's betas (the book's default: 0.9, 0.999);
- `--edm 0.41`: EDM's preconditioning (c_skip, c_out, c_in around the UNet, for data of σ 0.41: the training images'
  root mean square) and its loss weighting, (σ²+σ_data²)/σ_data² on the loss on the noise; use it with `--lognormal`,
  since under uniform t that weighting is dominated by the noisiest images;
- `--guide-nfs 4 8 16 --guide-tflops 1 --guide-w 2`: autoguidance (Karras et al. 2024, "Guiding a Diffusion Model with
  a Bad Version of Itself"): a smaller UNet trained first, by the plain recipe, for `--guide-tflops` of the budget, and
  the main one for the rest; the samples come from ε_bad + w·(ε_main - ε_bad), for each w of `--guide-w`.

One seed and a short budget: a screen to choose a recipe for the benchmark, not a result."""
import argparse, itertools, json, sys, torch, torch.nn as nn
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.diffusion import load, train, draw
from miniai.conv import def_device, to_device
from miniai.faster import EMACB, update_bn_stats
from miniai.fid import fashion_eval, fid_floor
from miniai.diffusion import abar, inv_abar, EmbUNetModel, EmbResBlock, ddim_step, fashion_x, timestep_embedding, lin
from miniai.learner import Callback, DeviceCB

class VPred(nn.Module):
    "`model` predicts v = √ᾱ·ε - √(1-ᾱ)·x0; this returns the noise that implies, ε = √ᾱ·v + √(1-ᾱ)·x_t."
    def __init__(self, model): super().__init__(); self.model = model
    def forward(self, x):
        xt,t = x[0],x[1]
        ab = abar(t).reshape(-1,1,1,1).to(xt.dtype)
        return ab.sqrt()*self.model(x) + (1-ab).sqrt()*xt

class LossCB(Callback):
    "Train on the loss `f` in place of the learner's."
    def __init__(self, f): self.f = f
    def before_fit(self, learn): self.old,learn.loss_func = learn.loss_func,self.f
    def cleanup_fit(self, learn): learn.loss_func = self.old

class TWeightCB(LossCB):
    "Weight each image's squared error on the noise by `w(t)`, a function of the image's t."
    order = DeviceCB.order+1
    def __init__(self, w): super().__init__(self.loss); self.w = w
    def before_batch(self, learn): self.t = learn.batch[0][1]
    def loss(self, preds, eps): return (self.w(self.t.float()).reshape(-1,1,1,1)*(preds.float()-eps.float())**2).mean()

def snr(t):
    "The signal-to-noise ratio at time `t`, ᾱ/(1-ᾱ), with ᾱ kept off 0 and 1."
    ab = abar(t).clamp(1e-6, 1-1e-6)
    return ab/(1-ab)

def min_snr(gamma):
    "min(SNR, `gamma`)/SNR: Hang et al.'s weighting of the loss on the noise."
    return lambda t: snr(t).clamp(max=gamma)/snr(t)

def low_t(weight, below=0.4):
    "`weight` for t < `below`, 1 above."
    return lambda t: torch.where(t < below, weight, 1.)

class TembUNet(EmbUNetModel):
    "`EmbUNetModel` whose time embedding has `temb` sines and cosines (default: `nfs[0]`) of t times `temb_scale`."
    def __init__(self, *args, temb=0, temb_scale=1., **kwargs):
        super().__init__(*args, **kwargs)
        self.temb_scale = temb_scale
        if temb:
            self.n_temb = temb
            self.emb_mlp[0] = lin(temb, self.emb_mlp[0][-1].out_features, norm=nn.BatchNorm1d)
    def emb(self, inp): return self.emb_mlp(timestep_embedding(inp[1]*self.temb_scale, self.n_temb))

def group_norm(m, per_group=4):
    "Swap every `nn.BatchNorm2d` inside `m` for an `nn.GroupNorm` of `per_group` channels a group; returns `m`."
    for name,c in m.named_children():
        if isinstance(c, nn.BatchNorm2d): setattr(m, name, nn.GroupNorm(max(1, c.num_features//per_group), c.num_features))
        else: group_norm(c, per_group)
    return m

class LogNormalTCB(Callback):
    "Re-noise each training batch to times whose σ = √((1-ᾱ)/ᾱ) is log-normal, ln σ ~ N(`p_mean`, `p_std`²) (Karras et al. 2022)."
    order = DeviceCB.order+1
    def __init__(self, p_mean, p_std): self.p_mean,self.p_std = p_mean,p_std
    def before_batch(self, learn):
        (xt,t),eps = learn.batch
        ab = abar(t).reshape(-1,1,1,1)
        x0 = (xt - (1-ab).sqrt()*eps)/ab.sqrt()
        sig = (torch.randn(len(t), device=t.device)*self.p_std + self.p_mean).exp()
        t = inv_abar(1/(1+sig**2)).clamp(0, 0.999)
        ab = abar(t).reshape(-1,1,1,1)
        learn.batch = ((ab.sqrt()*x0 + (1-ab).sqrt()*eps, t), eps)

class EDMPrecond(nn.Module):
    """Karras et al.'s preconditioning (EDM, 2022) around `model`, called as the book's noise predictors are: at (x_t, t),
    σ = √((1-ᾱ)/ᾱ) and x = x_t/√ᾱ; the denoiser is D = c_skip·x + c_out·model((c_in·x, t)), and this returns the noise it
    implies, (x - D)/σ. `sd` is the data's σ."""
    def __init__(self, model, sd=0.5): super().__init__(); self.model,self.sd = model,sd
    def forward(self, inp):
        xt,t = inp[0],inp[1]
        ab = abar(t.float()).clamp(min=1e-8).reshape(-1,1,1,1)
        sig2 = ((1-ab)/ab).clamp(min=1e-10)
        x = xt.float()/ab.sqrt()
        c_in = 1/(sig2 + self.sd**2).sqrt()
        c_out = sig2.sqrt()*self.sd/(sig2 + self.sd**2).sqrt()
        f = self.model((c_in*x, t)).float()
        # x - D = (1-c_skip)·x - c_out·F, with 1-c_skip = σ²/(σ²+sd²)
        return (sig2/(sig2 + self.sd**2)*x - c_out*f)/sig2.sqrt()

def edm_weight(sd):
    "The weight that turns the loss on the noise into EDM's loss on F: (σ²+sd²)/sd², σ² = (1-ᾱ)/ᾱ = 1/SNR."
    return lambda t: (1/snr(t) + sd**2)/sd**2

class OptCB(Callback):
    "Set the optimiser's hyper-parameters `hypers` (such as betas) at the start of the fit."
    def __init__(self, **hypers): self.hypers = hypers
    def before_fit(self, learn):
        for g in learn.opt.param_groups: g.update(self.hypers)

def zero_init(model):
    "Zero the last convolution of each `EmbResBlock` of `model` and its output convolution; returns `model`."
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, EmbResBlock): m.conv2[-1].weight.zero_()
        model.conv_out[-1].weight.zero_()
    return model

class AutoGuide(nn.Module):
    "`good` guided by `bad`, a weaker model of the same data: ε_bad + `w`·(ε_good - ε_bad) (Karras et al. 2024)."
    def __init__(self, good, bad, w=2.): super().__init__(); self.good,self.bad,self.w = good,bad,w
    def forward(self, x):
        b = self.bad(x)
        return b + self.w*(self.good(x) - b)

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
    p.add_argument('--ema-bn-batches', type=int, default=20, help="EMACB's bn_batches (0: the statistics averaged with the weights)")
    p.add_argument('--vpred', action='store_true')
    p.add_argument('--clamp-half', action='store_true')
    p.add_argument('--min-snr', type=float, default=0, help='min-SNR loss weighting with this gamma (0: none)')
    p.add_argument('--low-t-weight', type=float, default=0, help='loss weight of images at t < 0.4 (0: no weighting)')
    p.add_argument('--bn-recal', type=int, default=0, help='after training, batch norms\' statistics from this many training batches (0: as trained)')
    p.add_argument('--norm', choices=['batch', 'group'], default='batch')
    p.add_argument('--scale', type=float, default=1., help="images scaled by this from the book's [-0.5, 0.5] to train on; samples scaled back for the FID")
    p.add_argument('--layers', type=int, default=1, help="EmbUNetModel's num_layers")
    p.add_argument('--attn', type=int, default=0, help="EmbUNetModel's attn_chans (0: no attention)")
    p.add_argument('--temb', type=int, default=0, help="sines and cosines in the time embedding (0: nfs[0], as EmbUNetModel)")
    p.add_argument('--temb-scale', type=float, default=1., help="t (in [0,1)) times this into the time embedding")
    p.add_argument('--pct', type=float, default=0.25, help="one-cycle's pct_start")
    p.add_argument('--loss', choices=['mse', 'l1'], default='mse')
    p.add_argument('--zero-init', action='store_true')
    p.add_argument('--betas', type=float, nargs=2, default=None)
    p.add_argument('--lognormal', type=float, nargs=2, default=None, metavar=('P_MEAN', 'P_STD'),
                   help='train on times whose σ is log-normal with these (Karras et al. use -1.2 1.2 for data of σ 0.5)')
    p.add_argument('--edm', type=float, default=0, help="EDM's preconditioning and loss weighting with this data σ (0: none)")
    p.add_argument('--guide-nfs', type=int, nargs='+', default=None, help="the bad model's channels, for autoguidance")
    p.add_argument('--guide-tflops', type=float, default=1., help="the bad model's share of --tflops")
    p.add_argument('--guide-w', type=float, nargs='+', default=[2.], help='autoguidance weights to sample with')
    p.add_argument('--eta', type=float, nargs='+', default=[1.])
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--device', default=def_device)
    a = p.parse_args()
    if a.guide_nfs and not 0 < a.guide_tflops < a.tflops:
        p.error(f'--guide-tflops {a.guide_tflops:g} leaves the main model {a.tflops-a.guide_tflops:g} of --tflops {a.tflops:g}: give the guide a share between 0 and --tflops')
    ie,res = fashion_eval(),dict(vars(a), threads=torch.get_num_threads())
    def make():
        kw = dict(nfs=tuple(a.nfs), num_layers=a.layers, attn_chans=a.attn)
        model = (TembUNet(1, 1, temb=a.temb, temb_scale=a.temb_scale, **kw) if a.temb or a.temb_scale != 1
                 else EmbUNetModel(1, 1, **kw))
        if a.norm == 'group': group_norm(model)
        if a.zero_init: zero_init(model)
        if a.edm: model = EDMPrecond(model, a.edm)
        return VPred(model) if a.vpred else model
    data = (fashion_x('train')*a.scale, fashion_x('test')*a.scale)
    cbs = (([LogNormalTCB(*a.lognormal)] if a.lognormal else []) +   # first: the weights below read the times it draws
           ([EMACB(a.ema, bn_batches=a.ema_bn_batches)] if a.ema else []) +
           ([TWeightCB(min_snr(a.min_snr))] if a.min_snr else []) +
           ([TWeightCB(low_t(a.low_t_weight))] if a.low_t_weight else []) +
           ([TWeightCB(edm_weight(a.edm))] if a.edm else []) +
           ([LossCB(lambda p,e: (p.float()-e.float()).abs().mean())] if a.loss == 'l1' else []) +
           ([OptCB(betas=tuple(a.betas))] if a.betas else []))
    if a.guide_nfs:
        bad = train('guide', lambda: EmbUNetModel(1, 1, nfs=tuple(a.guide_nfs), attn_chans=0), a, res, data=data,
                    tflops=a.guide_tflops, pct_start=a.pct).model
    learn = train('screen', make, a, res, data=data, pct_start=a.pct, cbs=cbs,
                  tflops=a.tflops - (a.guide_tflops if a.guide_nfs else 0))
    if a.bn_recal:
        update_bn_stats(learn, (to_device(b, a.device) for b in itertools.islice(learn.dls.train, a.bn_recal)))
    floor = fid_floor(a.n)
    res['fid_floor'] = round(floor, 4)
    good = learn.model
    for w,eta in itertools.product(a.guide_w if a.guide_nfs else [None], a.eta):
        if w is not None: learn.model = AutoGuide(good, bad, w)
        s,secs = draw(learn, a.n, 50, eta, a, f=ddim_step_half if a.clamp_half else ddim_step)
        fid = ie.fid(s*2/a.scale)
        wn = '' if w is None else f'w {w:g}, '
        print(f'{wn}eta {eta:g}: FID of {a.n} DDIM-50 samples {fid:.3f} ({fid/floor:.2f}x the floor of {floor:.3f}) in {secs:.0f}s', flush=True)
        res[f'fid_eta{eta:g}' + ('' if w is None else f'_w{w:g}')] = round(fid, 4)
    res['load_avg_end'] = load()
    print('RESULT', json.dumps(res))

if __name__ == '__main__': main()
