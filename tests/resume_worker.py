"""The training job that tests/test_resume.py kills and resumes.

It trains an MLP on 2,048 Fashion-MNIST images for 3 epochs (Adam, a one-cycle schedule) with `CheckpointCB(CKPT)`,
then saves its final weights and the metrics it logged to OUT. `--die EVENT EPOCH PHASE [BATCH]` makes it kill itself
with SIGKILL at that event of epoch EPOCH in PHASE ('train' or 'valid'), at batch BATCH (default: any); the EVENT
'save' kills it in the rename that would put the checkpoint saved after that phase in place. `--resume` continues
the run saved at CKPT from another random start: everything must come from the checkpoint."""
import argparse, os, signal
import torch, torch.nn.functional as F
from torch import nn, optim
from miniai.datasets import load_dsd, fast_dls
from miniai.learner import TrainLearner, Callback, MetricsCB, OneCycleCB, Accuracy
from miniai.checkpoint import CheckpointCB

p = argparse.ArgumentParser()
p.add_argument('ckpt')
p.add_argument('out')
p.add_argument('--die', nargs='+', metavar='ARG', help='EVENT EPOCH PHASE [BATCH]')
p.add_argument('--resume', action='store_true')
a = p.parse_args()

def die(*args): os.kill(os.getpid(), signal.SIGKILL)

class DieCB(Callback):
    "Kill this process at `event` of epoch `epoch` in `phase`, at batch `at` (None: any)."
    order = -1   # before the others: a death in `after_epoch` comes before that epoch's checkpoint
    def __init__(self, event, epoch, phase, at=None):
        self.epoch,self.phase,self.at = int(epoch),phase,None if at is None else int(at)
        if event == 'save': self.after_epoch = self.arm
        else: setattr(self, event, self.check)
    def hit(self, learn):
        return learn.epoch == self.epoch and learn.training == (self.phase == 'train') and self.at in (None, learn.iter)
    def check(self, learn):
        if self.hit(learn): die()
    def arm(self, learn):
        if self.hit(learn): os.replace = die   # save_checkpoint has written the new checkpoint: die before the rename

class LogsCB(MetricsCB):
    "A `MetricsCB` that keeps its logs without printing them."
    def _log(self, d): pass

dsd = load_dsd('fashion_mnist')
dls = fast_dls({'train': dsd['train'].select(range(2048)), 'test': dsd['test'].select(range(512))}, 64)
torch.manual_seed(0 if a.resume else 42)
model = nn.Sequential(nn.Flatten(), nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10))
logs = LogsCB(Accuracy())
cbs = [OneCycleCB(), logs, CheckpointCB(a.ckpt, resume=a.resume)] + ([DieCB(*a.die)] if a.die else [])
learn = TrainLearner(model, dls, F.cross_entropy, lr=1e-2, opt_func=optim.Adam, cbs=cbs)
learn.fit(3)
torch.save(dict(weights=learn.model.state_dict(), logs=logs.logs), a.out)
