"""The fingerprint that ties a notebook's committed outputs to the code that produced them (scripts/fingerprint.py):
what it covers, and that a change to any of it makes the notebook stale, while a change to the prose does not."""
import json, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'scripts'))
import fingerprint as fpr

def test_what_a_notebook_runs():
    "06 imports distributed and accel (which use resnet and augment, learner, conv, datasets) and runs two scripts."
    files = {str(f.relative_to(ROOT)) for f in fpr.runs(fpr.code(fpr.read(ROOT/'nbs'/'06_distributed.ipynb')))}
    assert {'miniai/distributed.py', 'miniai/accel.py', 'miniai/resnet.py', 'miniai/augment.py', 'miniai/learner.py',
            'miniai/conv.py', 'miniai/datasets.py', 'benchmarks/scaling.py', 'examples/train_ddp.py'} <= files
    assert 'miniai/autoencoder.py' not in files and 'miniai/_modidx.py' not in files

def stamped(tmp_path, name='02_conv.ipynb'):
    "A copy of notebook `name` whose recorded fingerprint is that of its current code, as `make lessons` leaves it."
    dest = tmp_path/name
    nb = json.loads((ROOT/'nbs'/name).read_text())
    nb['metadata']['miniai'] = dict(fingerprint=fpr.fingerprint(ROOT/'nbs'/name), results=[])
    dest.write_text(json.dumps(nb))
    return dest, nb

def edit(path, nb, cell_type, text):
    "Append `text` to the first cell of `cell_type` of the notebook `nb`, and write it to `path`."
    c = next(c for c in nb['cells'] if c['cell_type'] == cell_type)
    c['source'] = ''.join(c['source']) + text
    path.write_text(json.dumps(nb))

def test_fresh_until_its_code_changes(tmp_path):
    path,nb = stamped(tmp_path)
    assert fpr.why_stale(path) == []
    edit(path, nb, 'markdown', '\nA sentence more.')   # prose: the outputs stand
    assert fpr.why_stale(path) == []
    edit(path, nb, 'code', '\nx = 1')
    assert fpr.why_stale(path) == ['its code cells changed']

def test_stale_when_a_module_it_runs_changed(tmp_path):
    path,nb = stamped(tmp_path)
    nb['metadata']['miniai']['fingerprint']['files']['miniai/datasets.py'] = 'an older hash'
    path.write_text(json.dumps(nb))
    assert fpr.why_stale(path) == ['miniai/datasets.py changed']

def test_never_run(tmp_path):
    shutil.copy(ROOT/'nbs'/'02_conv.ipynb', tmp_path)
    nb = json.loads((tmp_path/'02_conv.ipynb').read_text())
    nb['metadata'].pop('miniai', None)
    (tmp_path/'02_conv.ipynb').write_text(json.dumps(nb))
    assert fpr.why_stale(tmp_path/'02_conv.ipynb') == ['it has no outputs from `make lessons`']

def test_check_names_the_stale_notebook_and_the_fix(tmp_path, monkeypatch, capsys):
    path,nb = stamped(tmp_path)
    edit(path, nb, 'code', '\nx = 1')
    monkeypatch.setattr(fpr, 'pages', lambda: [path])
    with pytest.raises(SystemExit) as e: fpr.main()
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert 'nbs/02_conv.ipynb: its outputs came from other code (its code cells changed)' in err
    assert 'make lessons NB=nbs/02_conv.ipynb' in err

def test_lessons_write_clean_outputs_with_their_fingerprint():
    "`make lessons` writes a notebook's outputs into it, cleaned as nbdev-clean cleans, stamped with its fingerprint."
    import run_lessons
    src = ROOT/'nbs'/'.test-00_measure.ipynb'   # nbdev's globs skip dot files
    shutil.copy(ROOT/'nbs'/'00_measure.ipynb', src)
    try:
        ok,_,log = run_lessons.execute(src, flags='slow')
        assert ok, log
        nb = json.loads(src.read_text())
    finally: src.unlink(missing_ok=True)
    meta = nb['metadata']['miniai']
    assert meta['fingerprint'] == fpr.fingerprint(ROOT/'nbs'/'00_measure.ipynb') and meta['flags'] == 'slow'
    cells = [c for c in nb['cells'] if c['cell_type'] == 'code']
    assert any(o.get('text') == ['epoch_s: 1.235s (target <= 2s: met)\n', 'epochs: 3\n'] for c in cells for o in c['outputs'])
    assert all(c['execution_count'] is None and c['metadata'] == {} for c in cells)   # no counts, no timings
    assert all(o.get('execution_count') is None for c in cells for o in c['outputs'])
