"""Fail when the committed `miniai/` differs from what `nbdev-export` writes from the committed notebooks.

Works on a clean copy of HEAD (`git archive`), so uncommitted edits neither hide nor cause a difference."""
import filecmp, subprocess, sys, tempfile
from pathlib import Path

def tree(d): return {p.relative_to(d) for p in Path(d).rglob('*.py') if '__pycache__' not in p.parts}

ROOT = Path(__file__).resolve().parent.parent

with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    subprocess.run(['git', 'archive', f'--output={tmp/"head.tar"}', 'HEAD'], cwd=ROOT, check=True)
    subprocess.run(['tar', '-x', '-f', tmp/'head.tar', '-C', tmp], check=True)
    (tmp/'miniai').rename(tmp/'committed')
    (tmp/'miniai').mkdir()
    (tmp/'committed'/'__init__.py').exists() and (tmp/'miniai'/'__init__.py').write_bytes((tmp/'committed'/'__init__.py').read_bytes())
    subprocess.run([Path(sys.executable).parent/'nbdev-export'], cwd=tmp, check=True)
    a,b = tree(tmp/'committed'),tree(tmp/'miniai')
    diff = sorted(map(str, a^b)) + sorted(str(p) for p in a&b if not filecmp.cmp(tmp/'committed'/p, tmp/'miniai'/p, shallow=False))
    if diff:
        sys.exit("The committed miniai/ differs from what nbdev-export writes from the committed notebooks:\n  "
                 + "\n  ".join(diff) + "\nEdit the notebooks, run `make export`, and commit notebooks and modules together.")
    print(f"miniai/ matches the notebooks ({len(a)} modules)")
