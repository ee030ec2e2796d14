# Every setup step lives here: a fresh clone needs only Python 3.11+, make, a JDK 17 and Maven.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=
EMITTER := tools/openlineage-java-emitter

.PHONY: help venv install lint format test test-embedded serve demo bench schema neo4j neo4j-build neo4j-stop emitter ui browser clean

help: ## list the targets
	@grep -E '^[a-z0-9 -]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | sort

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv install: $(STAMP) ## create .venv and install the project with its dev extras

lint: $(STAMP) ## ruff and mypy (strict on src/)
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts
	$(VENV)/bin/mypy

format: $(STAMP) ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix src tests bench scripts
	$(VENV)/bin/ruff format src tests bench scripts

neo4j-build: ## build the Neo4j launcher (Maven caches in ~/.m2)
	scripts/neo4j.sh build

neo4j: neo4j-build ## start a Neo4j for local use (bolt URI printed; stop with make neo4j-stop)
	scripts/neo4j.sh start .neo4j/local

neo4j-stop: ## stop the Neo4j started by make neo4j
	scripts/neo4j.sh stop .neo4j/local

$(EMITTER)/target/.built: $(EMITTER)/pom.xml $(wildcard $(EMITTER)/src/main/java/dev/lineagegraph/emitter/*.java)
	rm -rf $(EMITTER)/target/lib
	cd $(EMITTER) && mvn -q -B package -DskipTests
	touch $@

emitter: $(EMITTER)/target/.built ## build the OpenLineage Java client emitter the tests post with

ui: ## build the web UI's pinned front-end assets
	scripts/build-ui.sh

browser: ## install Debian's chromium for the browser tests when it is missing
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)

test: $(STAMP) lint neo4j-build emitter ui browser ## lint, then the whole suite against the embedded store and a real Neo4j
	scripts/with-neo4j.sh scripts/test-halves.sh $(PY) $(PYTEST_ARGS)

test-embedded: $(STAMP) emitter ## the suite without Neo4j (Neo4j variants deselected)
	$(PY) -m pytest -m 'not neo4j' $(PYTEST_ARGS)

schema: $(STAMP) ## regenerate schema.graphql from the code
	$(PY) -m lineagegraph.api.schema > schema.graphql

serve: $(STAMP) ui ## start the server on the embedded default store with the demo graph
	$(VENV)/bin/lineagegraph serve --demo --host $(HOST) --port $(PORT)

demo: $(STAMP) ## load the demo scenario into the default store
	$(VENV)/bin/lineagegraph demo

bench: $(STAMP) neo4j-build ## run the benchmarks (sizes: BENCH_SIZES, see README)
	scripts/with-neo4j.sh $(PY) -m bench

clean: ## remove the environment, build outputs and local Neo4j data
	rm -rf $(VENV) .neo4j tools/neo4j-server/target $(EMITTER)/target .pytest_cache .mypy_cache .ruff_cache
