# The two commands that do everything on a fresh machine:
#   make test     install, build, type-check and run the whole suite (real PostgreSQL included)
#   make canary   the two-runner race canary (arrives with issue #5)
SHELL := /bin/bash
.DEFAULT_GOAL := help
VITEST_ARGS ?=

.PHONY: help install build typecheck test canary faults clean

help:
	@echo "make test     install, build, type-check and run the whole suite"
	@echo "make canary   two-runner race canary (not built yet: issue #5)"
	@echo "make faults   fault-injection scenarios with a summary table (0 violations required)"

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

install: node_modules/.installed

build: install
	npx tsc -p tsconfig.build.json

typecheck: install
	npx tsc -p tsconfig.json --noEmit

test: build typecheck
	npx vitest run $(VITEST_ARGS)

canary:
	@echo "make canary: the two-runner race canary is not built yet (issue #5). Run 'make test' for the claim authority's real-PostgreSQL race tests." >&2
	@exit 2

# Fault injection (kill -9, SIGSTOP, restart, partition, server settings, hostile input,
# security): every scenario ends with the audit checker; the summary must show 0 violations.
faults: build
	@summary=$$(mktemp); \
	DEV_NEXUS_FAULTS_SUMMARY=$$summary npx vitest run --config vitest.faults.config.ts $(VITEST_ARGS); status=$$?; \
	node test/faults/summary.mjs $$summary || status=1; rm -f $$summary; exit $$status

clean:
	rm -rf dist node_modules/.installed
