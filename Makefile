# Two commands do everything on a fresh machine:
#   make demo   # venv + install + synthetic data + the whole recipe at demo scale
#   make test   # venv + install + the test suite
# "install" = the pinned requirements, then the project itself in editable mode (pyproject.toml) with
# --no-build-isolation: the build uses the setuptools pinned in the requirements file, installed from the index
# in the step before, so no second, unpinned download happens in an isolated build environment.
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The video extractor's own environment (MediaPipe Holistic; see requirements-video.txt and README "Your own video").
VIDEO_VENV ?= .venv-video
VIDEO_STAMP := $(VIDEO_VENV)/.installed

.PHONY: demo test venv video-env clean-demo

venv: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	@touch $(STAMP)

video-env: $(VIDEO_STAMP)

$(VIDEO_STAMP): requirements-video.txt pyproject.toml
	@test -x $(VIDEO_VENV)/bin/python || $(PYTHON) -m venv $(VIDEO_VENV) || python3 -m venv $(VIDEO_VENV)
	$(VIDEO_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VIDEO_VENV)/bin/python -m pip install --quiet --no-deps -r requirements-video.txt
	$(VIDEO_VENV)/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(VIDEO_VENV)/bin/python -c "import mediapipe, cv2; mediapipe.solutions.holistic.Holistic(model_complexity=1).close()"
	@touch $(VIDEO_STAMP)

demo: $(STAMP)
	$(PY) scripts/run_demo.py

test: $(STAMP) $(VIDEO_STAMP)
	$(PY) -m pytest -q

clean-demo:
	rm -rf datamount/synthetic datamount/train_landmarks_npy datamount/weights datamount/*.csv datamount/*.json
