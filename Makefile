# Ledgerbridge: two commands matter.
#   make demo   run the whole product locally (embedded PostgreSQL, sandboxes, demo tenant, worker, portal)
#   make test   run every test
PY := .venv/bin/python

.PHONY: demo test install install-test lint clean-var

.venv/.installed: pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh
	touch .venv/.installed

install: .venv/.installed

demo: install
	$(PY) manage.py demo

test: install
	$(PY) -m pytest -q

lint: install
	.venv/bin/ruff check .

clean-var:
	rm -rf var
