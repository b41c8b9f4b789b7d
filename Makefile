# Joint Supervision Platform: `make run` starts everything, `make test` runs every test.
# Both install what they need (virtualenv, Python packages, Kafka jars, PostgreSQL binaries) on their own.

SHELL      := /bin/bash
PYTHON     ?= $(shell command -v python3.11 || command -v python3)
VENV       := .venv
PY         := $(VENV)/bin/python
SERVICES   := $(notdir $(wildcard services/*))
KAFKA_LIBS := .local/kafka/libs
INFRA      := $(PY) deploy/local/infra.py

# The test and benchmark servers run beside a developer's `make run`, on their own ports and data.
TEST_ENV := JSP_DATA_DIR=$(CURDIR)/.local/test JSP_KAFKA_PORT=19092 JSP_KAFKA_CONTROLLER_PORT=19093 \
            JSP_PG_PORT=15432 JSP_KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 \
            JSP_POSTGRES_URL=postgresql+asyncpg://postgres@127.0.0.1:15432 JSP_ENVIRONMENT=test
BENCH_ENV := $(subst .local/test,.local/bench,$(TEST_ENV)) JSP_PG_PRELOAD=pg_stat_statements

# The official AsyncAPI CLI checks docs/asyncapi.yaml in `make test`: installed from npm into .local/node (never
# globally), metrics off. 4.x is the last line that runs on Node 20. deploy/local/asyncapi/package-lock.json pins
# every package it pulls in (`npm ci`), so a fresh machine installs the tree that was tested, not the newest
# releases of its ranges (a registry may list a package before it serves the packages that one needs).
NODE_DIR          := .local/node
NODE_LOCK         := deploy/local/asyncapi/package-lock.json
ASYNCAPI          := $(NODE_DIR)/node_modules/.bin/asyncapi
# The CLI's usage metrics are off: its analytics file (kept here, not in the home folder) says so.
export ASYNCAPI_METRICS_CONFIG_PATH := $(CURDIR)/$(NODE_DIR)/asyncapi-analytics.json

.PHONY: help run test faults bench demo k8s k8s-validate venv kafka-jars browser contract-tools load-tools infra-up infra-down topics migrate schemas clean

help:
	@echo "make run         start Kafka, PostgreSQL and every service (local defaults)"
	@echo "make test        run every test against real Kafka and PostgreSQL"
	@echo "make faults      the long fault suite: the platform under kill -9, broker restarts, a database outage"
	@echo "make bench       run the benchmarks (ours beside a baseline from the same run)"
	@echo "make demo        push sample registrations and work orders through the gateway"
	@echo "make infra-up    start only Kafka (127.0.0.1:9092) and PostgreSQL (127.0.0.1:5432)"
	@echo "make infra-down  stop them"
	@echo "make schemas     regenerate docs/schemas, docs/asyncapi.yaml and the README's topic table"
	@echo "make k8s         regenerate deploy/k8s (topics, users, services, autoscaling) and docs/capacity.md"
	@echo "make k8s-validate render every Kubernetes overlay and validate it strictly, offline (part of make test)"
	@echo "make contract-tools  install the AsyncAPI CLI (.local/node) and kcat, which make test uses"

$(VENV)/.installed: requirements-dev.txt constraints.txt libs/common/pyproject.toml libs/testkit/pyproject.toml \
                    $(wildcard services/*/pyproject.toml)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip -c constraints.txt
	@$(PY) -m pip install -q -c constraints.txt -r requirements-dev.txt -e libs/common -e libs/testkit $(foreach s,$(SERVICES),-e services/$(s))
	@touch $@

venv: $(VENV)/.installed

$(KAFKA_LIBS)/.fetched: deploy/local/kafka/pom.xml
	@command -v mvn >/dev/null || { echo "error: Maven (mvn) is needed to fetch the Kafka jars: apt-get install maven"; exit 1; }
	@rm -rf $(KAFKA_LIBS)
	@mvn -q -B -f deploy/local/kafka/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
		-DoutputDirectory=$(CURDIR)/$(KAFKA_LIBS)
	@touch $@

kafka-jars: $(KAFKA_LIBS)/.fetched

# The browser the end-to-end page tests and the page benchmark drive: Debian's chromium with CJK fonts,
# installed only when missing (Playwright is pointed at it; `playwright install` is never run).
browser:
	@command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium fonts-noto-cjk; }
	@fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || apt-get install -y fonts-noto-cjk

$(NODE_DIR)/.installed: $(NODE_LOCK) $(dir $(NODE_LOCK))package.json
	@command -v npm >/dev/null || { echo "error: Node.js 20 and npm are needed for the AsyncAPI CLI"; exit 1; }
	@mkdir -p $(NODE_DIR)
	@cp $(dir $(NODE_LOCK))package.json $(NODE_LOCK) $(NODE_DIR)/
	@npm ci --prefix $(NODE_DIR) --no-audit --no-fund --loglevel=error
	@echo '{"analyticsEnabled": "false", "infoMessageShown": "true", "userID": "none"}' > $(ASYNCAPI_METRICS_CONFIG_PATH)
	@touch $@

# The line-system tools the contract tests use: the AsyncAPI CLI, and kcat (apt-get, only when missing).
contract-tools: $(NODE_DIR)/.installed
	@command -v kcat >/dev/null || { apt-get install -y -q kcat >/dev/null || \
		{ apt-get update -q >/dev/null && apt-get install -y -q kcat >/dev/null; }; } || \
		{ echo "error: kcat is needed (Debian package kcat)"; exit 1; }

infra-up: venv kafka-jars
	@$(INFRA) up
	@$(MAKE) --no-print-directory topics

infra-down: venv
	@$(INFRA) down

topics: venv
	@$(PY) -m jsp_common.topics create

migrate: venv
	@for s in $(SERVICES); do $(PY) -m $$s migrate || exit 1; done

schemas: venv
	@$(PY) -m jsp_common.contracts_export

# run.py migrates each service before it starts it; Ctrl-C stops the services, then Kafka and PostgreSQL (their data
# stays in .local/data for the next run), as does a run whose service could not start. A run that found a service's
# port taken (run.py's exit status 3: `make run` is running already) leaves the servers up: they are that run's.
run: infra-up
	@$(PY) deploy/local/run.py $(SERVICES); status=$$?; [ $$status -eq 3 ] || $(INFRA) down; exit $$status

demo: venv
	@$(PY) deploy/local/demo.py $(DEMO_ARGS)

k8s: venv
	@$(PY) deploy/k8s/generate.py

# Builds kustomize (go install) and Strimzi's CRDs (Maven Central, Java 21+) into .local/k8s the first time.
k8s-validate: venv
	@$(PY) deploy/k8s/generate.py --check
	@$(PY) deploy/k8s/validate.py

test: venv kafka-jars k8s-validate browser contract-tools
	@rm -rf .local/test
	@$(TEST_ENV) $(INFRA) up
	@status=0; \
	 $(TEST_ENV) $(PY) -m jsp_common.topics create && \
	 $(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS) || status=$$?; \
	 $(TEST_ENV) $(INFRA) down; exit $$status

# The fault suite (tests/e2e/test_faults.py, test_hostile_input.py): FAULTS_FORM=long (default) or short.
FAULTS_FORM ?= long
faults: venv kafka-jars
	@rm -rf .local/test
	@$(TEST_ENV) $(INFRA) up
	@status=0; \
	 $(TEST_ENV) $(PY) -m jsp_common.topics create && \
	 $(TEST_ENV) JSP_FAULTS_FORM=$(FAULTS_FORM) $(PY) -m pytest -s -q tests/e2e/test_hostile_input.py tests/e2e/test_faults.py $(PYTEST_ARGS) || status=$$?; \
	 $(TEST_ENV) $(INFRA) down; exit $$status

# The HTTP load generator of the gateway benchmark: wrk (apt-get, only when missing).
load-tools:
	@command -v wrk >/dev/null || { apt-get install -y -q wrk >/dev/null || \
		{ apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; }; } || \
		{ echo "error: wrk is needed (Debian package wrk)"; exit 1; }

bench: venv kafka-jars browser load-tools
	@rm -rf .local/bench
	@$(BENCH_ENV) $(INFRA) up
	@status=0; \
	 $(BENCH_ENV) $(PY) -m jsp_common.topics create && \
	 $(BENCH_ENV) $(PY) bench/run.py $(BENCH_ARGS) || status=$$?; \
	 $(BENCH_ENV) $(INFRA) down; exit $$status

clean:
	rm -rf .local/test .local/bench
