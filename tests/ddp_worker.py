"""The training job that tests/test_distributed.py launches with and without `torchrun`.

Each process trains a small CNN on a slice of Fashion-MNIST with `DDPCB` and saves its final weights and the
metrics it logged to `OUT/rank{RANK}.pt`. `--die-at K` / `--hang-at K` make rank 1 exit / stop responding at batch K;
`--write-pid` makes each rank write its process id to `OUT/rank{RANK}.pid` once it has trained a batch."""
import argparse, os, time
import torch, torch.distributed as dist, torch.nn.functional as F
from torch import nn, optim
from miniai.datasets import load_dsd, fast_dls
from miniai.conv import conv
from miniai.learner import Learner, Callback, TrainCB, DeviceCB, MetricsCB, Accuracy
from miniai.checkpoint import CheckpointCB
from miniai.accel import MixedPrecisionCB, ChannelsLastCB
from miniai.distributed import DDPCB, shard_dl, rank

p = argparse.ArgumentParser()
p.add_argument('out')
p.add_argument('--bs', type=int, default=64)
p.add_argument('--epochs', type=int, default=2)
p.add_argument('--n-train', type=int, default=1024)
p.add_argument('--n-valid', type=int, default=500)
p.add_argument('--timeout', type=float, default=60)
p.add_argument('--die-at', type=int, default=-1)
p.add_argument('--hang-at', type=int, default=-1)
p.add_argument('--mixed', action='store_true')
p.add_argument('--channels-last', action='store_true')
p.add_argument('--ckpt', help='save a checkpoint here every epoch')
p.add_argument('--write-pid', action='store_true')
a = p.parse_args()

class CountingCheckpointCB(CheckpointCB):
    "A `CheckpointCB` that counts its saves, to show that only rank 0 writes."
    saves = 0
    def after_epoch(self, learn):
        self.saves += 1
        super().after_epoch(learn)

class FailCB(Callback):
    "Make rank 1 die or stop responding at a given batch of the first epoch."
    def before_batch(self, learn):
        if rank() != 1 or learn.epoch != 0 or not learn.training: return
        if learn.iter == a.die_at: os._exit(3)
        if learn.iter == a.hang_at: time.sleep(600)

class PidCB(Callback):
    "Write this process's id to `OUT/rank{RANK}.pid` after the first training batch: the fit is under way."
    def after_batch(self, learn):
        if not a.write_pid or not learn.training or learn.epoch or learn.iter: return
        os.makedirs(a.out, exist_ok=True)
        with open(f'{a.out}/rank{rank()}.pid.tmp', 'w') as f: f.write(str(os.getpid()))
        os.replace(f'{a.out}/rank{rank()}.pid.tmp', f'{a.out}/rank{rank()}.pid')

class ProbeCB(Callback):
    "What the first training batch ran with: process group backend, pinned loader, dtype of the predictions, memory format."
    order = 50
    probe = None
    def after_batch(self, learn):
        if self.probe is not None or not learn.training: return
        w = next(m for m in learn.model.modules() if isinstance(m, nn.Conv2d)).weight
        cl = lambda t: t.is_contiguous(memory_format=torch.channels_last)
        self.probe = dict(backend=dist.get_backend() if dist.is_initialized() else None, pin_memory=learn.dl.pin_memory,
                          preds_dtype=str(learn.preds.dtype), channels_last=cl(w) and cl(learn.batch[0]))

class SetEpochCB(Callback):
    "What `DDPCB` does under torchrun, for the single-process reference: a new permutation every epoch."
    def before_epoch(self, learn): dls.train.sampler.sampler.set_epoch(learn.epoch)

dsd = load_dsd('fashion_mnist')
dls = fast_dls({'train': dsd['train'].select(range(a.n_train)), 'test': dsd['test'].select(range(a.n_valid))}, a.bs)
# Shuffle as a world of one would: one process with batch size 2*bs then takes the same steps as two ranks with bs each.
dls.train = shard_dl(dls.train, 0, 1)
torch.manual_seed(0)
model = nn.Sequential(conv(1,8,ks=5), conv(8,16), conv(16,32), conv(32,64), conv(64,10,act=False), nn.Flatten())
metrics = MetricsCB(accuracy=Accuracy())
# bf16 asked for outright: the test checks it under DDP, on CPUs that emulate it too
cbs = [DeviceCB(), train_cb := MixedPrecisionCB(dtype=torch.bfloat16) if a.mixed else TrainCB(), probe := ProbeCB(), metrics,
       DDPCB(timeout=a.timeout), FailCB(), SetEpochCB(), PidCB()] + ([ChannelsLastCB()] if a.channels_last else [])
if a.ckpt: cbs.append(ckpt := CountingCheckpointCB(a.ckpt))
learn = Learner(model, dls, F.cross_entropy, lr=3e-3, cbs=cbs, opt_func=optim.Adam)
learn.fit(a.epochs)
os.makedirs(a.out, exist_ok=True)
torch.save(dict(state=learn.model.state_dict(), log=metrics.logs, saves=ckpt.saves if a.ckpt else None, model_type=type(learn.model).__name__,
            probe=probe.probe, scaler=train_cb.scaler.is_enabled() if a.mixed else None), f'{a.out}/rank{rank()}.pt')
