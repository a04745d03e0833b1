# Short names for the README's commands; CMake does the work in build/.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps test-deps build test test-sanitize fuzz demo bench clean
FUZZ_SECONDS ?= 15

all: build

deps:
	bash scripts/install-deps.sh

test-deps:
	bash scripts/install-deps.sh --test

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

# Unit tests, the same tests built with address and undefined-behaviour sanitizers, then
# each parser's fuzzer for FUZZ_SECONDS.
test: build test-deps
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-sanitize
	$(MAKE) fuzz

test-sanitize: test-deps
	cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DGENET_SANITIZE=ON -DGENET_CUDA=OFF >/dev/null
	cmake --build $(BUILD)-asan -j $(JOBS)
	cd $(BUILD)-asan && ctest --output-on-failure -j $(JOBS)

# libFuzzer (clang) on the job parser, the text and CIFAR-10 readers, the checkpoint
# loader, the image decoders and genet report's metrics.jsonl reader, starting from tests/fuzz/corpus/; what it finds goes to a scratch directory (to grow
# the corpus: bash tests/fuzz/run.sh build-fuzz 300 merge). A crash or leak fails the target.
fuzz: test-deps
	CC=clang cmake -S tests/fuzz -B $(BUILD)-fuzz >/dev/null
	cmake --build $(BUILD)-fuzz -j $(JOBS)
	bash tests/fuzz/run.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

# README's first command: the three workloads on data made here or shipped (nothing is
# downloaded), a few minutes on two cores: the language model, the DCGAN and style transfer, each
# into runs/demo/<workload>/ with checkpoints, metrics, pictures or text and an HTML report.
# Run again, each resumes from its checkpoints (delete runs/demo/ to train again).
demo: build
	bash scripts/demo.sh $(BUILD)/genet runs/demo

# genet's CPU layers against PyTorch's on this machine (docs/BENCHMARKS.md).
bench: build
	bash scripts/bench/layers.sh

clean:
	rm -rf $(BUILD) $(BUILD)-asan
