"""Build the docs site into _docs/ from the notebooks as committed, outputs included: with `nbdev-docs` when Quarto is
installed, else with nbdev's own doc processors and nbconvert. Nothing is executed but nbdev's `show_doc` cells.

Every page is a notebook in nbs/ (index.ipynb and the numbered lessons) with the outputs `make lessons` wrote. Without
Quarto each page goes through the processors `nbdev-docs` runs before Quarto (title from the first markdown cell,
`show_doc` for every exported symbol, hidden and exported cells removed, directives stripped) and nbconvert writes it
as HTML, figures embedded, with a sidebar linking every page. A page whose outputs came from other code says so at
its top, with the command that refreshes it (`make test` fails on it: see fingerprint.py)."""
import argparse, ast, re, shutil, subprocess, sys, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fingerprint import ROOT, NBS, pages, why_stale, refresh_cmd

DOCS = ROOT/'_docs'

# --- Without Quarto: nbdev's doc processors, then nbconvert -------------------------------------------------

def page_name(src):
    "The page nbdev gives a notebook: `01_datasets.ipynb` -> `datasets.html`."
    from nbdev.config import nbpath2html
    return nbpath2html(Path(src.name)).name

_re_dir = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_re_attrs = re.compile(r'(\]\([^)\s]*\))\{[^}]*\}')          # Pandoc link attributes, `[a](b){target=...}`
_re_nblink = re.compile(r'\]\((?:\./)?([\w-]+)\.ipynb(#[^)]*)?\)')

def _fix_md(md, base):
    "Make a markdown cell or `show_doc` output fit for nbconvert: no Pandoc attributes, links to local pages."
    md = _re_attrs.sub(r'\1', md)
    if base: md = md.replace(base, '')
    return _re_nblink.sub(lambda m: f']({page_name(Path(m[1]+".ipynb"))}{m[2] or ""})', md)

def _anchor(md):
    "Give a `show_doc` heading the lowercase anchor nbdev's index (`_modidx.py`) links to."
    def f(m):
        nm = m[2].strip().replace('\\', '')
        return f'<a id="{nm.lower()}"></a>\n\n{m[0]}' if nm.lower() != nm else m[0]
    return re.sub(r'^(#+)\s+(\S+)\s*$', f, md, count=1, flags=re.MULTILINE)

def process(src):
    "Run nbdev's doc processors over the notebook at `src`; return (notebook, frontmatter)."
    import yaml
    import nbformat
    from fastcore.nbio import read_nb
    from fastcore.xtras import working_directory
    from nbdev.config import get_config
    from nbdev.processors import FilterDefaults
    nb = read_nb(src)
    nb.path_ = str(src)
    # nbdev executes every cell that imports something; a lesson cell that also uses what earlier lesson cells made
    # would fail there, so for the doc build such a cell runs its imports only, and gets its source and outputs back.
    kept = {}
    for c in nb.cells:
        if c.cell_type != 'code' or re.search(r'^\s*#\|\s*(export|exec_doc)', c.source, re.M): continue
        try: body = ast.parse(c.source).body
        except SyntaxError: continue
        imps = [n for n in body if isinstance(n, (ast.Import, ast.ImportFrom))]
        if imps and len(imps) < len(body):
            kept[c.get('id')] = (c.source, c.get('outputs'))
            c.source = '\n'.join(ast.get_source_segment(c.source, n) for n in imps)
    with working_directory(NBS): FilterDefaults()(nb)
    for c in nb.cells:
        if c.get('id') in kept: c.source,c['outputs'] = kept[c['id']]
    ws = nb.metadata.get('widgets', {}).get('application/vnd.jupyter.widget-state+json', {})
    if not ws.get('state'): nb.metadata.pop('widgets', None)   # exec_show_docs records an empty widget state
    fm = {}
    if nb.cells and nb.cells[0].cell_type == 'raw' and nb.cells[0].source.startswith('---'):
        fm = yaml.safe_load(nb.cells.pop(0).source.strip().strip('-')) or {}
    cfg = get_config()
    base = f"{cfg.doc_host}{cfg.doc_baseurl}".rstrip('/') + '/'
    for c in nb.cells:
        if c.cell_type == 'markdown': c.source = _fix_md(c.source, base)
        if c.cell_type != 'code': continue
        c.metadata.pop('execution', None)   # execnb's timings, which nbformat's schema rejects
        lines = c.source.splitlines()
        dirs = dict(m.groups() for l in lines if (m := _re_dir.match(l)))
        c.source = '\n'.join(l for l in lines if not _re_dir.match(l)).strip()
        tags = c.metadata.setdefault('tags', [])
        if dirs.get('echo') == 'false' or not c.source: tags.append('remove_input')
        if dirs.get('output') == 'false': tags.append('remove_output')
        if dirs.get('include') == 'false': tags.append('remove_cell')
        if re.match(r'^show_doc\(', c.source): tags.append('showdoc')
        for o in c.get('outputs', []):
            md = o.get('data', {}).get('text/markdown')
            if md is None: continue
            md = _fix_md(''.join(md), base)
            o['data']['text/markdown'] = _anchor(md) if 'showdoc' in tags else md
    keep = ('cell_type', 'id', 'metadata', 'source', 'outputs', 'execution_count', 'attachments')
    cells = [{k:v for k,v in c.items() if k in keep} for c in nb.cells]
    return nbformat.from_dict(dict(nb, cells=cells)), fm

CSS = """
body { margin: 0; }
nav.sidebar { position: fixed; top: 0; left: 0; bottom: 0; width: 15rem; overflow-y: auto; padding: 1.5rem 1rem;
  box-sizing: border-box; background: #f7f7f9; border-right: 1px solid #e3e3e8; font-family: var(--jp-ui-font-family); }
nav.sidebar .brand { font-size: 1.4rem; font-weight: 600; text-decoration: none; color: #222; display: block; margin-bottom: 1rem; }
nav.sidebar ul { list-style: none; padding: 0; margin: 0; }
nav.sidebar li a { display: block; padding: .35rem .5rem; border-radius: 4px; color: #2a5db0; text-decoration: none; }
nav.sidebar li a:hover { background: #e8eefa; }
nav.sidebar li a.current { background: #dde6f7; font-weight: 600; color: #1a3d7c; }
main { margin-left: 15rem; max-width: 60rem; padding: 1.5rem 2.5rem 4rem !important; }
header.page { margin: 0 0 1.5rem 0; padding: 0 5px; font-family: var(--jp-content-font-family); }
header.page h1 { font-size: 2.2rem; margin: 0 0 .3rem 0; }
header.page .description p { font-size: 1.15rem; color: #555; margin: 0; }
.jp-RenderedMarkdown pre { background: var(--jp-cell-editor-background); border: 1px solid var(--jp-cell-editor-border-color);
  padding: .5rem .7rem; margin: .5rem 0 1rem; }
.jp-InputArea-prompt, .jp-OutputArea-prompt { display: none !important; }
.jp-Cell { padding: 2px 0; }
.celltag_showdoc .jp-RenderedMarkdown { border: 1px solid #dcdce4; border-radius: 6px; padding: .2rem 1rem .6rem;
  background: #fbfbfd; margin: .6rem 0; }
.celltag_showdoc .jp-RenderedMarkdown hr { display: none; }
.jp-RenderedHTMLCommon a[href^="https://github.com"] { float: right; font-size: smaller; }
.page-warning { background: #fff3cd; border: 1px solid #e6c463; padding: .6rem 1rem; border-radius: 4px; }
@media (max-width: 50rem) { nav.sidebar { position: static; width: auto; } main { margin-left: 0; } }
"""

# nbconvert's lab template, without the scripts it fetches from CDNs (the site works offline), plus a sidebar.
TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{% block html_head_js_requirejs %}{% endblock %}
{% block html_head_js_mathjax %}{% endblock %}
{% block html_head_js_mermaidjs %}{% endblock %}
{% block jupyter_widgets %}{% endblock %}
{% block extra_css %}<link rel="icon" href="data:,">
<style type="text/css">{{ resources.site.css }}</style>{% endblock %}
{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<nav class="sidebar"><a class="brand" href="index.html">{{ resources.site.name }}</a><ul>
{%- for href, title in resources.site.nav %}
<li><a href="{{ href }}"{% if href == resources.site.page %} class="current"{% endif %}>{{ title | e }}</a></li>
{%- endfor %}
</ul></nav>
<main>
<header class="page"><h1>{{ resources.site.title | e }}</h1>
{%- if resources.site.description %}<div class="description">{{ resources.site.description | markdown2html }}</div>{% endif %}
{%- if resources.site.warning %}<p class="page-warning">{{ resources.site.warning | e }}</p>{% endif %}
</header>
{%- endblock body_header -%}
"""

def render(srcs, dest=DOCS):
    "Write one HTML page per notebook in `srcs` into `dest` with nbconvert; return the pages and what failed."
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    from nbdev.config import get_config
    done,failed = {},[]
    for src in srcs:
        try: done[src] = process(src)
        except Exception as e:
            print(f'{src.name}: no page, nbdev could not process it: {type(e).__name__}: {e}', file=sys.stderr)
            failed.append(src.name)
    nav = [(page_name(s), fm.get('title') or s.stem) for s,(_,fm) in done.items()]
    c = Config()
    c.TagRemovePreprocessor.remove_cell_tags = ('remove_cell',)
    c.TagRemovePreprocessor.remove_input_tags = ('remove_input',)
    c.TagRemovePreprocessor.remove_all_outputs_tags = ('remove_output',)
    c.TagRemovePreprocessor.enabled = True
    exp = HTMLExporter(config=c, template_file='miniai.html.j2', extra_loaders=[DictLoader({'miniai.html.j2': TEMPLATE})],
                       exclude_input_prompt=True, exclude_output_prompt=True, embed_images=True, theme='light')
    if dest.exists(): shutil.rmtree(dest)
    dest.mkdir(parents=True)
    name = get_config().get('lib_name', 'miniai')
    for src,(nb,fm) in done.items():
        why = why_stale(src) if src.parent == NBS else []
        warn = f"These outputs came from other code ({'; '.join(why)}): `{refresh_cmd(src)}` refreshes them." if why else None
        title = fm.get('title') or src.stem
        nb.metadata['title'] = name if page_name(src) == 'index.html' else f'{title} – {name}'
        site = dict(css=CSS, nav=nav, name=name, page=page_name(src), title=title, description=fm.get('description', ''), warning=warn)
        html,_ = exp.from_notebook_node(nb, resources=dict(site=site, metadata=dict(name=src.stem, path=str(NBS))))
        (dest/page_name(src)).write_text(html)
    (dest/'.nojekyll').touch()
    return [page_name(s) for s in done], failed

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--quarto', choices=('auto', 'yes', 'no'), default='auto', help="use nbdev-docs (default: when `quarto` is on PATH)")
    a = p.parse_args()
    sys.path.insert(0, str(ROOT))   # `show_doc` documents this checkout's miniai, as `nbdev-test` tests it
    t0 = time.perf_counter()
    if a.quarto == 'yes' or (a.quarto == 'auto' and shutil.which('quarto')):
        # Quarto renders a notebook's outputs as they are: it executes nothing
        subprocess.run([str(Path(sys.executable).parent/'nbdev-docs')], cwd=ROOT, check=True)
        print(f'Site built by nbdev-docs (Quarto) in {DOCS}')
        unpaged = []
    else:
        names,unpaged = render(pages())
        print(f'Site built without Quarto in {DOCS}: {", ".join(names)}')
    print(f'Open {DOCS/"index.html"} in a browser. ({time.perf_counter()-t0:.0f}s)')
    if unpaged: sys.exit(f'FAILED: {", ".join(unpaged)} got no page')

if __name__ == '__main__': main()
