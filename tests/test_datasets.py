"Tests of the data layer that need a fresh process or a crash: the notebooks test the rest."
import os, shutil, subprocess, sys, textwrap
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

def test_rebuild_killed_keeps_the_old_cache_whole(tmp_path):
    "A rebuild killed while saving leaves the untrusted cache as it was, never half a new one; the next call rebuilds."
    from miniai.datasets import cache_dir, cache_problem, sha256_file, MANIFEST
    r = py("from miniai.datasets import load_dsd; load_dsd('mnist')")   # the user's cache, which the test copies
    assert r.returncode == 0, r.stderr
    shutil.copytree(cache_dir()/'mnist', tmp_path/'mnist')
    (tmp_path/'mnist'/MANIFEST).unlink()   # untrusted, as an older miniai left it
    def files(): return {p.relative_to(tmp_path): sha256_file(p) for p in (tmp_path/'mnist').rglob('*') if p.is_file()}
    before = files()
    r = py("""
        import os, datasets
        from miniai.datasets import load_dsd
        def die(self, *a, **k): os._exit(3)   # the process dies in the middle of saving the new cache
        datasets.Dataset.save_to_disk = die
        load_dsd('mnist')""", MINIAI_CACHE=tmp_path)
    assert r.returncode == 3, r.stderr
    assert files() == before
    r = py("from miniai.datasets import load_dsd; print(load_dsd('mnist')['test'][0]['label'])", MINIAI_CACHE=tmp_path)
    assert r.stdout.split()[-1] == '7', r.stderr
    assert f'no {MANIFEST}' in r.stderr and 'rebuilding' in r.stderr
    assert cache_problem(tmp_path/'mnist') is None
    assert [p.name for p in tmp_path.iterdir()] == ['mnist'], 'a temporary folder was left behind'

@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits; 01_datasets tests this through os.access")
def test_unwritable_cache_fails_before_building(tmp_path):
    tmp_path.chmod(0o555)
    try: r = py("from miniai.datasets import load_dsd; load_dsd('mnist')", MINIAI_CACHE=tmp_path)
    finally: tmp_path.chmod(0o755)
    assert r.returncode != 0
    assert f'CacheError: This user cannot write in {tmp_path}' in r.stderr and 'MINIAI_CACHE' in r.stderr, r.stderr
    assert 'Saving the dataset' not in r.stderr

def test_get_data_reports_an_unusable_cache(tmp_path):
    "`make data` with MINIAI_CACHE naming a file says so for each data set, and fetches nothing."
    (tmp_path/'a_file').write_text('')
    script = Path(__file__).parents[1]/'scripts'/'get_data.py'
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300,
                       env={**os.environ, 'MINIAI_CACHE': str(tmp_path/'a_file')})
    assert r.returncode == 1 and 'Traceback' not in r.stderr, r.stderr
    assert r.stderr.count(f"{tmp_path/'a_file'} is a file, not a folder") == 2, r.stderr
