# The README's two commands: `make run` and `make test`. Both install what they need first.
# CARGO_TARGET_DIR is honoured (CI points it outside the clone so runs reuse builds).

SHELL := /bin/bash
CARGO ?= cargo
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
BIN := $(TARGET_DIR)/debug/handoff-console
# The CLI needs no display: it is built and tested without the desktop window (feature
# `desktop`). `make test` builds the window too for its smoke test (scripts/desktop-smoke.sh),
# in the same target dir; `make desktop` opens it.
FEATURES ?= --no-default-features

.PHONY: run test deps-run deps-test deps-lint build lint fmt clean-demo desktop build-desktop

## run: build the console and open it on the demo workspace (a local SQLite store, a demo
## SQLite target and a demo API integration whose target is down): the window where a display
## exists (built with the `desktop` feature), otherwise `serve` (HANDOFF_RUN=serve forces it).
run: deps-run
	@if [ -n "$${DISPLAY}$${WAYLAND_DISPLAY}" ] && [ "$${HANDOFF_RUN:-}" != serve ]; then \
	  $(CARGO) build; else $(CARGO) build $(FEATURES); fi
	@scripts/demo.sh "$(BIN)"

## test: every test (unit, integration against real PostgreSQL/MariaDB/SQLite and loopback HTTP
## servers, the OS keyring through a private Secret Service), then the desktop window's unit
## tests and its smoke test under Xvfb (DESKTOP=0 skips those).
test: deps-test
	scripts/with-keyring.sh scripts/test.sh

build:
	$(CARGO) build $(FEATURES)

## desktop: the console's window (needs a display), on the default data dir or HANDOFF_DATA_DIR.
desktop: deps-run build-desktop
	"$(BIN)"

build-desktop:
	$(CARGO) build

lint: deps-lint
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy $(FEATURES) --all-targets -- -D warnings
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

deps-run:
	@scripts/deps.sh run

deps-test:
	@scripts/deps.sh test

deps-lint:
	@scripts/deps.sh lint
