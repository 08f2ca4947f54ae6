# venuegate developer targets. Everything installs itself: `make demo` and `make test` work on a
# fresh machine and are quick when already set up (stamps skip what is current).
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# Python 3.12 (pinned in .python-version); pyenv's shim or any python3.12 on PATH.
PYTHON ?= $(shell command -v python3.12 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
export VIRTUAL_ENV := $(abspath $(VENV))
export PATH := $(abspath $(BIN)):$(PATH)

RUST_SOURCES := $(shell find engine native -name '*.rs' -o -name Cargo.toml) Cargo.toml Cargo.lock
PY_PACKAGE := python/venuegate
BENCH_JSON := benches/results/latest.json

$(PY):
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), f"venuegate needs Python 3.12+, found {sys.version}"'
	$(PYTHON) -m venv $(VENV)

# Dev tools and the baseline stack, reinstalled when pyproject.toml changes.
$(VENV)/.deps: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade "pip>=25.1"
	$(PY) -m pip install --quiet --group dev
	$(MAKE) --no-print-directory quickfix
	touch $@

# QuickFIX, the FIX interop peer of the tests: the cached wheel when it fits this Python,
# else built from the PyPI sdist (minutes; see vendor/wheels/README.md).
.PHONY: quickfix
quickfix: | $(PY)
	$(PY) -c 'import quickfix' 2>/dev/null || \
	  $(PY) -m pip install --quiet --no-index --find-links vendor/wheels quickfix==1.16.0 2>/dev/null || \
	  { vendor/wheels/build-quickfix.sh $(PY) && \
	    $(PY) -m pip install --quiet --no-index --find-links vendor/wheels quickfix==1.16.0; }

# The native extension, rebuilt (release, LTO) when any Rust source changes.
$(VENV)/.native: $(VENV)/.deps $(RUST_SOURCES) pyproject.toml
	$(BIN)/maturin develop --release --quiet
	touch $@

.PHONY: help
help:  ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

.PHONY: install
install: $(VENV)/.native  ## venv, dev tools, native build

.PHONY: build-dev
build-dev: $(VENV)/.deps  ## rebuild the native module (release) into the venv
	$(BIN)/maturin develop --release --quiet
	touch $(VENV)/.native

.PHONY: build-prod
build-prod: $(VENV)/.deps  ## build a release wheel into dist/
	$(BIN)/maturin build --release --out dist

.PHONY: demo
demo: install  ## sign a sample order for every venue, verify it, print timings
	$(BIN)/venuegate demo

.PHONY: format
format: $(VENV)/.deps  ## reformat Python and Rust
	$(BIN)/isort python tests benches
	$(BIN)/black python tests benches
	$(BIN)/ruff check --fix python tests benches
	cargo fmt --all

.PHONY: lint-python
lint-python: install
	$(BIN)/black --check --quiet python tests benches
	$(BIN)/isort --check-only --quiet python tests benches
	$(BIN)/ruff check --quiet python tests benches
	$(BIN)/mypy --strict $(PY_PACKAGE)
	$(PY) -m mypy.stubtest venuegate._native --allowlist .mypy-stubtest-allowlist

.PHONY: lint-rust
lint-rust:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

.PHONY: lint
lint: lint-python lint-rust  ## every linter and type checker

.PHONY: test-rust
test-rust:
	cargo test -p venuegate-engine --locked

.PHONY: test-python
test-python: install
	$(BIN)/pytest

.PHONY: bench-quick
bench-quick: install  ## a short pytest-benchmark pass; JSON under benches/results/
	mkdir -p $(dir $(BENCH_JSON))
	$(BIN)/pytest benches -p no:cacheprovider --benchmark-enable --benchmark-only \
		--benchmark-min-rounds=200 --benchmark-max-time=0.2 --benchmark-warmup=on \
		--benchmark-json=$(BENCH_JSON) -q
	$(PY) benches/report.py $(BENCH_JSON)

.PHONY: test
test: lint test-rust test-python bench-quick  ## everything CI runs

.PHONY: bench
bench: install  ## full benchmarks: pytest-benchmark and criterion; rewrites RESULTS.md tables
	mkdir -p $(dir $(BENCH_JSON))
	cargo bench -p venuegate-engine --locked
	$(BIN)/pytest benches -p no:cacheprovider --benchmark-enable --benchmark-only \
		--benchmark-json=$(BENCH_JSON)
	$(PY) benches/report.py $(BENCH_JSON) --update benches/RESULTS.md --criterion target/criterion
	$(PY) benches/transport_throughput.py --messages 300000 --update benches/RESULTS.md
	$(PY) benches/e2e_cpu.py --rate 1000 --seconds 10 --variants thread,thread-coalesce5,native --repeat 3 --update benches/RESULTS.md
	$(PY) benches/order_path.py --orders 2000 --update benches/RESULTS.md

FUZZ_SECONDS ?= 120
.PHONY: fuzz
fuzz:  ## coverage-guided fuzzing of the FIX codec (cargo-fuzz, nightly); CI runs the targets' bodies
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	cd engine/fuzz && for t in fix_parse fix_dictionary; do \
	  mkdir -p corpus/$$t && \
	  cargo +nightly fuzz run -O $$t corpus/$$t seeds -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

.PHONY: clean
clean:  ## remove build products and the venv
	rm -rf $(VENV) target dist benches/results .pytest_cache .mypy_cache .ruff_cache

CHAOS_ORDERS ?= 5000
CHAOS_VENUES ?= binance okx kraken coinbase bitfinex htx
.PHONY: chaos
chaos: install  ## the full chaos acceptance run per venue (heavy faults, >= 20 SIGKILLs); slow
	mkdir -p benches/results/chaos
	for v in $(CHAOS_VENUES); do \
	  tier=$$( [ $$v = kraken ] && echo "--tier pro" || true ); \
	  $(BIN)/venuegate chaos --venue $$v --orders $(CHAOS_ORDERS) --seed 1 --faults heavy \
	    --crash-every $$(( $(CHAOS_ORDERS) / 25 )) --all-symbols $$tier \
	    --ledger benches/results/chaos/$$v.ledger.jsonl \
	    --journal benches/results/chaos/$$v.journal > benches/results/chaos/$$v.json || exit 1; \
	done
