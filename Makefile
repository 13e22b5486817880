# Entry points for people: `make run` and `make test` install what is missing, build and go.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
CONFIG ?= etc/aitools.env

.PHONY: deps configure build run test test-asan test-browser bench check clean

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	$(BUILD_DIR)/aitools-server --config $(CONFIG)

check: build
	$(BUILD_DIR)/aitools-server --config $(CONFIG) --check

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (Debug build). Any
# report stops the process (a test binary, or a server a test started) and fails the test;
# test/ubsan.supp lists the one CAF header report suppressed, and why.
ASAN_BUILD_DIR ?= build-asan
SANITIZE = -fsanitize=address,undefined -fno-omit-frame-pointer
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS=$(SANITIZE)" >/dev/null
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	cd $(ASAN_BUILD_DIR) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$(CURDIR)/test/ubsan.supp \
	  ctest --output-on-failure -j $(JOBS)

# /docs in headless Chromium: a route added by a manifest edit shows up (docs/openapi.md).
test-browser:
	scripts/test-browser.sh $(BUILD_DIR)

# Side-by-side benchmarks (bench/README.md): BENCH=quick|full|smoke.
BENCH ?= quick
bench:
	bench/run.sh $(BENCH)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR)
