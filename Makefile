# drf-twostep: the README's two commands, `make demo` and `make test`. Needs GNU make and Python 3.10+.

PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
TOX_ARGS ?=

VENV := .venv
VPY := $(VENV)/bin/python
MANAGE := $(VPY) example_project/manage.py

.PHONY: demo test test-browser test-clients lint docs matrix messages clean

## demo: serve the example project on http://$(HOST):$(PORT)/ (SQLite unless DATABASE_URL is set)
demo: $(VENV)/.installed-example
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_demo
	@echo "The web app: http://localhost:$(PORT)/  Swagger UI: http://localhost:$(PORT)/api/docs/"
	@echo "Passkeys work at http://localhost:$(PORT)/ (their RP ID is localhost), not at 127.0.0.1."
	PORT=$(PORT) $(MANAGE) runserver $(HOST):$(PORT)

## test: the test suite (SQLite in memory unless DATABASE_URL is set)
test: $(VENV)/.installed-test
	$(VPY) -m pytest $(PYTEST_ARGS)

## test-live: races, shared caches and fuzzing against the example project under gunicorn, on
## PostgreSQL and MariaDB, with Redis (tests_live/; servers on 127.0.0.1, scratch databases)
LIVE_DATABASES ?= postgres://postgres@127.0.0.1:5432/twostep_live mysql://root@127.0.0.1:3306/twostep_live
test-live: $(VENV)/.installed-live
	for url in $(LIVE_DATABASES); do \
		LIVE_DATABASE_URL=$$url $(VPY) -m pytest tests_live $(PYTEST_ARGS) || exit $$?; \
	done

## lint: ruff's checks and formatting
lint: $(VENV)/.installed
	$(VPY) -m pip install --quiet "ruff>=0.8"
	$(VPY) -m ruff check drf_twostep tests tests_live tests_browser tests_clients example_project
	$(VPY) -m ruff format --check drf_twostep tests tests_live tests_browser tests_clients example_project
	$(VPY) -m ruff check benchmarks
	$(VPY) -m ruff format --check benchmarks

## docs: the documentation site in docs/_build/html (Sphinx, warnings are errors)
docs: $(VENV)/.installed-docs
	$(VPY) -m sphinx -W --keep-going -b html docs docs/_build/html

## test-browser: the demo web app in headless Chromium (tests_browser/; Debian's chromium package)
test-browser: $(VENV)/.installed-browser
	$(VPY) -m pytest tests_browser $(PYTEST_ARGS)

## test-clients: a Python client (openapi-python-client) and a TypeScript client
## (@hey-api/openapi-ts) generated from the example project's schema into build/clients/ with no
## warning, type-checked strictly (mypy, tsc) and run through the whole journey against the example
## project (tests_clients/; ports 8120-8129; Node from the system, npm packages from package-lock.json)
test-clients: $(VENV)/.installed-clients tests_clients/node_modules/.installed
	$(VPY) -m pytest tests_clients $(PYTEST_ARGS)

## matrix: every tox env in parallel (the Pythons of pyenv; servers as .ci/run starts them)
matrix: $(VENV)/.installed-tox
	.ci/with-pythons $(VENV)/bin/tox p $(TOX_ARGS)

## bench: benchmarks against plain DRF on SQLite and PostgreSQL, the load test (gunicorn,
## wrk; with Django's default password hasher and with MD5) and the scale run (10^4 to 10^6
## users on PostgreSQL, ~20 minutes; not in CI); results in benchmarks/results/
## (docs/performance.md)
BENCH_POSTGRES ?= postgres://postgres@127.0.0.1:5432/drf_twostep_bench
BENCH_LOAD_POSTGRES ?= postgres://postgres@127.0.0.1:5432/drf_twostep_load
BENCH_SCALE_POSTGRES ?= postgres://postgres@127.0.0.1:5432/tw_scale
BENCH_SCALE_SIZES ?= 10000,100000,1000000
.PHONY: bench bench-guard
bench: $(VENV)/.installed-bench
	$(VPY) -m benchmarks.bench --output benchmarks/results
	$(VPY) -m benchmarks.bench --output benchmarks/results --database $(BENCH_POSTGRES)
	$(VPY) -m benchmarks.load --output benchmarks/results --database $(BENCH_LOAD_POSTGRES)
	$(VPY) -m benchmarks.scale --output benchmarks/results --database $(BENCH_SCALE_POSTGRES) \
		--sizes $(BENCH_SCALE_SIZES)

## bench-guard: query counts and same-run ratios of the hot paths (CI; SQLite, under a minute)
bench-guard: $(VENV)/.installed-bench
	$(VPY) -m benchmarks.guard

## messages: every catalogue in drf_twostep/locale/ brought up to date with the code and
## templates (new strings arrive untranslated, removed ones go) and every .mo rebuilt from its
## .po; needs GNU gettext. Translate the new entries, then run it again.
## NEW_LOCALE=sv also starts locale/sv/.
NEW_LOCALE ?=
messages: $(VENV)/.installed
	$(if $(NEW_LOCALE),cd drf_twostep && ../$(VENV)/bin/django-admin makemessages --locale $(NEW_LOCALE) --no-wrap)
	cd drf_twostep && ../$(VENV)/bin/django-admin makemessages --all --no-obsolete --no-wrap
	rm -f drf_twostep/locale/*/LC_MESSAGES/django.mo
	cd drf_twostep && ../$(VENV)/bin/django-admin compilemessages

## clean: remove the virtualenv, the demo database and build output
clean:
	rm -rf $(VENV) tests_clients/node_modules build dist *.egg-info .pytest_cache .tox docs/_build example_project/db.sqlite3
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The virtualenv with a current pip and the package installed in editable mode.
$(VENV)/.installed: pyproject.toml
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-example: $(VENV)/.installed requirements/example.txt
	$(VPY) -m pip install --quiet -r requirements/example.txt
	touch $@

$(VENV)/.installed-browser: $(VENV)/.installed requirements/example.txt requirements/browser.txt
	$(VPY) -m pip install --quiet -r requirements/example.txt -r requirements/browser.txt
	touch $@

$(VENV)/.installed-bench: $(VENV)/.installed requirements/example.txt requirements/bench.txt
	$(VPY) -m pip install --quiet -r requirements/example.txt -r requirements/bench.txt
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed requirements/test.txt
	$(VPY) -m pip install --quiet -r requirements/test.txt
	touch $@

$(VENV)/.installed-docs: $(VENV)/.installed requirements/docs.txt
	$(VPY) -m pip install --quiet -r requirements/docs.txt
	touch $@

$(VENV)/.installed-tox: $(VENV)/.installed requirements/tox.txt
	$(VPY) -m pip install --quiet -r requirements/tox.txt
	touch $@

$(VENV)/.installed-clients: $(VENV)/.installed requirements/example.txt requirements/clients.txt
	$(VPY) -m pip install --quiet -r requirements/example.txt -r requirements/clients.txt
	touch $@

tests_clients/node_modules/.installed: tests_clients/package.json tests_clients/package-lock.json
	cd tests_clients && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENV)/.installed-live: $(VENV)/.installed requirements/example.txt requirements/live.txt
	$(VPY) -m pip install --quiet -r requirements/example.txt -r requirements/live.txt
	touch $@
