# The two commands that do everything on a fresh machine:
#   make test     install, build, type-check and run the whole suite (real PostgreSQL included)
#   make canary   the two-runner race canary (arrives with issue #5)
SHELL := /bin/bash
.DEFAULT_GOAL := help
VITEST_ARGS ?=

.PHONY: help install build typecheck test canary clean

help:
	@echo "make test     install, build, type-check and run the whole suite"
	@echo "make canary   two-runner race canary (not built yet: issue #5)"

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

clean:
	rm -rf dist node_modules/.installed
