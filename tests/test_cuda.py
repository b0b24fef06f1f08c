"Checks that need a CUDA GPU (skipped without one): the accelerated-training callbacks and transforms on the device."
import pytest, torch
from torch import nn, optim
import torch.nn.functional as F

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA GPU (these run in `make gpu-check`)')

from miniai.datasets import TensorDS, tensor_dl, DataLoaders
from miniai.learner import Learner, DeviceCB, MetricsCB, Accuracy, Callback, TrainCB
from miniai.accel import MixedPrecisionCB, ChannelsLastCB, ThreadsCB, flops_per_batch, matmul_flops
from miniai.augment import AugmentCB, RandCrop, RandFlip, RandErase
from miniai.resnet import resnet

def dls(n=512, bs=64):
    g = torch.Generator().manual_seed(0)
    x,y = torch.randint(0, 256, (n,28,28), dtype=torch.uint8, generator=g), torch.randint(0, 10, (n,), generator=g)
    ds = TensorDS(x, y)
    return DataLoaders(tensor_dl(ds, bs, shuffle=True, pin_memory=True), tensor_dl(ds, bs, pin_memory=True))

class Record(Callback):
    order = 100
    def after_batch(self, learn):
        self.dtypes,self.device = (learn.preds.dtype, learn.loss.dtype), learn.batch[0].device.type
        self.scale = next(cb for cb in learn.cbs if isinstance(cb, MixedPrecisionCB)).scaler.get_scale()

def test_mixed_precision_fp16_with_scaler():
    rec = Record()
    learn = Learner(resnet((8,16,32)), dls(), F.cross_entropy, lr=1e-2, opt_func=optim.AdamW,
                    cbs=[DeviceCB('cuda'), MixedPrecisionCB(device='cuda'), ChannelsLastCB(), ThreadsCB(), rec])
    learn.fit(1)
    assert rec.dtypes == (torch.float16, torch.float32) and rec.device == 'cuda'
    assert rec.scale > 1, "the GradScaler is not scaling the fp16 loss"
    assert learn.model[0][0].weight.is_contiguous(memory_format=torch.channels_last)
    assert all(torch.isfinite(p).all() for p in learn.model.parameters())

def test_augment_on_cuda():
    xb = torch.randn(16, 3, 28, 28, device='cuda')
    torch.manual_seed(0); a = nn.Sequential(RandCrop(2), RandFlip(), RandErase())(xb)
    torch.manual_seed(0); b = nn.Sequential(RandCrop(2), RandFlip(), RandErase())(xb)
    assert a.device.type == 'cuda' and a.shape == xb.shape and torch.equal(a, b)

def test_flops_and_matmul_on_cuda():
    m = nn.Linear(10, 5, bias=False).cuda()
    assert flops_per_batch(m, (torch.randn(8, 10, device='cuda'), torch.randn(8, 5, device='cuda')), F.mse_loss) == 1600
    assert matmul_flops(1024, device='cuda') > 1e12
