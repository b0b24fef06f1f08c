"Tests of the data layer that need a fresh process or a crash: the notebooks test the rest."
import os, subprocess, sys, textwrap
from pathlib import Path
import pytest

def py(code, **env):
    "Run `code` in a fresh Python; the raw files stay findable when the test points MINIAI_CACHE elsewhere."
    from miniai.datasets import cache_dir
    env.setdefault('MINIAI_DATA', os.environ.get('MINIAI_DATA') or cache_dir()/'raw')
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)], capture_output=True, text=True,
                          env={**os.environ, **{k: str(v) for k,v in env.items()}}, timeout=300)

def test_load_dsd_prints_two_splits():
    r = py("from miniai.datasets import load_dsd; print(load_dsd('fashion_mnist'))")
    assert r.returncode == 0, r.stderr
    assert 'num_rows: 60000' in r.stdout and 'num_rows: 10000' in r.stdout

def test_interrupted_build_leaves_no_cache(tmp_path):
    "A build killed while saving leaves no cache behind, and the next call builds a good one and removes the dead build's temporary folder."
    r = py("""
        import os, datasets
        from miniai.datasets import load_dsd
        def die(self, *a, **k): os._exit(3)   # the process dies in the middle of saving
        datasets.Dataset.save_to_disk = die
        load_dsd('mnist')""", MINIAI_CACHE=tmp_path)
    assert r.returncode == 3, r.stderr
    assert not (tmp_path/'mnist').exists()
    assert len(list(tmp_path.glob('.mnist-*'))) == 1  # the dead build's half-written folder
    r = py("from miniai.datasets import load_dsd; d = load_dsd('mnist'); print(len(d['train']))", MINIAI_CACHE=tmp_path)
    assert r.stdout.split()[-1] == '60000', r.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith('.mnist')) == [], 'the dead build left its folder behind'

def test_unreadable_cache_is_rebuilt(tmp_path):
    (tmp_path/'mnist').mkdir()
    (tmp_path/'mnist'/'dataset_dict.json').write_text('{not json')
    r = py("from miniai.datasets import load_dsd; print(load_dsd('mnist')['test'][0]['label'])", MINIAI_CACHE=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == '7'
    assert 'rebuilding' in r.stderr
