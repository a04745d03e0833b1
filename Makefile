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

# libFuzzer (clang) on the job parser, the text and CIFAR-10 readers, the checkpoint
# loader, the image decoders and genet report's metrics.jsonl reader, starting from tests/fuzz/corpus/; what it finds goes to a scratch directory (to grow
# the corpus: bash tests/fuzz/run.sh build-fuzz 300 merge). A crash or leak fails the target.
fuzz: deps
	CC=clang cmake -S tests/fuzz -B $(BUILD)-fuzz >/dev/null
	cmake --build $(BUILD)-fuzz -j $(JOBS)
	bash tests/fuzz/run.sh $(BUILD)-fuzz $(FUZZ_SECONDS)

# The most complete workload so far: the language model on synthetic Markov text (made here,
# no download), trained on the CPU in about a minute, then text sampled from its best
# checkpoint. Run again, it finds the run finished in checkpoints/lm_demo/ and only samples (delete
# that directory to train again).
demo: build
	$(BUILD)/genet version
	mkdir -p data
	$(BUILD)/genet prepare synthetic-text data/synthetic-text
	$(BUILD)/genet prepare text data/synthetic-text data/synthetic-text.h5
	$(BUILD)/genet train jobs/lm_demo.job
	$(BUILD)/genet generate checkpoints/lm_demo/best.h5 words=60 seed=1

# genet's CPU layers against PyTorch's on this machine (docs/BENCHMARKS.md).
bench: build
	bash scripts/bench/layers.sh

clean:
	rm -rf $(BUILD) $(BUILD)-asan
