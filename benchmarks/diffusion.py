"""The book's diffusion models (`miniai.diffusion`, taught in nbs/13_ddpm to nbs/18_conditional): the FID of their samples
after a budget of training compute. `--parts` chooses what runs (default: all of them):

ddpm (issue 20): trains `ddpm_unet()` (diffusers' `UNet2DModel` from a config) on Fashion-MNIST's 60,000 training
   images with `ddpm_learner` (cosine schedule, MSE on the noise, AdamW, mixed precision: bf16 on a CPU that has it, fp16
   on CUDA, else float32) and `fit_budget`, to `--tflops` TFLOPs of training compute: the FLOPs of one training batch,
   counted by `FlopCounterMode` (forward and backward), times the batches trained. It reports `train_tflops`, `epochs`,
   `seconds` (of training) and `mfu`: the training FLOP/s over the FLOP/s of a matrix product in the type it trained in,
   measured in the same run. Then it samples `--n` images with DDIM at `--ddim-steps` steps, with fresh noise at each
   step as the course samples (`eta=1`: `fid_ddim50`) and without (`eta=0`: `fid_ddim50_eta0`), and with DDPM at 1,000
   steps (`ddim_step` with eta=1 at every step is DDPM's update), under the same autocast as training, and gives the FID
   of each against the 10,000 test images (`miniai.fid.fashion_eval`, features of the book's own classifier), beside
   `fid_floor`: the FID of `--n` real training images against the same reference. Sampling FLOPs are the model's forward
   FLOPs times the calls.
   Targets (issue 20): fid_ddim50 <= 3x fid_floor after <= 30 TFLOPs of training, at `--n` >= 2,048 (judged only there:
   null below); fid_ddim50 <= 1.2x fid_ddpm1000.
   `--ddpm-model ours --ddpm-nfs 8 16 32 --ddpm-bs 32 --ddpm-lr 1e-2` trains miniai's `EmbUNetModel` instead, narrower
   and on smaller batches: at a fixed budget of FLOPs it takes more steps over more epochs (`benchmarks/ddpm_screen.py`
   chose it at 10 TFLOPs).
unet (issue 21, 16_unet): miniai's `EmbUNetModel` (16, 32, 64 channels, no attention) against `ddpm_unet()`, each trained
   as above for `--tflops`, each at its own peak learning rate: `--lr-ours` (default 1e-2, the course's for its
   EmbUNetModel in 26_diffusion_unet and 28_diffusion-attn-cond) and `--lr-diffusers` (default 1e-3), each the best of
   `benchmarks/unet_lr.py`'s screen; then `--n` DDIM samples at 50 steps (eta=1): `fid_unet_ours`, `fid_unet_diffusers`.
   Target: fid_unet_ours <= fid_unet_diffusers at equal training TFLOPs and a similar parameter count.
cond (issue 21, 18_conditional): `CondUNetModel` (the same UNet with a class embedding, labels dropped with probability
   0.1) and the unconditional `EmbUNetModel`, each trained for `--tflops`; 1,000 samples (100 per class) of the
   conditional model at each classifier-free guidance scale of `--guidance`, 1,000 of the unconditional one, DDIM at 50
   steps (eta=1). `cond_accuracy`: the fraction the book's classifier (`miniai.fid.classify`) puts in the class asked
   for; `fid_cond` and `fid_uncond` beside the floor for 1,000. The RESULT reports the scale with the lowest FID among
   those at >= 90% accuracy (else the most accurate).
   Targets: cond_accuracy >= 0.9 and fid_cond <= fid_uncond.
ae (issue 21, 05_ae_learner): PCA with 128 components against `ae_ours()` (a 128-float code) trained `--ae-epochs` epochs
   with one-cycle AdamW as in 05_ae_learner: `ae_vs_pca`, their test MSEs' ratio. Target: <= 0.5.
latent (issue 21, 20_latent_diffusion): trains `ConvVAE` (4x8x8 latent, kl_weight 1e-3) for `--vae-epochs` epochs,
   counted apart (`vae_train_tflops`), then `EmbUNetModel(4, 4, nfs=(32,64), num_layers=2)` on its scaled latents
   (`miniai.latent.Latents`) for a third of `--tflops`, and samples `--n` latents with DDIM at 50 steps (eta=1, no
   clamping), decoded: `fid_latent`. `fid_pixel` is the pixel-space UNet of the unet part at the full `--tflops`
   (trained here if that part did not run); `fid_vae_rebuilt` the FID of `--n` test images through the VAE.
   Both latent and pixel UNets train at `--lr` (the unet part's model is reused only if it trained at that rate).
   `latent_compute_fraction` is the latent UNet's training TFLOPs over the pixel one's.
   Target: fid_latent <= fid_pixel at latent_compute_fraction <= 1/3.

Everything comes from `miniai`; this script only sets the budgets and prints. Run it alone on the machine."""
import argparse, json, os, time
from functools import partial
import fastcore.all as fc, torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode
from miniai.conv import def_device
from miniai.datasets import load_dsd, fast_dls, DataLoaders, TensorDS, tensor_dl
from miniai.learner import Learner, ProgressCB, DeviceCB, OneCycleCB
from miniai.autoencoder import ae_ours, fit_ae, pca_fit, pca_encode, pca_decode
from miniai.vae import ConvVAE, vae_loss
from miniai.latent import Latents
from miniai.init import set_seed
from miniai.accel import fit_budget, flops_per_batch, matmul_flops, MixedPrecisionCB, cpu_bf16
from miniai.diffusion import (fashion_x, ddpm_dls, ddpm_learner, ddpm_unet, sample, ddim_step, noisify, EmbUNetModel,
                              CondUNetModel, cond_sample)
from miniai.fid import fashion_eval, fid_floor, classify

def pixel_unet(): return EmbUNetModel(1, 1, nfs=(16,32,64), attn_chans=0)

def load(): return round(os.getloadavg()[0], 1)

def fwd_flops(model, sz, device):
    "FLOPs of one forward pass of `model` on a noisy batch of shape `sz` (with class 0 for a conditional model)."
    (xt,t),_ = noisify(torch.zeros(sz, device=device))
    inp = (xt, t, torch.zeros(sz[0], dtype=torch.long, device=device)) if isinstance(model, CondUNetModel) else (xt, t)
    with torch.no_grad(), FlopCounterMode(display=False) as f: model.eval()(inp)
    return f.get_total_flops()

def mixed(learn):
    "`learn`'s `MixedPrecisionCB` (every DDPM learner has one): its dtype and autocast settings."
    return next(cb for cb in learn.cbs if isinstance(cb, MixedPrecisionCB))

def train(name, make_model, a, res, labels=False, tflops=None, data=None, lr=None, bs=None, cbs=(), pct_start=0.25):
    "Train `make_model()` (seeded) at peak learning rate `lr` (default `a.lr`), batch size `bs` (default `a.bs`) for `tflops` (default `a.tflops`) on all of Fashion-MNIST (or `data`, a pair of tensors), with callbacks `cbs` in the fit and one-cycle's `pct_start`; record its figures in `res` under `name`; return the learner."
    bs = bs or a.bs
    xs,xv = data or (fashion_x('train'),fashion_x('test'))
    kw = {}
    if labels:
        dsd = load_dsd('fashion_mnist')
        kw = dict(y_train=torch.tensor(dsd['train']['label'][:]), y_valid=torch.tensor(dsd['test']['label'][:]))
    dls = ddpm_dls(xs, xv, bs=bs, **kw)
    set_seed(a.seed)
    learn = ddpm_learner(dls, make_model(), lr=lr or a.lr, device=a.device, cbs=[ProgressCB(notebook=False)])
    n,secs = fit_budget(learn, tflops=tflops or a.tflops, pct_start=pct_start, cbs=cbs)
    fpb = flops_per_batch(learn.model, next(iter(dls.train)), learn.loss_func)
    mp = mixed(learn)
    peak = matmul_flops(dtype=mp.dtype, device=a.device)
    tflops = n*fpb/1e12
    mfu = tflops*1e12/secs/peak
    params = sum(p.numel() for p in learn.model.parameters())
    print(f'{name}: {params:,} parameters; {fpb/1e9:.1f} GFLOPs per batch of {bs}; {n} steps, {n*bs/len(xs):.2f} epochs, '
          f'{tflops:.1f} TFLOPs in {secs:.0f}s: {tflops*1e3/secs:.0f} GFLOP/s against a {mp.dtype} matmul\'s {peak/1e9:.0f}, '
          f'mfu {mfu:.3f}', flush=True)
    res.update({f'{name}_params': params, f'{name}_lr': lr or a.lr, f'{name}_train_tflops': round(tflops, 2), f'{name}_epochs': round(n*bs/len(xs), 2), f'{name}_bs': bs,
                f'{name}_seconds': round(secs, 1), f'{name}_mfu': round(mfu, 4),
                f'{name}_matmul_gflops_s': round(peak/1e9, 1), f'{name}_load_avg_train': load()})
    res.update(dtype=str(mp.dtype), matmul_gflops_s=round(peak/1e9, 1))
    return learn

def draw(learn, n, steps, eta, a, shape=(1,28,28), clamp=True, f=ddim_step, **cond):
    "`n` samples of `learn.model` in `steps` steps of `f` (DDIM's), in the autocast it trained under; and the seconds they took."
    mp = mixed(learn)
    set_seed(a.seed)
    t0 = time.perf_counter()
    with torch.autocast(**mp.autocast):
        if cond: s = cond_sample(cond['c'], f, learn.model, (n,*shape), steps, eta=eta, guidance=cond['guidance'], every=steps)[-1]
        else: s = sample(f, learn.model, (n,*shape), steps, eta=eta, clamp=clamp, every=steps)[-1]
    return s, time.perf_counter()-t0

def train_fid(name, make_model, a, res, ie, lr=None):
    "`train` a pixel UNet, then the FID of `a.n` of its DDIM-50 samples (eta=1); returns the FID and the sampling seconds."
    s,secs = draw(train(name, make_model, a, res, lr=lr), a.n, 50, 1., a)
    return ie.fid(s*2),secs

def part_ddpm(a, res, ie):
    nfs = tuple(a.ddpm_nfs)
    make = (lambda: EmbUNetModel(1, 1, nfs=nfs, attn_chans=0)) if a.ddpm_model == 'ours' else (lambda: ddpm_unet(nfs))
    learn = train('ddpm', make, a, res, lr=a.ddpm_lr, bs=a.ddpm_bs)
    res.update(ddpm_model=a.ddpm_model, ddpm_nfs=list(nfs))
    # issue 20's keys, as before
    res.update(train_tflops=res['ddpm_train_tflops'], epochs=res['ddpm_epochs'], seconds=res['ddpm_seconds'], mfu=res['ddpm_mfu'])
    floor = fid_floor(a.n)
    res.update(fid_floor=round(floor, 3), n_samples=a.n)
    print(f'floor: FID of {a.n} real training images against the 10,000 test images: {floor:.3f}', flush=True)
    f1 = fwd_flops(learn.model, (1,1,28,28), a.device)
    runs = ([(f'ddim{s}', s, 1.) for s in a.ddim_steps] + [(f'ddim{s}_eta0', s, 0.) for s in a.ddim_steps] +
            ([(f'ddpm{a.ddpm_steps}', a.ddpm_steps, 1.)] if a.ddpm_steps else []))
    for name,steps,eta in runs:
        s,secs = draw(learn, a.n, steps, eta, a)
        fid = ie.fid(s*2)
        sflops = f1*a.n*steps
        print(f'{name}: FID {fid:.3f} ({fid/floor:.2f}x the floor) in {secs:.0f}s; {sflops/1e12:.1f} TFLOPs of sampling, '
              f'{sflops/secs/1e9:.0f} GFLOP/s', flush=True)
        res.update({f'fid_{name}': round(fid, 3), f'fid_{name}_vs_floor': round(fid/floor, 3), f'sample_{name}_seconds': round(secs, 1),
                    f'sample_{name}_tflops': round(sflops/1e12, 2)})
    if 'fid_ddim50' in res:
        if a.n >= 2048: res['target_fid_ddim50_le_3x_floor'] = res['fid_ddim50'] <= 3*floor and res['train_tflops'] <= 30
        else:   # a smaller sample's floor is higher, so its ratio flatters the model
            res['target_fid_ddim50_le_3x_floor'] = None
            print(f'fid_ddim50 against 3x the floor: not judged, the target is set at 2,048 samples (this run drew {a.n})', flush=True)
        if 'fid_ddpm1000' in res:
            res['ddim50_vs_ddpm1000'] = round(res['fid_ddim50']/res['fid_ddpm1000'], 3)
            res['target_ddim50_le_1.2x_ddpm1000'] = res['fid_ddim50'] <= 1.2*res['fid_ddpm1000']

def part_unet(a, res, ie):
    floor = fid_floor(a.n)
    for name,make,lr in (('unet_ours', pixel_unet, a.lr_ours), ('unet_diffusers', ddpm_unet, a.lr_diffusers)):
        fid,secs = train_fid(name, make, a, res, ie, lr=lr)
        print(f'{name}: FID of {a.n} DDIM-50 samples {fid:.3f} ({fid/floor:.2f}x the floor of {floor:.3f}) in {secs:.0f}s', flush=True)
        res[f'fid_{name}'] = round(fid, 3)
    res.update(fid_floor_unet=round(floor, 3), n_samples_unet=a.n)
    res['target_fid_unet_ours_le_diffusers'] = res['fid_unet_ours'] <= res['fid_unet_diffusers']

def part_cond(a, res, ie):
    n = 1000
    floor = fid_floor(n)
    uncond = train('uncond', pixel_unet, a, res)
    s,_ = draw(uncond, n, 50, 1., a)
    fid_uncond = ie.fid(s*2)
    print(f'unconditional: FID {fid_uncond:.3f} ({fid_uncond/floor:.2f}x the floor of {floor:.3f})', flush=True)
    cond = train('cond', lambda: CondUNetModel(10, 1, 1, nfs=(16,32,64), p_uncond=0.1), a, res, labels=True)
    asked = torch.arange(10).repeat_interleave(n//10)
    rows = []
    for g in a.guidance:
        s,secs = draw(cond, n, 50, 1., a, c=asked, guidance=g)
        acc,fid = (classify(s*2) == asked).float().mean().item(),ie.fid(s*2)
        rows.append((g, acc, fid))
        print(f'guidance {g}: {acc:.1%} classified as asked, FID {fid:.3f} ({fid/floor:.2f}x the floor) in {secs:.0f}s', flush=True)
    ok = [r for r in rows if r[1] >= 0.9]
    g,acc,fid = min(ok, key=lambda r: r[2]) if ok else max(rows, key=lambda r: r[1])
    res.update(cond_guidance=g, cond_accuracy=round(acc, 4), fid_cond=round(fid, 3), fid_uncond=round(fid_uncond, 3),
               fid_floor_cond=round(floor, 3), cond_sweep=[[g, round(acc, 4), round(fid, 3)] for g,acc,fid in rows],
               target_cond_accuracy_ge_0_9=acc >= 0.9, target_fid_cond_le_uncond=fid <= fid_uncond)

def part_ae(a, res, ie):
    dls = fast_dls(load_dsd('fashion_mnist'), batch_size=256)
    xtrain,xtest = (dl.dataset.x.float().div(255).flatten(1) for dl in (dls.train, dls.valid))
    mean,v = pca_fit(xtrain, 128)
    mse_pca = F.mse_loss(pca_decode(pca_encode(xtest, mean, v), mean, v), xtest).item()
    torch.manual_seed(1)
    _,mse,secs = fit_ae(ae_ours(), dls, epochs=a.ae_epochs, lr=5e-3, cbs=[OneCycleCB()])
    print(f'autoencoder: test MSE {mse:.5f} after {a.ae_epochs} epochs in {secs:.0f}s, PCA-128 {mse_pca:.5f}: '
          f'{mse/mse_pca:.3f}x (target <= 0.5x)', flush=True)
    res.update(ae_mse=round(mse, 5), pca_mse=round(mse_pca, 5), ae_vs_pca=round(mse/mse_pca, 4), ae_epochs=a.ae_epochs,
               ae_seconds=round(secs, 1), target_ae_le_half_pca=mse <= 0.5*mse_pca)

def part_latent(a, res, ie):
    xs,xv = fashion_x('train')+0.5,fashion_x('test')+0.5
    dls = DataLoaders(tensor_dl(TensorDS(xs, xs, tfm=fc.noop), 256, shuffle=True, drop_last=True),
                      tensor_dl(TensorDS(xv, xv, tfm=fc.noop), 256))
    set_seed(a.seed)
    vae = Learner(ConvVAE(), dls, partial(vae_loss, kl_weight=1e-3), lr=3e-3, cbs=[MixedPrecisionCB(device=a.device), DeviceCB(a.device)],
                  opt_func=partial(torch.optim.AdamW, eps=1e-5))
    fpb = flops_per_batch(vae.model, next(iter(dls.train)), vae.loss_func)
    t0 = time.perf_counter()
    vae.fit(a.vae_epochs, cbs=[OneCycleCB()])
    vae_secs = time.perf_counter()-t0
    vae_tflops = fpb*len(dls.train)*a.vae_epochs/1e12
    lat = Latents(vae.model, xs)
    z,zv = lat.encode(xs),lat.encode(xv)
    floor = fid_floor(a.n)
    fid_rec = ie.fid(lat.decode(zv[:a.n])*2-1)
    print(f'VAE: {a.vae_epochs} epochs, {vae_tflops:.1f} TFLOPs in {vae_secs:.0f}s; FID of {a.n} test images through it '
          f'{fid_rec:.3f} (floor {floor:.3f})', flush=True)
    learn = train('latent', lambda: EmbUNetModel(4, 4, nfs=(32,64), num_layers=2, attn_chans=0), a, res, tflops=a.tflops/3, data=(z, zv))
    s,_ = draw(learn, a.n, 50, 1., a, shape=(4,8,8), clamp=False)
    fid_latent = ie.fid(lat.decode(s.float())*2-1)
    if 'fid_unet_ours' in res and res.get('n_samples_unet') == a.n and res['unet_ours_lr'] == a.lr: fid_pixel,pixel_tflops = res['fid_unet_ours'],res['unet_ours_train_tflops']
    else:
        fid_pixel,pixel_tflops = train_fid('pixel', pixel_unet, a, res, ie)[0],res['pixel_train_tflops']
    frac = res['latent_train_tflops']/pixel_tflops
    print(f'latent: FID {fid_latent:.3f}, pixel: FID {fid_pixel:.3f} (floor {floor:.3f}); latent/pixel training compute '
          f'{frac:.3f}', flush=True)
    res.update(vae_epochs=a.vae_epochs, vae_train_tflops=round(vae_tflops, 2), vae_seconds=round(vae_secs, 1),
               fid_vae_rebuilt=round(fid_rec, 3), fid_latent=round(fid_latent, 3), fid_pixel=round(fid_pixel, 3),
               fid_floor_latent=round(floor, 3), latent_compute_fraction=round(frac, 3),
               target_latent_le_pixel_at_third=fid_latent <= fid_pixel and frac <= 1/3+1e-3)

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--parts', nargs='+', default=['ddpm', 'unet', 'cond', 'ae', 'latent'], choices=['ddpm', 'unet', 'cond', 'ae', 'latent'])
    p.add_argument('--tflops', type=float, default=30., help='training compute, per model')
    p.add_argument('--n', type=int, default=2048, help='samples per FID (ddpm and unet; cond always draws 1,000)')
    p.add_argument('--bs', type=int, default=64)
    p.add_argument('--lr', type=float, default=2e-3, help="peak learning rate (all parts but unet)")
    p.add_argument('--lr-ours', type=float, default=1e-2, help="peak learning rate of the unet part's EmbUNetModel")
    p.add_argument('--lr-diffusers', type=float, default=1e-3, help="peak learning rate of the unet part's UNet2DModel")
    p.add_argument('--ddpm-model', choices=['ours', 'diffusers'], default='diffusers',
                   help="the ddpm part's UNet: miniai's EmbUNetModel (no attention) or diffusers' UNet2DModel (ddpm_unet)")
    p.add_argument('--ddpm-nfs', type=int, nargs='+', default=[16, 32, 64], help="the ddpm part's channels per level")
    p.add_argument('--ddpm-bs', type=int, default=None, help="the ddpm part's batch size (default --bs)")
    p.add_argument('--ddpm-lr', type=float, default=None, help="the ddpm part's peak learning rate (default --lr)")
    p.add_argument('--ddim-steps', type=int, nargs='+', default=[50])
    p.add_argument('--ddpm-steps', type=int, default=1000, help='0 skips the DDPM run')
    p.add_argument('--guidance', type=float, nargs='+', default=[1., 1.5, 2., 3., 4.], help='guidance scales (cond)')
    p.add_argument('--ae-epochs', type=int, default=20, help="epochs of 05_ae_learner's autoencoder (ae)")
    p.add_argument('--vae-epochs', type=int, default=5, help='epochs of the VAE (latent)')
    p.add_argument('--seed', type=int, default=42)
    p.add_argument('--device', default=def_device)
    a = p.parse_args()
    print(f'torch {torch.__version__} on {a.device}, {torch.get_num_threads()} threads, bf16 CPU: {cpu_bf16()}; '
          f'load average {load()} (above 2, other work shares these 2 cores)', flush=True)
    res = dict(device=a.device, threads=torch.get_num_threads(), bs=a.bs, lr=a.lr, lr_ours=a.lr_ours, lr_diffusers=a.lr_diffusers, seed=a.seed, tflops_budget=a.tflops, parts=a.parts)
    ie = fashion_eval()
    for part in a.parts: globals()[f'part_{part}'](a, res, ie)
    res.update(load_avg_end=load())
    print('RESULT ' + json.dumps(res))

if __name__ == '__main__': main()
