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
    assert any(o['output_type'] == 'stream' and o['name'] == 'stdout' for c in cells for o in c['outputs'])

def test_lessons_keep_printed_output_and_echo_it(capfd):
    "What a cell prints is kept in the notebook as a stdout stream, and shown on the terminal while it runs."
    import run_lessons
    src = ROOT/'nbs'/'.test-echo-00_measure.ipynb'
    shutil.copy(ROOT/'nbs'/'00_measure.ipynb', src)
    try:
        ok,_,log = run_lessons.execute(src, flags='slow', verbose=True)
        assert ok, log
        nb = json.loads(src.read_text())
    finally: src.unlink(missing_ok=True)
    assert 'epoch_s: 1.235s (target <= 2s: met)\nepochs: 3\n' in capfd.readouterr().out
    streams = [o for c in nb['cells'] for o in c.get('outputs', []) if o['output_type'] == 'stream']
    assert {'output_type': 'stream', 'name': 'stdout', 'text': ['epoch_s: 1.235s (target <= 2s: met)\n', 'epochs: 3\n']} in streams

def test_redraws_collapse_as_on_a_terminal():
    "A progress bar's carriage-return redraws keep only what the terminal shows at the end; colour codes go."
    from run_lessons import plain
    assert plain('\rbatch 1/3\rbatch 2/3\rbatch 3/3\nepoch 0 | loss 0.5\n') == 'batch 3/3\nepoch 0 | loss 0.5\n'
    assert plain('\x1b[31mred\x1b[0m\r\n') == 'red\n'
    assert plain('[====    ]\r[========]\rdone\n') == 'done=====]\n'   # a shorter redraw leaves the rest, as a terminal does

def test_outputs_in_the_order_jupyter_shows_them():
    "Printed text merges per stream and sits among displays as it came; the cell's value comes last."
    from run_lessons import jupyter_outputs
    img,val = dict(output_type='display_data', data={}), dict(output_type='execute_result', data={})
    log = [('stdout', 'a\n', 0), ('stdout', 'b\n', 0), ('stderr', 'w\n', 0), ('stdout', 'c\n', 1)]
    s = lambda name, *text: dict(output_type='stream', name=name, text=list(text))
    assert jupyter_outputs(log, [img, val]) == [s('stdout', 'a\n', 'b\n'), s('stderr', 'w\n'), img, s('stdout', 'c\n'), val]

def index_with(tmp_path, monkeypatch):
    "A home page and one lesson in `tmp_path`, the page stamped as `make lessons` leaves it, and `record` to re-run the lesson."
    lesson,index = tmp_path/'02_conv.ipynb',tmp_path/'index.ipynb'
    shutil.copy(ROOT/'nbs'/'index.ipynb', index)
    monkeypatch.setattr(fpr, 'pages', lambda: [index, lesson])
    def record(seconds=241, acc=0.9953, cnn_s=317.5, speedup=223.2):
        nb = json.loads((ROOT/'nbs'/'02_conv.ipynb').read_text())
        rows = [dict(key='mnist_cnn_accuracy', value=acc, unit='', target='>= 0.995', met=acc >= 0.995),
                dict(key='mnist_cnn_s', value=cnn_s, unit='s', target='<= 320', met=cnn_s <= 320),
                dict(key='conv_speedup_unfold', value=speedup, unit='x', target=None, met=None)]
        nb['metadata']['miniai'] = dict(fingerprint=fpr.fingerprint(ROOT/'nbs'/'02_conv.ipynb'), results=rows, seconds=seconds)
        lesson.write_text(json.dumps(nb))
    record()
    nb = json.loads(index.read_text())
    nb['metadata']['miniai'] = dict(fingerprint=fpr.fingerprint(index), results=[], seconds=2)
    index.write_text(json.dumps(nb))
    assert fpr.why_stale(index) == []
    return index,record

def test_index_stands_while_timings_move_by_noise(tmp_path, monkeypatch):
    "Re-running a lesson whose run time and timings move by less than 25% leaves the home page (and README) as they are."
    index,record = index_with(tmp_path, monkeypatch)
    record(seconds=256, cnn_s=301.0, speedup=240.0)
    assert fpr.why_stale(index) == []
    record(seconds=265)   # 24 s more: within 30 s though 10% more
    assert fpr.why_stale(index) == []

def test_index_stale_when_a_run_time_moves_beyond_noise(tmp_path, monkeypatch, capsys):
    "The run times the table shows are checked too: 241 s in the README while the notebook says 400 s is stale."
    index,record = index_with(tmp_path, monkeypatch)
    record(seconds=400)
    assert fpr.why_stale(index) == ["the lessons' figures changed (02_conv ran in 400 s, not 241 s)"]
    with pytest.raises(SystemExit): fpr.main()
    assert 'make lessons NB=nbs/index.ipynb' in capsys.readouterr().err
    record(cnn_s=200.0)
    assert fpr.why_stale(index) == ["the lessons' figures changed (02_conv mnist_cnn_s is 200s, not 317.5s)"]

def test_index_stale_when_a_figure_or_a_verdict_changes(tmp_path, monkeypatch):
    "Figures other than timings compare exactly; a timing within noise that crosses its target changes the table too."
    index,record = index_with(tmp_path, monkeypatch)
    record(acc=0.9954)
    assert fpr.why_stale(index) == ["the lessons' figures changed (02_conv mnist_cnn_accuracy is 0.9954, not 0.9953)"]
    record(cnn_s=330.0)
    assert fpr.why_stale(index) == ["the lessons' figures changed (02_conv mnist_cnn_s is 330s (not met), not 317.5s)"]

def test_readme_has_no_empty_code_block():
    "The results table's code cell is `echo: false`: the README shows its table, not an empty block of code before it."
    import readme
    text = readme.render()
    assert '```\n\n```' not in text and '| notebook | figure | value |' in text

def test_check_fails_while_prose_waits_for_a_run(tmp_path, monkeypatch, capsys):
    "Prose marked TODO(refresh) (to be written from the figures of the next run) fails the check, though the outputs are current."
    path,nb = stamped(tmp_path)
    monkeypatch.setattr(fpr, 'pages', lambda: [path])
    fpr.main()   # current outputs, no marker: passes
    edit(path, nb, 'markdown', '\nTODO(refresh): say what the new row shows.')
    assert fpr.why_stale(path) == []
    with pytest.raises(SystemExit) as e: fpr.main()
    assert e.value.code == 1
    assert 'nbs/02_conv.ipynb: its prose still says TODO(refresh)' in capsys.readouterr().err
