"""`reportqa train-answerer`: fit the learned answerer's models (eval.train_answerer) and write their JSON file.

Part of the composition root: it builds the open-domain corpus of each SQuAD-format fitting set (the path
`reportqa eval --squad` takes, cached the same way), opens the shipped reports' index for the dev sets' tune
splits, and hands both pipelines to eval.train_answerer.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Optional

import typer

from reportqa.common import IndexOpt, err, fail, load_settings, open_service

DEFAULT_SQUAD = Path("../shared/data/public-qa/DRCD_dev.json")
DEFAULT_DATASETS = (Path("eval/datasets/reports_dev.jsonl"), Path("eval/datasets/reports_dev_v2.jsonl"))


def train_answerer_cmd(
    out: Path = typer.Option(Path("qa_service/data/answer_model.json"), "--out", help="Where to write the model JSON."),
    squad: list[Path] = typer.Option(None, "--squad", help=f"SQuAD-format fitting set(s), run open-domain (default {DEFAULT_SQUAD})."),
    withhold: float = typer.Option(0.3, "--withhold", min=0.0, max=0.9, help="Share of paragraphs withheld (their questions become unanswerable)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the withheld paragraphs' choice."),
    dataset: list[Path] = typer.Option(None, "--dataset", help="Dev set(s) whose tune split is fitted on (default: both report dev sets)."),
    no_reports: bool = typer.Option(False, "--no-reports", help="Fit on the SQuAD set(s) only."),
    index: Optional[Path] = IndexOpt,
    cache: Optional[Path] = typer.Option(None, "--cache", help="Folder of the SQuAD sets' built corpora (default eval/runs/squad-cache)."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Use only the first N questions of each set."),
    target: float = typer.Option(0.10, "--false-abstention", min=0.0, max=0.5, help="Operating point: the highest false abstention allowed on each fitting source, out of fold (see README)."),
    trees: bool = typer.Option(True, "--trees/--logistic", help="Fit the abstainer as gradient-boosted trees (its logistic model then only names reasons), or as the logistic model alone."),
    examples_file: Optional[Path] = typer.Option(None, "--examples", help="Pickle of the collected examples: read when it exists, else written (refits without retrieval)."),
    near_miss: bool = typer.Option(False, "--near-miss/--no-near-miss", help="Also fit the abstainer on near-miss questions made from each fitting source's answerable ones (eval.near_miss; off by default: see README)."),
    cut_sentences: bool = typer.Option(False, "--cut-sentences/--no-cut-sentences", help="Also fit the abstainer on questions made unanswerable by cutting their answer sentence from the corpus (eval.cut_sentence; see README)."),
    ranker: str = typer.Option("pointwise", "--ranker", help="Unit ranker: pointwise (logistic per unit), listwise (conditional logit over a question's units, eval.listwise) or blend (their log-odds mixed); see README."),
    stack: bool = typer.Option(True, "--stack/--no-stack", help="With trees, add to their log-odds a fitted term for each rare year/period clash feature (eval.train_answerer.STACKED_FEATURES; see README)."),
    l2: Optional[float] = typer.Option(None, "--l2", min=0.0, help="L2 strength of the listwise ranker (default eval.listwise.DEFAULT_L2)."),
    refeaturize: bool = typer.Option(False, "--refeaturize", help="Compute the --examples pickle's candidate features again with this code (a feature change refitted without retrieving; retrieval and candidates stay as collected)."),
) -> None:
    """Fit answer ranking and the calibrated abstention on DRCD dev and the tune splits; write the model JSON."""
    from eval.listwise import DEFAULT_L2
    from eval.train_answerer import RANKERS, fit

    if ranker not in RANKERS:
        fail(f"--ranker must be one of {', '.join(RANKERS)}")
    squads = list(squad) if squad else [DEFAULT_SQUAD]
    datasets = [] if no_reports else (list(dataset) if dataset else list(DEFAULT_DATASETS))
    for path in [*squads, *datasets]:
        if not Path(path).exists():
            fail(f"no such file: {path}")
    if examples_file is not None and examples_file.exists():
        examples = pickle.loads(examples_file.read_bytes())
    else:
        examples = _collect_all(squads, datasets, withhold, seed, limit, cache or Path("eval/runs/squad-cache"), index,
                                near_miss, cut_sentences)
        if examples_file is not None:
            examples_file.write_bytes(pickle.dumps(examples))
    if refeaturize:
        from eval.train_answerer import refeaturize as featurize_again

        examples = featurize_again(examples)
    if not near_miss:  # a pickle collected with near misses refits without them
        from eval.train_answerer import NEAR_MISS

        examples = [e for e in examples if not e.source.endswith(NEAR_MISS)]
    if not cut_sentences:  # likewise for a pickle collected with cut sentences
        from eval.cut_sentence import CUT

        examples = [e for e in examples if not e.source.endswith(CUT)]
    try:
        model = fit(examples, target, trees, ranker=ranker, l2=DEFAULT_L2 if l2 is None else l2, stack=stack)
    except ValueError as exc:
        fail(str(exc))
    model.fit["sources"] = sorted({e.source for e in examples})
    model.fit["command"] = {"squad": [str(p) for p in squads], "withhold": withhold, "seed": seed,
                            "datasets": [str(p) for p in datasets], "split": "tune", "limit": limit, "near_miss": near_miss,
                            "cut_sentences": cut_sentences, **({"refeaturized": True} if refeaturize else {})}
    model.save(out)
    err.print(json.dumps(model.fit["out_of_fold"], ensure_ascii=False, indent=1), highlight=False, soft_wrap=True)
    err.print(f"threshold {model.threshold:.4f}; wrote {out}", highlight=False, soft_wrap=True)


def _collect_all(squads: list[Path], datasets: list[Path], withhold: float, seed: int, limit: Optional[int],
                 cache_root: Path, index: Optional[Path], near_miss: bool, cut_sentences: bool = False) -> list:
    from reportqa.progress import stage_progress

    examples: list = []
    with stage_progress(err) as progress:
        for path in squads:
            examples += _squad_examples(path, withhold, seed, limit, cache_root, progress, near_miss)
        if datasets:
            service = _training_service(index)
            for path in datasets:
                examples += _examples(service, _tune_items(path, limit), f"{path.stem}:tune", progress, near_miss)
        if cut_sentences:
            from reportqa.cli_cut import REPORTS_CORPUS, cut_examples

            examples += cut_examples(squads, datasets, withhold, seed, cache_root, REPORTS_CORPUS, progress)
    return examples


def _training_service(index: Optional[Path]):
    """A service whose pipeline needs no answer model (the one being fitted may not exist yet)."""
    from qa_service.service import QAService

    from reportqa.common import resolve_index

    settings = load_settings()
    settings.index = resolve_index(index)
    settings.answerer = "rules"
    service = QAService(settings)
    open_service(settings.index)  # a plain CLI error when there is no index there
    return service


def _examples(service, items: list, source: str, progress, near_miss: bool = False) -> list:
    from eval.near_miss import collect_near_misses
    from eval.train_answerer import collect, neutral_model
    from qa_service.ranked import RankedAnswerer

    loaded = service.loaded()
    answerer = RankedAnswerer(neutral_model(), service.settings.ranked_config(), loaded.place_docs, loaded.similarity)
    examples = collect(service.pipeline(), answerer, items, source, progress=progress)
    if near_miss:
        examples += collect_near_misses(service.pipeline(), answerer, items, source, loaded.index.chunks, progress)
    return examples


def _squad_examples(path: Path, withhold: float, seed: int, limit: Optional[int], cache_root: Path, progress,
                    near_miss: bool = False) -> list:
    from reportqa.cli_squad import prepare_squad

    items, index_dir, _ = prepare_squad(path, withhold, seed, limit, cache_root, cache_root / "train-items" / path.stem)
    return _examples(_training_service(index_dir), items, path.stem, progress, near_miss)


def _tune_items(path: Path, limit: Optional[int]) -> list:
    from eval.dataset import DatasetError, load_dataset

    try:
        items = load_dataset(path, "tune")
    except DatasetError as exc:
        fail(str(exc))
    return items[:limit] if limit else items
