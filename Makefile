# Short names for the README's commands; CMake does the work in build/.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build test test-sanitize demo bench clean

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Unit tests, then the same tests built with address and undefined-behaviour sanitizers.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-sanitize

test-sanitize: deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DGENET_SANITIZE=ON -DGENET_CUDA=OFF >/dev/null
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ctest --output-on-failure -j $(JOBS)

demo: build
	$(BUILD)/genet version
	$(BUILD)/genet info

clean:
	rm -rf $(BUILD) $(BUILD)-asan
