"""`make gpu-check`: on a machine with a CUDA GPU, train the book's Fashion-MNIST recipe on it with and without mixed
precision (fp16 with a grad scaler) for a fixed budget of steps, printing each epoch's time and the test accuracy,
then train the book's DDPM (benchmarks/diffusion.py) on it with mixed precision for a fixed budget of 30 TFLOPs and print
the FID of 2,048 DDIM samples beside its floor, then run the CUDA tests (tests/test_cuda.py). Sized to finish within 5
minutes on a recent GPU."""
import argparse, json, subprocess, sys
from pathlib import Path
import torch
from miniai.learner import ProgressCB
from miniai.augment import shift_views
from miniai.training import accuracy
from miniai.accel import fashion_dls, recipe_learner, fit_budget, flops_per_batch

def run(dls, mixed, epochs):
    torch.manual_seed(42)
    learn = recipe_learner(dls, mixed=mixed, device='cuda')
    # a budget in seconds would end each run at the same time; a budget of compute gives comparable accuracies
    tflops = epochs*len(dls.train)*flops_per_batch(learn.model, next(iter(dls.train)), learn.loss_func)/1e12
    steps,secs = fit_budget(learn, tflops=tflops, cbs=[ProgressCB(notebook=False)])
    torch.cuda.synchronize()
    probs,ys = learn.tta(shift_views())
    acc = accuracy(probs, ys).item()
    print(f"{'fp16 mixed precision' if mixed else 'float32'}: {epochs} epochs in {secs:.1f}s ({secs/epochs:.2f}s per epoch), "
          f"test accuracy with flips and shifts {acc:.4f}", flush=True)
    return dict(secs=round(secs, 2), epoch_s=round(secs/epochs, 3), accuracy=round(acc, 4))

def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--epochs', type=float, default=10)
    a = p.parse_args()
    if not torch.cuda.is_available(): sys.exit(f"gpu-check needs a CUDA GPU; torch {torch.__version__} sees none "
                                               f"(a CPU build of torch? `make setup TORCH=` lets pip pick a CUDA one)")
    print(f'torch {torch.__version__}, {torch.cuda.get_device_name()}', flush=True)
    dls = fashion_dls(512, device='cuda')
    res = {k: run(dls, mixed, a.epochs) for k,mixed in (('fp16', True), ('fp32', False))}
    res['fp16_speedup'] = round(res['fp32']['secs']/res['fp16']['secs'], 2)
    here = Path(__file__).parent
    ddpm = subprocess.run([sys.executable, str(here/'diffusion.py'), '--device', 'cuda', '--tflops', '30', '--ddpm-steps', '0', '--parts', 'ddpm'],
                          stdout=subprocess.PIPE, text=True)
    print(ddpm.stdout, end='', flush=True)
    line = next((l for l in ddpm.stdout.splitlines() if l.startswith('RESULT ')), None)
    res['ddpm'] = json.loads(line[7:]) if line else f'benchmarks/diffusion.py failed (exit {ddpm.returncode})'
    tests = subprocess.run([sys.executable, '-m', 'pytest', '-q', str(here.parent/'tests'/'test_cuda.py')])
    res['cuda_tests_passed'] = tests.returncode == 0
    print('RESULT ' + json.dumps(res))
    sys.exit(tests.returncode or (0 if line else 1))

if __name__ == '__main__': main()
