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
	$(PIP) install -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Build the index from the shipped reports when there is none, then serve on 127.0.0.1:8000.
run: install
	@test -f $${REPORTQA_INDEX:-index}/manifest.json || $(VENV)/bin/reportqa ingest
	$(VENV)/bin/reportqa serve

test: install
	$(PY) -m pytest

clean:
	rm -rf $(VENV) index
