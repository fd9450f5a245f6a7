# The two commands that do everything on a fresh machine:
#   make test     install, build, type-check and run the whole suite (real PostgreSQL included)
#   make canary   the two-runner race canary: Docker containers when an engine answers or can be
#                 started, else OS processes (first line says which and why)
SHELL := /bin/bash
.DEFAULT_GOAL := help
VITEST_ARGS ?=
CANARY_ARGS ?=

.PHONY: help install build typecheck test canary canary-processes canary-containers faults clean

help:
	@echo "make test     install, build, type-check and run the whole suite"
	@echo "make canary   two-runner race canary: containers when a Docker engine answers or can be started, else processes"
	@echo "make canary-processes | canary-containers   force one runtime (CANARY_ARGS=\"--rounds 3\" passes options)"
	@echo "make faults   fault-injection scenarios with a summary table (0 violations required)"
	@echo "make bench    benchmark: claims against the pgbench ceiling, contention, CLI, growth (< 5 min; BENCH_ARGS=--quick)"

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: node_modules/.installed

build: install
	npx tsc -p tsconfig.build.json
	npx tsc -p tsconfig.canary.json

typecheck: install
	npx tsc -p tsconfig.json --noEmit

test: build typecheck
	npx vitest run $(VITEST_ARGS)

# The race canary (canary/run.sh builds, then runs build/canary/<runtime>.js).
canary:
	@canary/run.sh auto $(CANARY_ARGS)

canary-processes:
	@canary/run.sh processes $(CANARY_ARGS)

canary-containers:
	@canary/run.sh containers $(CANARY_ARGS)

# Fault injection (kill -9, SIGSTOP, restart, partition, server settings, hostile input,
# security): every scenario ends with the audit checker; the summary must show 0 violations.
faults: build
	@summary=$$(mktemp); \
	DEV_NEXUS_FAULTS_SUMMARY=$$summary npx vitest run --config vitest.faults.config.ts $(VITEST_ARGS); status=$$?; \
	node test/faults/summary.mjs $$summary || status=1; rm -f $$summary; exit $$status

# The benchmark (bench/): prints a table, writes bench/results/latest.json. Figures only, never
# timed assertions. DEV_NEXUS_BENCH_DATABASE_URL benchmarks that server instead of an embedded one.
.PHONY: bench
bench: build
	npx tsc -p tsconfig.bench.json
	node build/bench/main.js $(BENCH_ARGS)

clean:
	rm -rf dist build node_modules/.installed
