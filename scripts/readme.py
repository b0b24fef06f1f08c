"""Write README.md from nbs/index.ipynb (nbdev's `nbdev-readme` needs Quarto; nbconvert does not).

`--check` fails instead when README.md is out of date."""
import sys
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parent.parent

def render():
    nb = nbformat.read(ROOT/'nbs'/'index.ipynb', as_version=4)
    nb.cells = [c for c in nb.cells if not c.source.startswith(('#| hide', '#|hide'))]
    body,_ = MarkdownExporter(exclude_input_prompt=True, exclude_output_prompt=True).from_notebook_node(nb)
    return '<!-- Written from nbs/index.ipynb by scripts/readme.py: edit the notebook, not this file. -->\n\n' + body.strip() + '\n'

if __name__ == '__main__':
    text,readme = render(),ROOT/'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text() != text: sys.exit('README.md is out of date: run `python scripts/readme.py`')
        print('README.md matches nbs/index.ipynb')
    else: readme.write_text(text)
