"""Refit the learned answerer from collected examples with the synonym features (cov_syn) neutralised, for the
README's "Synonym-aware coverage" ablation: `python -m eval.synonym_variants EX.pkl none|question|unit OUT.json`.

none: cov_syn := cov_ctx everywhere; question: only the question features read cov_syn; unit: only the ranker.
"""
import dataclasses, json, pickle, sys
import numpy as np
import eval.train_answerer as T
from qa_service.answer_features import UNIT_FEATURES
from eval.cut_sentence import CUT

ex = [e for e in pickle.load(open(sys.argv[1], "rb")) if not e.source.endswith(T.NEAR_MISS) and not e.source.endswith(CUT)]
mode = sys.argv[2]
cs, cc = UNIT_FEATURES.index("cov_syn"), UNIT_FEATURES.index("cov_ctx")
real = {}
for e in ex:
    real[id(e.f)] = e.f.x[:, cs].copy()
    e.f.x[:, cs] = e.f.x[:, cc]
    if len(e.win_x):
        e.win_x[:, cs] = e.win_x[:, cc]
if mode == "unit":
    for e in ex:
        e.f.x[:, cs] = real[id(e.f)]
    orig_u = T.question_features
    def qfu(f, logits, best):
        x = f.x.copy(); x[:, cs] = x[:, cc]
        return orig_u(dataclasses.replace(f, x=x), logits, best)
    T.question_features = qfu
if mode == "question":
    orig = T.question_features
    def qf(f, logits, best):
        x = f.x.copy(); x[:, cs] = real[id(f)]
        return orig(dataclasses.replace(f, x=x), logits, best)
    T.question_features = qf
model = T.fit(ex, 0.10, True)
model.save(__import__("pathlib").Path(sys.argv[3]))
print("threshold", model.threshold)
