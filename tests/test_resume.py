"""Exact resumes after real deaths: tests/resume_worker.py trains with `CheckpointCB`, kills itself with SIGKILL at a
given point of a fit, in training or in validation, and is then resumed in a new process. The resumed run must end
with the weights of a run that never stopped, and log what it logged for the epochs it runs, bit for bit."""
import os, signal, subprocess, sys
from pathlib import Path
import pytest, torch

WORKER = str(Path(__file__).parent/'resume_worker.py')

def work(ckpt, out, *args):
    "Run the worker with checkpoint `ckpt`, results to `out`."
    from miniai.datasets import cache_dir
    env = {**os.environ, 'MINIAI_DATA': str(os.environ.get('MINIAI_DATA') or cache_dir()/'raw'), 'OMP_NUM_THREADS': '1'}
    r = subprocess.run([sys.executable, WORKER, str(ckpt), str(out), *args], capture_output=True, text=True, env=env,
                       timeout=300)
    r.out = r.stdout + r.stderr
    return r

@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    d = tmp_path_factory.mktemp('uninterrupted')
    r = work(d/'ckpt.pt', d/'out.pt')
    assert r.returncode == 0, r.out
    res = torch.load(d/'out.pt')
    assert [(d['epoch'], d['train']) for d in res['logs']] == [(e, p) for e in range(3) for p in ('train', 'valid')]
    return res

# Where the run dies (worker's --die); what the checkpoint then holds (epochs, phase); how many epoch logs the resumed
# run writes: the last ones of the uninterrupted run's. (04a_checkpoint tries more points, in one process.)
DEATHS = {'mid-training':                      (['before_batch', '1', 'train', '10'], (1, 'valid'), 4),
          'in the save after training':        (['save', '1', 'train'], (1, 'valid'), 4),
          'training saved, before validation': (['cleanup_epoch', '1', 'train'], (2, 'train'), 3),
          'mid-validation':                    (['before_batch', '1', 'valid', '2'], (2, 'train'), 3),
          'between epochs':                    (['before_epoch', '2', 'train'], (2, 'valid'), 2)}

@pytest.mark.parametrize('where', DEATHS)
def test_resume_after_sigkill(where, uninterrupted, tmp_path):
    die,saved,n_logs = DEATHS[where]
    ckpt = tmp_path/'ckpt.pt'
    r = work(ckpt, tmp_path/'died.pt', '--die', *die)
    assert r.returncode == -signal.SIGKILL, f'the worker was to be killed, and it exited with {r.returncode}:\n{r.out}'
    state = torch.load(ckpt, weights_only=True)   # the checkpoint is whole, even after a death while saving
    temps = lambda: [o.name for o in tmp_path.iterdir() if o.name.startswith('.')]
    assert bool(temps()) == (die[0] == 'save')   # a death in the save leaves its temporary file behind
    r = work(ckpt, tmp_path/'resumed.pt', '--resume')
    assert r.returncode == 0, r.out
    res = torch.load(tmp_path/'resumed.pt')
    assert res['weights'].keys() == uninterrupted['weights'].keys()
    for k,v in uninterrupted['weights'].items():
        same = torch.equal(res['weights'][k], v)
        assert same, f"{k} differs from the uninterrupted run's by up to {(res['weights'][k]-v).abs().max():.3g}"
    assert res['logs'] == uninterrupted['logs'][-n_logs:]
    assert (state['epoch'], state['phase']) == saved
    assert temps() == []   # the resumed run's first save cleared the dead writer's temporary file
