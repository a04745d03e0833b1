# Short names for the README's commands; CMake does the work in build/.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build test test-sanitize fuzz demo bench clean
FUZZ_SECONDS ?= 15

all: build

deps:
	bash scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Unit tests, the same tests built with address and undefined-behaviour sanitizers, then
# each parser's fuzzer for FUZZ_SECONDS.
test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-sanitize
	$(MAKE) fuzz

test-sanitize: deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DGENET_SANITIZE=ON -DGENET_CUDA=OFF >/dev/null
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ctest --output-on-failure -j $(JOBS)

# Until the workloads land, the demo is the layer benchmark against PyTorch on this machine.
# libFuzzer (clang) on the job parser, the text and CIFAR-10 readers and the checkpoint
# loader, starting from tests/fuzz/corpus/; what it finds goes to a scratch directory (to grow
# the corpus: bash tests/fuzz/run.sh build-fuzz 300 merge). A crash or leak fails the target.
fuzz: deps
	CC=clang cmake -S tests/fuzz -B $(BUILD)-fuzz >/dev/null
	cmake --build $(BUILD)-fuzz -j $(JOBS)
	bash tests/fuzz/run.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

demo: build
	$(BUILD)/genet version
	$(BUILD)/genet info
	bash scripts/bench/layers.sh

clean:
	rm -rf $(BUILD) $(BUILD)-asan
