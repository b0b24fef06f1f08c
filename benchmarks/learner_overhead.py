"""Parity and overhead of the Learner against a plain PyTorch loop, and against PyTorch Lightning's `Trainer`.

The same CNN, seed, optimizer (SGD) and in-memory Fashion-MNIST loaders (`--n_train` training images) are trained for one epoch (training and
validation, with loss and accuracy tracked on both) by: a plain loop; `Learner` with `TrainCB`, `DeviceCB` and
`MetricsCB`; the same plus `ProgressCB`; and Lightning's `Trainer` (with its progress bar, logger, checkpointing
and summary off, so that it does the same work). The variants run in turn, `--rounds` times, each round starting with a different one, so that a slow spell
of the machine hits them all alike; each one's epoch time is its fastest round (other work only adds time), reported
as a ratio to the plain loop's (the medians are reported too). Then, on a model and batches so small that only the
framework costs anything, the microseconds the Learner adds per batch, also with its gradients' check switched off
(`Learner.check_grads = False`: the check that stops a NaN or infinite gradient before the step). `parity` is true when the Learner ends with exactly the plain loop's weights, in every round.

Lightning is a benchmark-only extra (`pip install lightning`); without it the Lightning figures are null.
Run it alone on the machine: `flock ~/.cache/miniai/cpu.lock python benchmarks/learner_overhead.py`."""
import argparse, contextlib, io, json, logging, math, os, statistics, time, warnings
from functools import partial
import torch
from torch import nn, optim
import torch.nn.functional as F
from datasets import DatasetDict
from miniai.datasets import load_dsd, fast_dls
from miniai.conv import conv
from miniai.learner import Learner, TrainCB, DeviceCB, MetricsCB, ProgressCB, Accuracy

def get_model(seed):
    torch.manual_seed(seed)
    return nn.Sequential(conv(1,16), conv(16,32), conv(32,64), conv(64,64), conv(64,10, act=False), nn.Flatten())

def plain_fit(model, dls, lr):
    "The loop one would write by hand, tracking the same loss and accuracy as `MetricsCB`."
    opt = optim.SGD(model.parameters(), lr)
    log = []
    for train,dl in ((True, dls.train), (False, dls.valid)):
        model.train(train)
        tot_loss,tot_acc,n = 0.,0.,0
        with torch.set_grad_enabled(train):
            for xb,yb in dl:
                preds = model(xb)
                loss = F.cross_entropy(preds, yb)
                if train:
                    loss.backward()
                    opt.step()
                    opt.zero_grad()
                tot_loss += loss.item()*len(yb)
                tot_acc += (preds.argmax(1)==yb).float().sum().item()
                n += len(yb)
        log.append((tot_loss/n, tot_acc/n))
    return log

def learner_fit(model, dls, lr, progress=False, check_grads=True):
    cbs = [TrainCB(), DeviceCB('cpu'), MetricsCB(accuracy=Accuracy())]
    if progress: cbs.append(ProgressCB(notebook=False))
    learn = Learner(model, dls, F.cross_entropy, lr=lr, cbs=cbs)
    learn.check_grads = check_grads
    with contextlib.redirect_stdout(io.StringIO()): learn.fit(1)   # the lines are printed, not shown
    return [(o['loss'], o['accuracy']) for o in learn.metrics.logs]

def lightning_fit(model, dls, lr):
    "Returns the epoch time as Lightning's own callbacks see it (training and validation, no setup)."
    import lightning as L
    class LitModel(L.LightningModule):
        def __init__(self):
            super().__init__()
            self.model = model
        def _step(self, batch, train):
            xb,yb = batch
            preds = self.model(xb)
            loss = F.cross_entropy(preds, yb)
            self.tot[train] += torch.stack([loss.detach()*len(yb), (preds.argmax(1)==yb).float().sum(), torch.tensor(len(yb.float()))])
            return loss
        def training_step(self, batch, i): return self._step(batch, True)
        def validation_step(self, batch, i): return self._step(batch, False)
        def configure_optimizers(self): return optim.SGD(self.parameters(), lr)
    class Timer(L.Callback):
        def on_train_epoch_start(self, *a): self.t0 = time.perf_counter()
        def on_train_epoch_end(self, *a): self.secs = time.perf_counter()-self.t0
    lit,timer = LitModel(),Timer()
    lit.tot = {True: torch.zeros(3), False: torch.zeros(3)}
    trainer = L.Trainer(max_epochs=1, accelerator='cpu', devices=1, logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0, callbacks=[timer])
    trainer.fit(lit, dls.train, dls.valid)
    return timer.secs

def overhead_per_batch(n=2000, reps=5):
    "Seconds the Learner adds per batch, from a model and data so small that the framework is all there is to time."
    from miniai.datasets import TensorDS, tensor_dl, DataLoaders
    ds = TensorDS(torch.zeros(n, 4), torch.zeros(n, dtype=torch.long), tfm=lambda x: x)
    dls = DataLoaders(tensor_dl(ds, 1), tensor_dl(TensorDS(torch.zeros(1, 4), torch.zeros(1, dtype=torch.long), tfm=lambda x: x), 1))
    fits = dict(plain=plain_fit, learner=learner_fit, learner_progress=partial(learner_fit, progress=True),
                learner_unchecked=partial(learner_fit, check_grads=False))
    best = {k: math.inf for k in fits}
    for _ in range(reps):
        for k,fit in fits.items():
            model = nn.Linear(4, 2)
            t0 = time.perf_counter()
            fit(model, dls, 0.1)
            best[k] = min(best[k], (time.perf_counter()-t0)/(n+1))
    return {k: t-best['plain'] for k,t in best.items() if k != 'plain'}

def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--rounds', type=int, default=6)
    p.add_argument('--n_train', type=int, default=10_000, help='training images used (the first ones); all 10,000 test images validate')
    p.add_argument('--bs', type=int, default=256)
    p.add_argument('--lr', type=float, default=0.1)
    a = p.parse_args()
    logging.getLogger('lightning').setLevel(logging.ERROR)
    logging.getLogger('lightning.pytorch').setLevel(logging.ERROR)
    warnings.filterwarnings('ignore', '.*does not have many workers.*')
    try: import lightning
    except ImportError: lightning = None

    dsd = load_dsd('fashion_mnist')
    dls = fast_dls(DatasetDict(train=dsd['train'].select(range(a.n_train)), test=dsd['test']), batch_size=a.bs)
    print(f'torch {torch.__version__}, {torch.get_num_threads()} threads, lightning {lightning and lightning.__version__}; '
          f'{len(dls.train)} training and {len(dls.valid)} validation batches per epoch')
    fits = dict(plain=lambda m: plain_fit(m, dls, a.lr), learner=lambda m: learner_fit(m, dls, a.lr),
                learner_progress=lambda m: learner_fit(m, dls, a.lr, progress=True))
    if lightning: fits['lightning'] = lambda m: lightning_fit(m, dls, a.lr)
    times = {k: [] for k in fits}
    names,parity,maxdiff = list(fits),True,0.
    for r in range(a.rounds):
        weights,logs = {},{}
        for name in names[r%len(names):] + names[:r%len(names)]:   # a different variant goes first each round
            model = get_model(seed=r)
            t0 = time.perf_counter()
            res = fits[name](model)
            secs = time.perf_counter()-t0
            if name == 'lightning': secs = res   # its epoch alone, not the Trainer's setup
            else: logs[name] = res
            times[name].append(secs)
            weights[name] = [p.detach().clone() for p in model.parameters()]
        for (l0,a0),(l1,a1) in zip(logs['plain'], logs['learner']):
            assert abs(l0-l1) < 1e-4 and abs(a0-a1) < 1e-6, f"the Learner's metrics {logs['learner']} differ from the plain loop's {logs['plain']}"
        for name in names[1:]:
            same = all(torch.equal(p, q) for p,q in zip(weights['plain'], weights[name]))
            diff = max((p-q).abs().max().item() for p,q in zip(weights['plain'], weights[name]))
            if name.startswith('learner'): parity &= same
            if name == 'lightning': maxdiff = max(maxdiff, diff)
            print(f'round {r}: {name:<17} weights {"identical to" if same else f"differ (max {diff:.2g}) from"} the plain loop\'s')
        print(f'round {r}: ' + ', '.join(f'{k} {v[-1]:.2f}s' for k,v in times.items()), flush=True)

    # Other work on the machine only ever adds time, so each variant's fastest round is its truest figure (as
    # `timeit` holds); the medians are printed too.
    med = {k: statistics.median(v) for k,v in times.items()}
    best = {k: min(v) for k,v in times.items()}
    ratio = lambda k, t=best: round(t[k]/t['plain'], 4) if k in t else None
    for k in med: print(f'{k:<17} fastest epoch {best[k]:.2f}s, ratio to plain {ratio(k)}; median {med[k]:.2f}s, ratio {ratio(k, med)}')
    extra = overhead_per_batch()
    n_batches = len(dls.train) + len(dls.valid)
    for k,v in extra.items():
        print(f'{k:<17} adds {v*1e6:.0f} us per batch: {v*n_batches/best["plain"]:.2%} of the plain epoch above')
    res = dict(parity=parity, ratio_learner=ratio('learner'), ratio_learner_progress=ratio('learner_progress'),
               ratio_lightning=ratio('lightning'), median_ratio_learner=ratio('learner', med),
               median_ratio_learner_progress=ratio('learner_progress', med), median_ratio_lightning=ratio('lightning', med),
               learner_us_per_batch=round(extra['learner']*1e6, 1), learner_progress_us_per_batch=round(extra['learner_progress']*1e6, 1),
               learner_unchecked_us_per_batch=round(extra['learner_unchecked']*1e6, 1),
               plain_epoch_s=round(best['plain'], 3), rounds=a.rounds,
               lightning_max_weight_diff=maxdiff if lightning else None, n_train=a.n_train, load_avg=round(os.getloadavg()[0], 1))
    print('RESULT ' + json.dumps(res))

if __name__ == '__main__': main()
