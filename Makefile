# Thin wrapper around CMake; the real build is CMakeLists.txt.
BUILD ?= build
.PHONY: all build check test run unit clean format

all: build

build:
	cmake -S . -B $(BUILD) -DMAILMON_WERROR=ON
	cmake --build $(BUILD) -j$$(nproc)

# Everything CI runs: installs packages, builds (plain, sanitizers, fuzz), runs all tests.
check test:
	./scripts/test

# Unit tests only, on the plain build.
unit: build
	cd $(BUILD) && ctest -L unit --output-on-failure

# Bring up the lab and run mailmond against it (Ctrl-C stops everything).
run:
	./scripts/quickstart

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) build-asan build-fuzz
