"""`reportqa train-answerer --cut-sentences`: the cut-sentence questions' fitting examples (eval.cut_sentence).

Part of the composition root: it writes each cut corpus, indexes it the way `reportqa ingest` does
(reportqa.indexing), and collects the cut questions over it with the real pipeline (eval.train_answerer.collect,
through cli_train's `_examples`). A SQuAD-format set's cut corpus is cached beside its open-domain corpus, keyed
like it plus the cut's share and seed; the reports' batches are indexed into a temporary folder.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from reportqa.common import err, fail, load_settings

log = logging.getLogger(__name__)

REPORTS_CORPUS = Path("ingest/data/reports")  # the shipped reports, the files eval/runs/index is built from


def cut_examples(squads: list[Path], datasets: list[Path], withhold: float, seed: int, cache_root: Path,
                 corpus: Path, progress, unit: str = "sentence") -> list:
    """The examples of every fitting source's cut questions: source `<source>:cut`, each in its origin's group;
    `unit` is what is cut (eval.cut_sentence.UNITS)."""
    examples: list = []
    for path in squads:
        examples += _squad_cut_examples(path, withhold, seed, cache_root, progress, unit)
    if datasets:
        examples += _report_cut_examples(datasets, corpus, progress, unit)
    return examples


def _grouped(examples: list, cut) -> list:
    origin = {q.item.id: q.origin for q in cut.questions}
    for e in examples:
        e.group = origin[e.item_id]
    return examples


def _squad_cut_examples(path: Path, withhold: float, seed: int, cache_root: Path, progress, unit: str) -> list:
    from eval.cut_sentence import CUT, CUT_SHARE, cut_open_domain
    from eval.public_qa import OpenDomainSet, PublicQAError, choose_withheld, corpus_key, load_squad

    from reportqa.cli_squad import _build, _built
    from reportqa.cli_train import _examples, _training_service

    settings = load_settings()
    build = {"chunk_size": settings.chunk_size, "overlap": settings.chunk_overlap, "embed_model": settings.embed_model,
             "search_with_heading": settings.search_with_heading, "cut_share": CUT_SHARE, "cut_seed": seed,
             "cut_unit": unit}
    try:
        paragraphs = load_squad(path)
        withheld = choose_withheld(paragraphs, withhold, seed)
        key = corpus_key(path, withhold, seed, "none", build)
    except PublicQAError as exc:
        fail(str(exc))
    cut_paragraphs, cut = cut_open_domain(paragraphs, withheld, CUT_SHARE, seed, unit)
    err.print(f"cut sentences: {path.stem}: {cut.stats}", highlight=False, soft_wrap=True)
    folder = cache_root / f"cut-{key}"
    if not _built(folder, key):
        _build(OpenDomainSet(cut_paragraphs, withheld, [], cut.stats), folder, key, "none", settings)
    examples = _examples(_training_service(folder / "index"), [q.item for q in cut.questions], path.stem + CUT, progress)
    return _grouped(examples, cut)


def _report_cut_examples(datasets: list[Path], corpus: Path, progress, unit: str) -> list:
    from eval.cut_sentence import CUT, cut_reports

    from reportqa.cli_train import _examples, _training_service, _tune_items
    from reportqa.indexing import build_parsed, parse_inputs

    files = sorted(p for p in corpus.iterdir() if p.is_file()) if corpus.is_dir() else []
    if not files:
        fail(f"no report files in {corpus}")
    texts = {p.name: p.read_text(encoding="utf-8") for p in files}
    items = [(f"{path.stem}:tune", item) for path in datasets for item in _tune_items(path, None)]
    cut = cut_reports(texts, items, unit=unit)
    err.print(f"cut sentences: reports: {cut.stats}", highlight=False, soft_wrap=True)
    settings = load_settings()
    examples: list = []
    with tempfile.TemporaryDirectory(prefix="reportqa-cut-") as tmp:
        for b, texts_b in enumerate(cut.corpora):
            folder = Path(tmp) / f"batch-{b}"
            (folder / "corpus").mkdir(parents=True)
            for name, text in texts_b.items():
                (folder / "corpus" / name).write_text(text, encoding="utf-8")
            build_parsed(parse_inputs([folder / "corpus"], settings, progress), folder / "index", settings, None, False, progress)
            service = _training_service(folder / "index")
            for source in sorted({q.source for q in cut.questions if q.batch == b}):
                batch = [q.item for q in cut.questions if q.batch == b and q.source == source]
                examples += _examples(service, batch, source + CUT, progress)
    return _grouped(examples, cut)
