# The two commands: `make run` and `make test`. Both set everything up on a fresh machine.
VENV := .venv
PY := $(VENV)/bin/python
FLASK := $(PY) -m flask --app wsgi
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)

.PHONY: run dev test bench lint install clean

$(STAMP): requirements.txt
	test -x $(VENV)/bin/pip || python3 -m venv --clear $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(PY) -m portal.devserver

# As `make run`, with Flask's reloading development server instead of gunicorn.
dev: $(STAMP)
	mkdir -p instance
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	$(PY) -m portal.devserver --reload

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/run.py

lint: $(STAMP)
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

clean:
	rm -rf instance/stream-emulator instance/uploads instance/portal.db instance/stream-settings.json .pytest_cache
