"""How accurate a Fashion-MNIST classifier can the Learner train in five minutes of wall time on a 2-core CPU,
data loading included? (The target: 94.0% test accuracy.)

The recipe: a small ResNet (batch norm, residual blocks with average-pool shortcuts) in channels-last layout under
bfloat16 autocast; AdamW with a one-cycle learning rate scheduled on the *wall clock*, so that training ends when
its time is up whatever the machine's speed (a shared machine's speed varies); label smoothing; random shifts and
horizontal flips done on in-memory batches; and test-time flip averaging. The clock starts when the script starts;
data loading reads the IDX files straight into tensors (`miniai.datasets.get_arrays`), which takes about a second.

Run it alone on the machine: `flock /tmp/miniai-cpu.lock python benchmarks/fashion_mnist.py`."""
import time
T0 = time.perf_counter()   # the clock starts before the imports
import argparse, json, math, os
import torch
from torch import nn, optim
import torch.nn.functional as F
from miniai.datasets import get_arrays, TensorDS, tensor_dl, DataLoaders
from miniai.learner import (Callback, CancelFitException, TrainLearner, MetricsCB, ProgressCB, Accuracy, DeviceCB)

MEAN,STD = 0.286, 0.353   # of the Fashion-MNIST training images

def norm(xb): return (xb[:,None].float()/255 - MEAN)/STD

def get_dls(bs):
    "Fashion-MNIST train and test sets as in-memory loaders of normalised images."
    arrs = get_arrays('fashion_mnist')
    dss = [TensorDS(torch.from_numpy(x), torch.from_numpy(y).long(), tfm=norm) for x,y in (arrs['train'], arrs['test'])]
    return DataLoaders(tensor_dl(dss[0], bs, shuffle=True, drop_last=True), tensor_dl(dss[1], 1000))

def conv_bn(ni, nf, stride=1, act=True):
    layers = [nn.Conv2d(ni, nf, 3, stride, 1, bias=False), nn.BatchNorm2d(nf)]
    return nn.Sequential(*layers, nn.ReLU(inplace=True)) if act else nn.Sequential(*layers)

class ResBlock(nn.Module):
    "Two 3x3 conv-BN layers and a shortcut (average pool and 1x1 conv when the shape changes)."
    def __init__(self, ni, nf, stride=1):
        super().__init__()
        self.convs = nn.Sequential(conv_bn(ni, nf, stride), conv_bn(nf, nf, act=False))
        pool = nn.AvgPool2d(stride, ceil_mode=True) if stride > 1 else nn.Identity()
        self.idconv = nn.Identity() if ni==nf and stride==1 else nn.Sequential(pool, nn.Conv2d(ni, nf, 1, bias=False), nn.BatchNorm2d(nf))
    def forward(self, x): return F.relu(self.convs(x) + self.idconv(x))

def get_model(w=16):
    return nn.Sequential(conv_bn(1, w), ResBlock(w, 2*w, 2), ResBlock(2*w, 4*w, 2), ResBlock(4*w, 8*w, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.1), nn.Linear(8*w, 10))

def shift_flip(xb, pad=2):
    "Shift each image by up to `pad` pixels each way (zero fill) and flip half of them left-right."
    n,c,h,w = xb.shape
    xp = F.pad(xb, (pad,)*4, value=float(xb.min()))
    dy,dx = torch.randint(0, 2*pad+1, (2, n))
    rows = (dy[:,None] + torch.arange(h))[:,None,:,None]
    cols = (dx[:,None] + torch.arange(w))[:,None,None,:]
    out = xp[torch.arange(n)[:,None,None,None], torch.arange(c)[None,:,None,None], rows, cols]
    flip = torch.rand(n) < 0.5
    return torch.where(flip[:,None,None,None], out.flip(3), out)

class AugmentCB(Callback):
    "Augment training batches with `tfm`."
    order = DeviceCB.order+1
    def __init__(self, tfm): self.tfm = tfm
    def before_batch(self, learn):
        if learn.training: learn.batch = (self.tfm(learn.batch[0]), *learn.batch[1:])

class ChannelsLastCB(Callback):
    "Channels-last layout for model and batches: faster convolutions on CPU."
    order = DeviceCB.order+2
    def before_fit(self, learn): learn.model.to(memory_format=torch.channels_last)
    def before_batch(self, learn): learn.batch = (learn.batch[0].contiguous(memory_format=torch.channels_last), *learn.batch[1:])

class AutocastCB(Callback):
    "Predict and compute the loss under bfloat16 autocast; backward and step outside it."
    def before_batch(self, learn):
        self.ac = torch.autocast(learn.batch[0].device.type, dtype=torch.bfloat16)
        self.ac.__enter__()
    def after_loss(self, learn): self._exit()
    def cleanup_batch(self, learn): self._exit()
    def _exit(self):
        if self.ac is not None: self.ac.__exit__(None, None, None)
        self.ac = None

class TimeOneCycleCB(Callback):
    "One-cycle learning rate over a budget of `secs` wall-clock seconds of training; stops when the time is up."
    def __init__(self, secs, max_lr, pct_start=0.25, div=25, final_div=1e4):
        self.secs,self.max_lr,self.pct_start,self.div,self.final_div = secs,max_lr,pct_start,div,final_div
    def before_fit(self, learn):
        self.t0,self.n = time.perf_counter(),0
        self._set(learn, 0.)
    def _set(self, learn, f):
        lo,hi,end = self.max_lr/self.div, self.max_lr, self.max_lr/self.final_div
        if f < self.pct_start: lr = lo + (hi-lo)*(1-math.cos(math.pi*f/self.pct_start))/2
        else: lr = end + (hi-end)*(1+math.cos(math.pi*(f-self.pct_start)/(1-self.pct_start)))/2
        for g in learn.opt.param_groups: g['lr'] = lr
    def after_batch(self, learn):
        if not learn.training: return
        self.n += 1
        f = (time.perf_counter()-self.t0)/self.secs
        if f >= 1: raise CancelFitException()
        self._set(learn, f)

def predict(model, dl, tta=True):
    "Class probabilities for `dl`, averaged with those of the flipped images if `tta`."
    model.eval()
    ps,ys = [],[]
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.bfloat16):
        for xb,yb in dl:
            xb = xb.contiguous(memory_format=torch.channels_last)
            p = model(xb).float().softmax(1)
            if tta: p = (p + model(xb.flip(3)).float().softmax(1))/2
            ps.append(p); ys.append(yb)
    return torch.cat(ps), torch.cat(ys)

def main(total=300., width=24, bs=512, lr=1e-2, wd=0.05, reserve=20., t0=None, seed=42):
    "Train within `total` seconds from `t0` (keeping `reserve` for the evaluation); return the figures."
    t0 = time.perf_counter() if t0 is None else t0
    torch.manual_seed(seed)
    dls = get_dls(bs)
    t_data = time.perf_counter()-t0
    budget = total - (time.perf_counter()-t0) - reserve
    load0 = os.getloadavg()[0]
    print(f'data in {t_data:.1f}s; {budget:.0f}s left for training; {torch.get_num_threads()} threads; '
          f'load average {load0:.1f} (above 2, other work shares these 2 cores)', flush=True)
    sched = TimeOneCycleCB(budget, lr)
    metrics = MetricsCB(accuracy=Accuracy())
    cbs = [DeviceCB('cpu'), AugmentCB(shift_flip), ChannelsLastCB(), AutocastCB(), sched, metrics, ProgressCB(every=30, notebook=False)]
    learn = TrainLearner(get_model(width), dls, partial_ls(0.1), lr=lr, cbs=cbs,
                         opt_func=lambda ps,lr: optim.AdamW(ps, lr, weight_decay=wd))
    learn.fit(1000, valid=False)   # the time budget ends it
    epochs = sched.n/len(dls.train)
    probs,ys = predict(learn.model, dls.valid, tta=False)
    acc_plain = (probs.argmax(1)==ys).float().mean().item()
    probs,ys = predict(learn.model, dls.valid, tta=True)
    acc = (probs.argmax(1)==ys).float().mean().item()
    secs = time.perf_counter()-t0
    print(f'{epochs:.2f} epochs; test accuracy {acc_plain:.4f}, with flip averaging {acc:.4f}; {secs:.1f}s in all')
    return dict(accuracy=round(acc, 4), accuracy_no_tta=round(acc_plain, 4), epochs=round(epochs, 2), seconds=round(secs, 1),
                data_s=round(t_data, 1), width=width, bs=bs, lr=lr, load_avg=[round(load0, 1), round(os.getloadavg()[0], 1)])

def partial_ls(eps):
    def loss_func(preds, targs): return F.cross_entropy(preds.float(), targs, label_smoothing=eps)
    return loss_func

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--total', type=float, default=300.)
    p.add_argument('--width', type=int, default=24)
    p.add_argument('--bs', type=int, default=512)
    p.add_argument('--lr', type=float, default=1e-2)
    p.add_argument('--wd', type=float, default=0.05)
    p.add_argument('--reserve', type=float, default=20.)
    a = p.parse_args()
    res = main(a.total, a.width, a.bs, a.lr, a.wd, a.reserve, t0=T0)
    print('RESULT ' + json.dumps(res))
