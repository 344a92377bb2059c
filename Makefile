# Two commands for a fresh machine: `make run` (install, build the index, serve) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.reportqa-installed
export HF_HUB_OFFLINE ?= 1

.PHONY: install run test eval-gate clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --upgrade pip
	# torch first and pinned: a looser requirement would pull several GB of CUDA wheels.
	$(PIP) install torch==2.13.0
	# the milvus and ray extras: the Milvus store's contract tests and the local Ray ingest run in `make test` too
	$(PIP) install -e '.[test,milvus,ray]'
	touch $(STAMP)

install: $(STAMP)

# Build the index from the shipped reports when there is none, then serve on 127.0.0.1:8000.
run: install
	@test -f $${REPORTQA_INDEX:-index}/manifest.json || $(VENV)/bin/reportqa ingest
	$(VENV)/bin/reportqa serve

test: install
	$(PY) -m pytest

# The evaluation gate, offline and extractive, scored per dev set: the original items (reports_dev) against
# eval/thresholds.json, and the issue-11 items (reports_dev_v2, follow-ups asked with their history) against
# eval/thresholds_v2.json. Both evaluations always run and print their figures; the gate fails if either fails.
GATE_INDEX ?= .ci-index
GATE_EVAL = $(VENV)/bin/reportqa eval --index $(GATE_INDEX) --split all --mode extractive
eval-gate: install
	$(VENV)/bin/reportqa ingest --index $(GATE_INDEX) --rebuild --json > /dev/null
	@rc=0; \
	$(GATE_EVAL) --dataset eval/datasets/reports_dev.jsonl --out $(GATE_INDEX)/run --gate eval/thresholds.json || rc=$$?; \
	$(GATE_EVAL) --dataset eval/datasets/reports_dev_v2.jsonl --out $(GATE_INDEX)/run_v2 --gate eval/thresholds_v2.json || rc=$$?; \
	exit $$rc

clean:
	rm -rf $(VENV) index .ci-index
