"""Write README.md from nbs/index.ipynb as committed, outputs included (nbdev's `nbdev-readme` needs Quarto; nbconvert does not).

`make lessons` writes the notebook's outputs (its results table reads the lessons' figures). Cells marked `#| hide`
are dropped; cells marked `#| echo: false` show only their output. `--check` fails instead when README.md is out of date."""
import re, sys
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter

ROOT = Path(__file__).resolve().parent.parent

def directives(src): return {l[3:].strip() for l in src.splitlines() if l.startswith('#| ')}

def render():
    nb = nbformat.read(ROOT/'nbs'/'index.ipynb', as_version=4)
    cells = []
    for c in nb.cells:
        d = directives(c.source)
        if 'hide' in d: continue
        if c.cell_type == 'code' and 'echo: false' in d: c.metadata['transient'] = {'remove_source': True}   # no empty ``` block
        cells.append(c)
    nb.cells = cells
    exp = MarkdownExporter(exclude_input_prompt=True, exclude_output_prompt=True)
    body,_ = exp.from_notebook_node(nb)
    body = re.sub(r'\n{3,}', '\n\n', body)
    return '<!-- Written from nbs/index.ipynb by scripts/readme.py: edit the notebook, not this file. -->\n\n' + body.strip() + '\n'

if __name__ == '__main__':
    text,readme = render(),ROOT/'README.md'
    if '--check' in sys.argv:
        if not readme.exists() or readme.read_text() != text: sys.exit('README.md is out of date: run `make export`')
        print('README.md matches nbs/index.ipynb')
    else: readme.write_text(text)
