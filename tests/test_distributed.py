"Tests of miniai.distributed that need several processes: each launches tests/ddp_worker.py with `torchrun` on CPU."
import os, re, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest, torch

WORKER = str(Path(__file__).parent/'ddp_worker.py')
TORCHRUN = [sys.executable, '-m', 'torch.distributed.run']
BOUND = 90  # seconds within which a job with a dead or hung rank must have exited

def env():
    "The environment for a job; the raw files stay findable when MINIAI_CACHE points elsewhere."
    from miniai.datasets import cache_dir
    return {**os.environ, 'MINIAI_DATA': str(os.environ.get('MINIAI_DATA') or cache_dir()/'raw')}

def run(cmd, timeout=240):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env(), timeout=timeout)
    r.secs,r.out = time.perf_counter()-t0, r.stdout+r.stderr
    return r

def torchrun(out, *args, nproc=2, **kw): return run(TORCHRUN + ['--standalone', f'--nproc-per-node={nproc}', WORKER, str(out), *args], **kw)
def single(out, *args, **kw): return run([sys.executable, WORKER, str(out), *args], **kw)
def load(out, rank=0): return torch.load(Path(out)/f'rank{rank}.pt')

def same_state(a, b): return all(torch.equal(a[k], b[k]) for k in a) and a.keys() == b.keys()
def max_diff(a, b): return max((a[k]-b[k]).abs().max().item() for k in a)

def test_two_ranks_match_one_process(tmp_path):
    "2 ranks with batch size 64 take the same steps as one process with 128: same weights, same global metrics."
    r = torchrun(tmp_path/'ddp', '--bs', '64', '--ckpt', str(tmp_path/'ckpt.pt'))
    assert r.returncode == 0, r.out
    r0,r1 = load(tmp_path/'ddp', 0),load(tmp_path/'ddp', 1)
    assert r0['model_type'] == 'Sequential'  # unwrapped from DDP after the fit
    assert same_state(r0['state'], r1['state']), 'the two ranks ended with different weights'
    assert r0['log'] == r1['log'], 'the two ranks logged different metrics'
    assert len(re.findall(r'^epoch \d+ \| (?:train|valid)', r.stdout, re.M)) == 4, f'expected 2 epochs x (train, valid) lines from rank 0 only:\n{r.stdout}'
    assert (r0['saves'],r1['saves']) == (4,0), 'only rank 0 may write checkpoints'
    assert same_state(torch.load(tmp_path/'ckpt.pt')['model'], r0['state'])  # a plain model's state_dict, no `module.` prefix
    s = single(tmp_path/'one', '--bs', '128')
    assert s.returncode == 0, s.out
    ref = load(tmp_path/'one')
    assert max_diff(r0['state'], ref['state']) < 1e-4
    for got,exp in zip(r0['log'], ref['log'], strict=True):
        assert got.keys() == exp.keys()
        for k,v in exp.items(): assert got[k] == (pytest.approx(v, abs=1e-4) if isinstance(v, float) else v), (k, got, exp)
    assert r0['log'][-1]['accuracy'] > 0.3  # it learned something

def test_mixed_precision_channels_last_under_ddp(tmp_path):
    r = torchrun(tmp_path, '--mixed', '--channels-last', '--epochs', '1')
    assert r.returncode == 0, r.out
    r0,r1 = load(tmp_path, 0),load(tmp_path, 1)
    assert same_state(r0['state'], r1['state'])
    assert r0['log'] == r1['log']
    assert r0['probe'] == dict(backend='gloo', pin_memory=False, preds_dtype='torch.bfloat16', channels_last=True)

def test_dead_rank_stops_the_job(tmp_path):
    "torchrun notices the dead rank, stops the other one and names the rank that failed first."
    r = torchrun(tmp_path, '--die-at', '2', timeout=BOUND*2)
    assert r.returncode != 0
    assert r.secs < BOUND, f'took {r.secs:.0f}s'
    assert re.search(r'rank\s*: 1 \(local_rank: 1\)\s*\n\s*exitcode\s*: 3', r.out), r.out

def test_hung_rank_times_out(tmp_path):
    "A rank that stops answering makes the other fail after DDPCB's timeout with a message that says why."
    r = torchrun(tmp_path, '--hang-at', '2', '--timeout', '5', timeout=BOUND*2)
    assert r.returncode != 0
    assert r.secs < BOUND, f'took {r.secs:.0f}s'
    assert 'DDPCB: rank 0 of 2 lost contact with the other processes' in r.out, r.out

def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]

def test_dead_node(tmp_path):
    "Two machines (two torchrun agents, one process each): when node 1's process dies, node 0's fails with a clear error."
    args = ['--nnodes=2', '--nproc-per-node=1', '--master-addr=127.0.0.1', f'--master-port={free_port()}']
    node1 = subprocess.Popen(TORCHRUN + args + ['--node-rank=1', WORKER, str(tmp_path), '--die-at', '2'],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env())
    try: r = run(TORCHRUN + args + ['--node-rank=0', WORKER, str(tmp_path), '--die-at', '2'], timeout=BOUND*2)
    finally:
        node1.kill()
        node1.wait()
    assert r.returncode != 0
    assert r.secs < BOUND, f'took {r.secs:.0f}s'
    assert 'DDPCB: rank 0 of 2 lost contact with the other processes' in r.out, r.out

def gone(pid):
    "Whether process `pid` has ended (a zombie that nobody reaps has ended too)."
    try: return Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()[0] == 'Z'
    except (FileNotFoundError, ProcessLookupError): return True

def test_killed_launcher_stops_its_workers(tmp_path):
    "When torchrun itself is killed (kill -9), its workers notice within seconds, say why, and stop: no orphans train on."
    log = open(tmp_path/'log', 'w')  # the workers inherit torchrun's stderr, and keep it after torchrun is gone
    agent = subprocess.Popen(TORCHRUN + ['--standalone', '--nproc-per-node=2', WORKER, str(tmp_path), '--epochs', '100000',
                                         '--n-train', '256', '--n-valid', '64', '--write-pid'], stdout=log, stderr=log, env=env())
    pidfiles,pids = [tmp_path/f'rank{r}.pid' for r in range(2)],[]
    try:
        t0 = time.monotonic()
        while not all(p.exists() for p in pidfiles):  # both ranks are training
            assert agent.poll() is None and time.monotonic()-t0 < 240, (tmp_path/'log').read_text()
            time.sleep(0.5)
        pids = [int(p.read_text()) for p in pidfiles]
        agent.send_signal(signal.SIGKILL)
        agent.wait()
        t0 = time.monotonic()
        while not all(map(gone, pids)) and time.monotonic()-t0 < 30: time.sleep(0.5)
        secs = time.monotonic()-t0
        out = (tmp_path/'log').read_text()
        assert all(map(gone, pids)), f'workers {pids} still ran 30s after their launcher was killed:\n{out[-3000:]}'
        for r in range(2): assert f'DDPCB: rank {r} of 2 lost its launcher (torchrun, pid {agent.pid})' in out, out[-3000:]
        print(f'workers stopped {secs:.1f}s after torchrun was killed')
    finally:
        agent.kill()
        for pid in pids:
            if not gone(pid): os.kill(pid, signal.SIGKILL)
        log.close()

@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
def test_cuda_uses_nccl_fp16_and_pinned_memory(tmp_path):
    n = min(2, torch.cuda.device_count())
    r = torchrun(tmp_path, '--mixed', '--epochs', '1', nproc=n)
    assert r.returncode == 0, r.out
    r0 = load(tmp_path)
    assert r0['probe'] == dict(backend='nccl', pin_memory=True, preds_dtype='torch.float16', channels_last=False)
    assert r0['scaler'] is True
    if n == 2: assert same_state(r0['state'], load(tmp_path, 1)['state'])
