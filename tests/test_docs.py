"""The built docs site in headless Chromium, served on localhost: every page loads without console errors, the index
links every lesson, each page shows the figures its committed notebook holds and documents its module's exported symbols.
Screenshots land in _out/screenshots/."""
import functools, http.server, importlib, inspect, re, shutil, subprocess, sys, threading
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS, SHOTS = ROOT/'_docs', ROOT/'_out'/'screenshots'
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
DRIVER = '/usr/bin/chromedriver'

sys.path.insert(0, str(ROOT/'scripts'))
import build_docs as bd

LESSONS = sorted((ROOT/'nbs').glob('[0-9]*.ipynb'))

@pytest.fixture(scope='module')
def site():
    "Build the site from the committed notebooks and map each page to its notebook."
    r = subprocess.run([sys.executable, str(ROOT/'scripts'/'build_docs.py'), '--quarto', 'no'], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, f'make docs failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}'
    return {bd.page_name(src): src for src in bd.pages()}

def test_site_builds(site):
    "`make docs` builds a page for every notebook (this needs no browser)."
    assert sorted(site) == sorted(p.name for p in DOCS.glob('*.html'))

@pytest.fixture(scope='module')
def url(site):
    "Serve _docs/ on 127.0.0.1 at a free port."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a): pass
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(DOCS)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{srv.server_address[1]}/'
    srv.shutdown(); srv.server_close()

@pytest.fixture(scope='module')
def browser():
    missing = [what for what,ok in (('chromium', CHROMIUM), (f'chromedriver ({DRIVER})', Path(DRIVER).exists())) if not ok]
    if missing: pytest.skip(f"the checks of the built docs in a browser need {' and '.join(missing)}, which this machine lacks; "
                            f"to run them: apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in ('--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--disable-quic', '--disable-dev-shm-usage', '--window-size=1280,1000'):
        opts.add_argument(f)
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL'})
    b = webdriver.Chrome(service=Service(DRIVER), options=opts)
    yield b
    b.quit()

def load(browser, url):
    "Open `url`; return the console's errors (log entries at level SEVERE)."
    browser.get_log('browser')   # drop what earlier pages logged
    browser.get(url)
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(browser, 60).until(lambda b: b.execute_script('return document.readyState') == 'complete')  # a busy machine is slow
    return [e['message'] for e in browser.get_log('browser') if e['level'] == 'SEVERE']

def test_index_links_every_lesson(browser, site, url):
    assert load(browser, url) == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS/'index.png'))
    in_text = browser.execute_script("return [...document.querySelectorAll('main a')].map(a => a.getAttribute('href'))")
    in_nav = browser.execute_script("return [...document.querySelectorAll('nav a')].map(a => a.getAttribute('href'))")
    for nb in LESSONS:
        page = bd.page_name(nb)
        assert any(h.split('#')[0] == page for h in in_text), f'the index does not link {page} ({nb.name}): add it to the notebook map in nbs/index.ipynb'
        assert page in in_nav, f'the sidebar lacks {page}'
    # The navigation works: the first lesson's link opens it, and its sidebar leads back home.
    first = bd.page_name(LESSONS[0])
    browser.find_element('css selector', f'nav a[href="{first}"]').click()
    assert browser.current_url == url + first
    browser.find_element('css selector', 'nav a.brand').click()
    assert browser.current_url in (url, url + 'index.html')

def _figures(nb):
    "How many pictures the notebook `nb` drew in cells its page shows."
    from fastcore.nbio import read_nb
    hidden = {'hide', 'export', 'exporti', 'default_exp'}
    n = 0
    for c in read_nb(nb).cells:
        if c.cell_type != 'code' or c.directives.keys() & hidden: continue
        if c.directives.get('output') == 'false' or c.directives.get('include') == 'false': continue
        n += sum('image/png' in o.get('data', {}) for o in c.get('outputs', []))
    return n

@pytest.mark.parametrize('page', [bd.page_name(nb) for nb in [ROOT/'nbs'/'index.ipynb', *LESSONS]])
def test_page_loads_with_its_figures(browser, site, url, page):
    assert load(browser, url + page) == [], f'console errors on {page}'
    assert browser.find_element('css selector', 'header h1').text.strip()
    imgs = browser.execute_script("""return [...document.querySelectorAll('main .jp-OutputArea-output img')]
        .map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width])""")
    assert bd.why_stale(site[page]) == [], f'{page}: its outputs came from other code: {bd.why_stale(site[page])}'
    assert len(imgs) == _figures(site[page]), f'{page} shows {len(imgs)} figures, its notebook drew {_figures(site[page])}'
    for i,(complete,w,h,shown) in enumerate(imgs):
        assert complete and w > 0 and h > 0 and shown > 0, f'figure {i} on {page} is empty: {w}x{h}, {shown}px wide'

def _module(nb):
    from fastcore.nbio import read_nb
    m = re.search(r'^#\|\s*default_exp\s+(\S+)', '\n'.join(c.source for c in read_nb(nb).cells), re.MULTILINE)
    return f'miniai.{m[1]}' if m else None

def _plain(s): return ' '.join(re.sub(r'[`*]', '', s).split())

@pytest.mark.parametrize('nb', [nb for nb in LESSONS if _module(nb)], ids=lambda nb: nb.stem)
def test_page_documents_its_exports(browser, site, url, nb):
    "Every function and class in the module's `__all__` has its `show_doc` block: signature and docstring."
    from miniai._modidx import d
    modname, page = _module(nb), bd.page_name(nb)
    mod = importlib.import_module(modname)
    idx = d['syms'].get(modname, {})
    # the module's own functions and classes: tests/test_modidx.py checks that nbdev indexes every one of them
    syms = [n for n in mod.__all__ if (inspect.isfunction(o := getattr(mod, n)) or inspect.isclass(o)) and o.__module__ == modname]
    if modname == 'miniai.imports': assert syms == [] and 'Learner' in mod.__all__   # it only re-exports: nothing of its own to show
    else: assert syms, f'{modname} exports no functions or classes'
    assert load(browser, url + page) == []
    if nb == LESSONS[0]:
        browser.save_screenshot(str(SHOTS/f'{nb.stem}.png'))
        browser.execute_script("""const imgs = [...document.querySelectorAll('main .jp-OutputArea-output img')];
            imgs.sort((a, b) => b.naturalWidth*b.naturalHeight - a.naturalWidth*a.naturalHeight);
            imgs[0]?.scrollIntoView({block: 'center'})""")   # the biggest figure
        browser.save_screenshot(str(SHOTS/f'{nb.stem}-figure.png'))
    from fastcore.nbio import read_nb
    short = modname.split('.', 1)[1]
    def grows(o): return re.search(rf'^#\|\s*export\s+{short}\s*$', '\n'.join(c.source for c in read_nb(o).cells), re.M)
    pages_of = {bd.page_name(o) for o in LESSONS if _module(o) == modname or grows(o)}   # a module can grow over chapters
    here = page
    for n in syms:
        href = idx[f'{modname}.{n}'][0]
        assert href.split('#')[0] in pages_of, f'{n} is indexed on {href}, not on a page of {modname}: {pages_of}'
        if href.split('#')[0] != here: here = href.split('#')[0]; assert load(browser, url + here) == []
        text = browser.execute_script("""const a = document.getElementById(arguments[0]);
            const box = a && a.closest('.celltag_showdoc'); return box ? box.textContent : null""", href.split('#')[1])
        assert text is not None, f'{page} has no show_doc block for {modname}.{n} (anchor #{href.split("#")[1]})'
        doc = inspect.getdoc(getattr(mod, n)) or ''
        assert doc, f'{modname}.{n} has no docstring'
        assert _plain(doc.splitlines()[0]) in _plain(text), f'the docstring of {n} is missing on {page}'
        assert re.search(rf'\b{n}\s*\(', text), f'the signature of {n} is missing on {page}'

def test_directives(tmp_path):
    "Hidden cells go, directive lines are stripped, `echo: false` keeps only the output, exports get their `show_doc`."
    import nbformat
    from nbformat.v4 import new_notebook, new_code_cell as code, new_markdown_cell as md, new_output as out
    nb = new_notebook(cells=[md('# A test page\n\n> Its `description`.'),
        code('#| hide\nsecret = 1'),
        code('#| slow\nx = 2\nx', outputs=[out('execute_result', {'text/plain': '2'}, execution_count=1)]),
        code('#| echo: false\nprint("printed " + "here")', outputs=[out('stream', name='stdout', text='printed here\n')]),
        code('#| export\ndef double(a):\n    "Twice `a`."\n    return 2*a'),
        md('Back to [the data](01_datasets.ipynb#load_dsd).')])
    src = tmp_path/'99_test_page.ipynb'
    nbformat.write(nb, src)
    pages,failed = bd.render([src], dest=tmp_path/'site')
    assert (pages,failed) == (['test_page.html'], [])
    html = (tmp_path/'site'/'test_page.html').read_text()
    assert '<h1>A test page</h1>' in html and '<code>description</code>' in html
    assert 'secret' not in html and '#|' not in html and 'slow' not in html
    assert 'x</span> <span class="o">=</span> <span class="mi">2</span>' in html
    assert 'printed here' in html and 'printed &quot;' not in html and '"printed "' not in html
    assert 'id="double"' in html and 'Twice <code>a</code>' in html and 'return 2*a' not in html
    assert 'href="datasets.html#load_dsd"' in html
