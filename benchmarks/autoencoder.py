"""Autoencoders on Fashion-MNIST with a 128-float code: the lesson's, PCA with 128 components, and ours.

Trains the lesson's autoencoder (5 epochs of AdamW at lr 0.01, as in 03_autoencoder) and ours (one-cycle AdamW,
as in 05_ae_learner), fits PCA on the training images, and prints the test-set MSE of each and the
seconds each took, side by side in one run. Run it alone: `flock ~/.cache/miniai/cpu.lock python benchmarks/autoencoder.py`."""
import os
# Idle OpenMP threads sleep instead of spinning; on a busy shared CPU spinning threads slow small ops 10-100x.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
import argparse, json, time
import torch
import torch.nn.functional as F
from miniai.datasets import load_dsd, fast_dls
from miniai.learner import OneCycleCB
from miniai.autoencoder import simple_ae, ae_ours, fit_ae, pca_fit, pca_encode, pca_decode

def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument('--epochs', type=int, default=20, help='epochs for our autoencoder')
    p.add_argument('--lesson-epochs', type=int, default=5, help="epochs for the lesson's autoencoder")
    a = p.parse_args()
    dls = fast_dls(load_dsd('fashion_mnist'), batch_size=256)
    xtrain,xtest = (dl.dataset.x.float().div(255).flatten(1) for dl in (dls.train, dls.valid))

    t0 = time.perf_counter()
    mean,v = pca_fit(xtrain, 128)
    mse_pca = F.mse_loss(pca_decode(pca_encode(xtest, mean, v), mean, v), xtest).item()
    s_pca = time.perf_counter()-t0
    print(f'PCA-128: test MSE {mse_pca:.5f} in {s_pca:.1f}s', flush=True)

    torch.manual_seed(1)
    _,mse_lesson,s_lesson = fit_ae(simple_ae(), dls, epochs=a.lesson_epochs)
    print(f"lesson's AE: test MSE {mse_lesson:.5f} after {a.lesson_epochs} epochs in {s_lesson:.0f}s", flush=True)

    torch.manual_seed(1)
    _,mse_ours,s_ours = fit_ae(ae_ours(), dls, epochs=a.epochs, lr=5e-3, cbs=[OneCycleCB()])
    print(f'ours: test MSE {mse_ours:.5f} after {a.epochs} epochs in {s_ours:.0f}s '
          f'({mse_ours/mse_pca:.2f}x PCA-128; target 0.5x within 600s)', flush=True)

    res = dict(mse_lesson=round(mse_lesson, 5), mse_pca=round(mse_pca, 5), mse_ours=round(mse_ours, 5),
               ours_vs_pca=round(mse_ours/mse_pca, 3), epochs_lesson=a.lesson_epochs, epochs_ours=a.epochs,
               s_pca=round(s_pca, 1), s_lesson=round(s_lesson, 1), s_ours=round(s_ours, 1), threads=torch.get_num_threads())
    print('RESULT ' + json.dumps(res))

if __name__ == '__main__': main()
