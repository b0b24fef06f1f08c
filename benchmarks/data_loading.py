"""How data reaches a model: cached `load_dsd`, one epoch through the PNG path, the decode-once fast path.

Prints the figures and a final `RESULT {json}` line. Run: `python benchmarks/data_loading.py`."""
import json, time
from miniai.datasets import *
from miniai.datasets import inplace, to_tensor
from miniai.measure import median_time, time_epoch

@inplace
def tfm(b): b['image'] = [to_tensor(o) for o in b['image']]

if __name__ == '__main__':
    load_dsd('mnist')                               # make sure the cache exists
    t_load = median_time(lambda: load_dsd('mnist'), 5)
    dsd = load_dsd('mnist')
    res = dict(cached_load_s=t_load)
    for nw in (0, 2):
        png = DataLoaders.from_dd(dsd.with_transform(tfm), batch_size=256, num_workers=nw)
        res[f'png_epoch_{nw}workers_s'] = time_epoch(png.train)
    t0 = time.perf_counter(); fast = fast_dls(dsd, batch_size=256); res['decode_once_s'] = time.perf_counter()-t0
    res['fast_epoch_s'] = median_time(lambda: time_epoch(fast.train), 3)
    res['speedup_fast_vs_png_2workers'] = res['png_epoch_2workers_s']/res['fast_epoch_s']
    for k,v in res.items(): print(f'{k:<30} {v:10.4f}')
    print('RESULT ' + json.dumps({k: round(v, 5) for k,v in res.items()}))
