# Two commands do everything on a fresh machine:
#   make demo   # venv + install + synthetic data + the whole recipe at demo scale
#   make test   # venv + install + the test suite
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test venv clean-demo

venv: $(STAMP)

$(STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/run_demo.py

test: $(STAMP)
	$(PY) -m pytest -q

clean-demo:
	rm -rf datamount/synthetic datamount/train_landmarks_npy datamount/weights datamount/*.csv datamount/*.json
