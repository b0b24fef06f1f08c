"""How high `mfu` could go for the book's recipe on this CPU: the recipe's convolutions timed alone.

`mfu` counts only the convolutions' (and the last layer's) FLOPs. So if everything else a training step does (batch
norm, activations, the optimiser, casts, data) took no time at all, the step would take as long as its convolutions'
forward and backward passes, and `mfu` would be their FLOP/s over the matrix product's. This script measures that
ceiling for the recipe of `miniai.faster.fast_learner` (a ResNet of five stages, each twice as wide as the one before it,
from each first width of `--widths`: default 12, the recipe's, then 24, 48 and 96) on batches of `--bs` (default 512):

1. It records every `nn.Conv2d` of the network with the shape of its input, on one channels-last batch
   (`miniai.wgrad.conv_shapes`).
2. It times each one alone (`miniai.wgrad.pass_secs`): forward, the gradient of its input (past the first layer: the
   images need none) and the gradient of its weights, on random data of that shape, in each of `--dtypes` (default:
   bf16 where this CPU has it, and float32), channels-last as the recipe trains: the median of `--reps` calls after a
   warm-up. It times the weights' gradient again beside it as one matrix product (`miniai.wgrad.wgrad_secs`,
   nbs/09b_wgrad), and both sums take oneDNN's from that second timing, so that they differ only in the way chosen.
3. `ceiling` is the summed FLOPs of those passes (`miniai.wgrad.conv_flops`) over their summed seconds, over the FLOP/s
   of a 2048x2048 matrix product in the same type, measured in the same run. `ceiling_best_wgrad` is the same with the
   faster of the two ways to each layer's weights' gradient, as `MMWgradCB` chooses.
4. `--step-secs` (default 15, 0 skips it): the recipe itself, compiled (`fast_learner`, no `ThreadsCB`), trained for
   that many seconds after a warm-up, in the type it trains in; `mfu_step` is its FLOP/s over the same product, and
   `conv_share` the fraction of the step its convolutions would take at the speed measured alone. `mfu_step_mm` is the
   same recipe with `MMWgradCB`.

PyTorch's default threads throughout. Run it alone on the machine; the last line is `RESULT {json}`."""
import argparse, json, os
import torch
from miniai.accel import fashion_dls, matmul_flops, cpu_bf16, flops_per_batch, fit_budget, MixedPrecisionCB
from miniai.faster import fast_learner
from miniai.wgrad import conv_shapes, conv_flops, pass_secs, wgrad_secs, MMWgradCB

DTYPES = {'bf16': torch.bfloat16, 'float32': torch.float32}

def ceiling(nfs, bs, dtype, reps):
    "FLOPs and seconds of the convolutions' passes of the recipe at widths `nfs`, each alone; the seconds with the faster weights' gradient; per layer."
    model = fast_learner(None, nfs=nfs, whiten=False, compile=False, threads=False).model.to(memory_format=torch.channels_last)
    xb = torch.randn(bs, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    flops,secs,best,rows = 0,0.,0.,[]
    for i,(m,shape) in enumerate(conv_shapes(model, xb)):
        t = pass_secs(m, shape, dtype, reps)
        if i == 0: del t['input grad']   # the images need no gradient
        w = wgrad_secs(m, shape, dtype, reps)
        t['weight grad'] = w['oneDNN']   # one timing of oneDNN's weights' gradient for both sums, not two
        n = conv_flops(m, shape)*len(t)
        flops += n; secs += sum(t.values()); best += sum(t.values())-t['weight grad']+min(w.values())
        rows.append((m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], shape[-1], n/1e9, sum(t.values())*1e3))
    return flops,secs,best,rows

def step_gflops(nfs, bs, secs, cbs=()):
    "Training GFLOP/s of the compiled recipe at widths `nfs` with `cbs` over `secs` seconds after 3 s of warm-up (which compiles), and its dtype."
    dls = fashion_dls(bs)
    torch.manual_seed(0)
    learn = fast_learner(dls, nfs=nfs, whiten=False, threads=False, cbs=cbs)
    fit_budget(learn, secs=3)
    n,s = fit_budget(learn, secs=secs)
    mp = next(cb for cb in learn.cbs if isinstance(cb, MixedPrecisionCB))
    return n*flops_per_batch(learn.model, next(iter(dls.train)), learn.loss_func)/s/1e9, mp.dtype

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--widths', type=int, nargs='+', default=[12, 24, 48, 96], help='first widths, doubled over five stages')
    p.add_argument('--bs', type=int, default=512)
    p.add_argument('--dtypes', nargs='+', choices=list(DTYPES), default=['bf16', 'float32'] if cpu_bf16() else ['float32'])
    p.add_argument('--reps', type=int, default=10)
    p.add_argument('--step-secs', type=float, default=15)
    a = p.parse_args()
    res = dict(vars(a), threads=torch.get_num_threads(), cpu_bf16=cpu_bf16(), load_avg_start=round(os.getloadavg()[0], 1))
    print(f"{torch.get_num_threads()} threads; bf16 in hardware: {cpu_bf16()}; load average {res['load_avg_start']}")
    for w in a.widths:
        nfs = tuple(w*2**i for i in range(5))
        for dn in a.dtypes:
            dt = DTYPES[dn]
            flops,secs,best,rows = ceiling(nfs, a.bs, dt, a.reps)
            peak = matmul_flops(dtype=dt)
            c,cb = flops/secs/peak,flops/best/peak
            print(f"width {w} {nfs}, {dn}: convolutions alone {flops/1e9:.1f} GFLOPs in {secs*1e3:.1f} ms, "
                  f"{flops/secs/1e9:.0f} GFLOP/s against a {dn} product's {peak/1e9:.0f}: ceiling {c:.3f}; "
                  f"with the faster weights' gradient of each layer {best*1e3:.1f} ms, ceiling {cb:.3f}", flush=True)
            if w == a.widths[0]:
                for ni,nf,ks,st,px,gf,ms in rows:
                    print(f"   {ni:>4} -> {nf:<4} {ks}x{ks}/{st} on {px:>2}x{px:<2}: {gf:5.2f} GFLOPs {ms:6.2f} ms "
                          f"{gf/ms*1e3:6.0f} GFLOP/s")
            r = dict(conv_gflops=round(flops/1e9, 2), conv_ms=round(secs*1e3, 2), conv_gflops_s=round(flops/secs/1e9, 1),
                     matmul_gflops_s=round(peak/1e9, 1), ceiling=round(c, 3), conv_ms_best_wgrad=round(best*1e3, 2),
                     ceiling_best_wgrad=round(cb, 3))
            if a.step_secs and dt == (torch.bfloat16 if cpu_bf16() else torch.float32):
                gs,sdt = step_gflops(nfs, a.bs, a.step_secs)
                gm,_ = step_gflops(nfs, a.bs, a.step_secs, cbs=[MMWgradCB()])
                r.update(step_gflops_s=round(gs, 1), mfu_step=round(gs*1e9/peak, 3), conv_share=round(gs*1e9/(flops/secs), 3),
                         step_dtype=str(sdt), step_mm_gflops_s=round(gm, 1), mfu_step_mm=round(gm*1e9/peak, 3))
                print(f"   the compiled recipe trains at {gs:.0f} GFLOP/s in {sdt}: mfu {gs*1e9/peak:.3f}; "
                      f"its convolutions alone would take {gs*1e9/(flops/secs):.0%} of its step; "
                      f"with MMWgradCB {gm:.0f} GFLOP/s, mfu {gm*1e9/peak:.3f}", flush=True)
            res[f'w{w}_{dn}'] = r
    res['load_avg_end'] = round(os.getloadavg()[0], 1)
    print('RESULT', json.dumps(res))

if __name__ == '__main__': main()
