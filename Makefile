# The README's two commands: `make run` and `make test`. Both install what they need first.
# CARGO_TARGET_DIR is honoured (CI points it outside the clone so runs reuse builds).

SHELL := /bin/bash
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
BIN := $(TARGET_DIR)/debug/handoff-console
# The CLI needs no display; the desktop window (feature `desktop`) lands with the UI.
FEATURES ?= --no-default-features

.PHONY: run test deps-run deps-test build lint fmt clean-demo

## run: build the console and show it on the demo workspace (a local SQLite store, a demo
## SQLite target and a demo API integration whose target is down).
run: deps-run build
	@scripts/demo.sh "$(BIN)"

## test: every test (unit, integration against real PostgreSQL/MariaDB/SQLite and loopback HTTP
## servers, the OS keyring through a private Secret Service).
test: deps-test
	scripts/with-keyring.sh scripts/test.sh

build:
	$(CARGO) build $(FEATURES)

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy $(FEATURES) --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

deps-run:
	@scripts/deps.sh run

deps-test:
	@scripts/deps.sh test
