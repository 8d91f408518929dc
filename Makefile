# A thin front over Meson/Ninja and the test runners. See README.md.
PY      ?= /usr/bin/python3
BUILD   ?= build
ASAN    ?= build-asan
FUZZB   ?= build-fuzz
FUZZ_SECONDS ?= 20

.PHONY: all deps build asan fuzz-build run test unit e2e test-asan fuzz-smoke fuzz bench clean

all: build

deps:
	@scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=debugoptimized

$(ASAN)/build.ninja:
	meson setup $(ASAN) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dplain_alloc=true

$(FUZZB)/build.ninja:
	CC=clang meson setup $(FUZZB) --buildtype=debug -Dfuzz=true -Db_lundef=false \
	  -Dplain_alloc=true -Dc_args=-fsanitize=fuzzer-no-link,address,undefined \
	  -Dc_link_args=-fsanitize=address,undefined

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

asan: deps $(ASAN)/build.ninja
	ninja -C $(ASAN)

fuzz-build: deps $(FUZZB)/build.ninja
	ninja -C $(FUZZB)

# Starts rampart on examples/quickstart.yaml with two demo backends beside it.
run: build
	@scripts/run-demo.sh $(BUILD)/rampart

unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

e2e: build
	RAMPART_BIN=$(abspath $(BUILD)/rampart) $(PY) -m pytest -q tests/e2e

test-asan: asan
	meson test -C $(ASAN) --suite unit --print-errorlogs
	RAMPART_BIN=$(abspath $(ASAN)/rampart) RAMPART_SANITIZED=1 $(PY) -m pytest -q tests/e2e

# A short run of every fuzz harness over its seed corpus.
fuzz-smoke: fuzz-build
	scripts/fuzz.sh $(FUZZB) 6

test: build unit e2e test-asan fuzz-smoke
	@echo "make test: all suites passed"

fuzz: fuzz-build
	scripts/fuzz.sh $(FUZZB) $(FUZZ_SECONDS)

bench: build
	bench/run.sh $(BUILD)/rampart

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZB)
