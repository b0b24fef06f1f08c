"""Every function and class a `miniai` module exports is in nbdev's symbol index, `miniai/_modidx.py`, so that a
backticked name in any notebook links to its documentation. Quick: it imports the modules and reads the index."""
import importlib, inspect, pkgutil
import pytest
import miniai
from miniai._modidx import d

MODULES = sorted(f'miniai.{m.name}' for m in pkgutil.iter_modules(miniai.__path__) if not m.name.startswith('_'))

def unindexed(modname):
    "The names in `modname.__all__` that `_modidx.py` lacks: functions, classes and patches; and constants (nbdev indexes none)."
    mod,idx = importlib.import_module(modname),d['syms'].get(modname, {})
    missing,consts = [],[]
    for n in getattr(mod, '__all__', []):
        if f'{modname}.{n}' in idx: continue
        o = getattr(mod, n)   # an `@fc.patch` method is exported as None, and indexed under its own name
        if inspect.isfunction(o) or inspect.isclass(o):
            home = o.__module__   # a name re-exported from another miniai module is indexed where it is defined
            if home != modname and f'{home}.{n}' in d['syms'].get(home, {}): continue
            if not home.startswith('miniai'): continue   # torch's, functools'... (re-exported by `miniai.imports`)
            missing.append(n)
        elif o is None: missing.append(n)
        else: consts.append(n)
    return missing,consts

def defines(modname):
    "Whether `modname` defines a function or class of its own: one that only re-exports (`miniai.imports`) has nothing to index."
    mod = importlib.import_module(modname)
    return any((inspect.isfunction(o) or inspect.isclass(o)) and o.__module__ == modname for o in vars(mod).values())

def test_every_module_is_indexed():
    mods = {m for m in MODULES if defines(m)}
    assert 'miniai.imports' not in mods and 'miniai.learner' in mods
    assert mods <= set(d['syms']), \
        f"_modidx.py has no entries for {sorted(mods - set(d['syms']))}; nbdev skips notebooks whose path contains 'auto'"

@pytest.mark.parametrize('modname', MODULES)
def test_exports_are_indexed(modname):
    missing,_ = unindexed(modname)
    assert not missing, (f"{modname} exports {', '.join(missing)}, which miniai/_modidx.py lacks. nbdev indexes names defined "
                         f"with `def` or `class` in an exported cell, in notebooks whose path does not contain 'auto': "
                         f"define them so (a `NamedTuple` class rather than `namedtuple(...)`, a `def` rather than a lambda), "
                         f"rename the notebook if needed, and run `make export`.")

if __name__ == '__main__':
    for m in MODULES:
        missing,consts = unindexed(m)
        print(f"{m}: {len(getattr(importlib.import_module(m), '__all__', []))} exported, missing {missing or 'none'}"
              + (f"; constants (not indexable) {consts}" if consts else ''))
