"""Train the Fashion-MNIST classifier on one process or on several, with the same code.

    python examples/train_ddp.py                                      # one process
    torchrun --standalone --nproc-per-node 2 examples/train_ddp.py    # two processes: gloo on CPU, one GPU each with nccl
    python examples/train_ddp.py --mixed --channels-last --epochs 3 --save fmnist.pt --json results.json

`--bs` is the batch size of each process, so n processes take steps of n*bs items. Only rank 0 prints and writes files."""
import argparse, json, time
import torch, torch.nn.functional as F
from torch import nn, optim
from miniai.datasets import load_dsd, fast_dls
from miniai.conv import conv
from miniai.learner import Learner, Callback, TrainCB, DeviceCB, MetricsCB, ProgressCB, Accuracy, metric_value
from miniai.checkpoint import CheckpointCB
from miniai.accel import MixedPrecisionCB, ChannelsLastCB
from miniai.distributed import DDPCB, rank, world_size

def get_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--bs', type=int, default=256, help='batch size of each process')
    p.add_argument('--lr', type=float, default=3e-3)
    p.add_argument('--n-train', type=int, default=60000, help='train on the first N training images')
    p.add_argument('--mixed', action='store_true', help='mixed precision: bf16 on a CPU that has it (else float32, with a warning), fp16 with a grad scaler on CUDA')
    p.add_argument('--channels-last', action='store_true', help='channels-last memory format for weights and batches')
    p.add_argument('--progress', action='store_true', help='show progress bars (rank 0 only)')
    p.add_argument('--save', help='write a checkpoint here after every epoch (rank 0 only; load it with load_checkpoint)')
    p.add_argument('--json', help="write the epoch times and final metrics here (rank 0 only)")
    return p.parse_args(argv)

def get_model():
    "The course's Fashion-MNIST CNN: stride-2 convolutions from 28x28 down to 1x1, ten outputs."
    return nn.Sequential(conv(1,8,ks=5), conv(8,16), conv(16,32), conv(32,64), conv(64,10,act=False), nn.Flatten())

class EpochTimeCB(Callback):
    "Seconds each epoch (training and validation) took."
    order = MetricsCB.order+5
    def before_fit(self, learn): self.times = []
    def before_epoch(self, learn):
        if learn.training: self.t0 = time.perf_counter()
    def after_epoch(self, learn):
        if not learn.training: self.times.append(time.perf_counter()-self.t0)

def main(a):
    dsd = load_dsd('fashion_mnist')
    dls = fast_dls({'train': dsd['train'].select(range(a.n_train)), 'test': dsd['test']}, a.bs)
    torch.manual_seed(0)  # DDP starts every rank from rank 0's weights anyway
    metrics,timer = MetricsCB(accuracy=Accuracy()),EpochTimeCB()
    cbs = [DeviceCB(), MixedPrecisionCB() if a.mixed else TrainCB(), metrics, timer, DDPCB()]
    if a.channels_last: cbs.append(ChannelsLastCB())
    if a.progress: cbs.append(ProgressCB())
    if a.save: cbs.append(CheckpointCB(a.save))  # DDPCB lets only rank 0 write it
    learn = Learner(get_model(), dls, F.cross_entropy, lr=a.lr, cbs=cbs, opt_func=optim.Adam)
    learn.fit(a.epochs)
    res = dict(world_size=world_size(), mixed=a.mixed, channels_last=a.channels_last, bs=a.bs, n_train=a.n_train,
               epochs=a.epochs, epoch_s=timer.times, **{k: metric_value(v) for k,v in metrics.all_metrics.items()})
    if rank() == 0:
        print(res)
        if a.json:
            with open(a.json, 'w') as f: json.dump(res, f)
    return res

if __name__ == '__main__': main(get_args())
