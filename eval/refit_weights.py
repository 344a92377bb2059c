"""Out-of-fold abstention figures of refits at several cut-sentence weights, from a pickle of collected examples.

`reportqa train-answerer --cut-sentences --examples FILE.pkl` writes every fitting example (the fitting sources'
and their `:cut` sources'); this refits without retrieval, once per weight (eval.train_answerer.fit with trees,
target 0.10), and prints, per source and operating point, false abstention / declined recall @ precision:

    python -m eval.refit_weights eval/runs/ex_cut.pkl --cut-weight 0 0.25 0.5 1

Weight 0 drops the `:cut` sources (the fit without them).
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path

from .cut_sentence import CUT
from .train_answerer import OPERATING_POINTS, fit


def _row(r: dict) -> str:
    return f"{r['false_abstention']:.3f} / {r['declined_recall']:.2f} @ {r['declined_precision']:.2f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("examples", type=Path, nargs="+", help="pickles of collected examples (concatenated)")
    parser.add_argument("--cut-weight", type=float, nargs="+", default=[0.25])
    args = parser.parse_args(argv)
    examples = [e for path in args.examples for e in pickle.loads(path.read_bytes())]
    for weight in args.cut_weight:
        chosen = examples if weight > 0 else [e for e in examples if not e.source.endswith(CUT)]
        model = fit(chosen, 0.10, True, cut_weight=weight or 1.0)
        print(f"cut weight {weight}")
        for point in (f"{t:.2f}" for t in OPERATING_POINTS if t <= 0.10):
            oof = model.fit["operating_points"][point]["out_of_fold"]
            for source, r in oof.items():
                print(f"  {point}  {source:28s} {_row(r)}")


if __name__ == "__main__":
    main()
