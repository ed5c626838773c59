# The handful of commands people run. Every cargo command builds in release; the workspace-hack
# crate (cargo hakari) gives every subset of the workspace the same dependency features, so
# DataFusion is compiled once for all of them; see docs/benchmarks.md for the bench figures.
#
#   make run            the whole pipeline embedded, viewer and API on http://127.0.0.1:8080
#   make demo           the same on a simulated market, a market minute per second
#   make test           the whole suite, as CI runs it
#   make check          fmt, clippy, rustdoc links and the Rust tests only (no viewer, no Python suites)
#   make fmt            format the Rust code
#   make web-test       the viewer's type-check, lint, Vitest and Playwright suites
#   make web-types      regenerate the viewer's API types (web/lib/api-types.ts) from $(BIN)
#   make bench          the embedded end-to-end bench (1M ticks)
#   make bench-kafka    the same bench on a throwaway tansu broker
#   make clean-data     remove ./data (the embedded log and store of `make run`)
#   make hakari         refresh workspace-hack/ after adding or changing a dependency

CARGO_FLAGS := --release --workspace
BIN := ./target/release/cryptoviz

.PHONY: run demo test check fmt web-test web-types bench bench-kafka clean-data hakari

run:
	./scripts/run.sh

demo:
	./scripts/run.sh --simulate --speed 60

test:
	./scripts/test.sh

check:
	cargo fmt --all -- --check
	cargo clippy $(CARGO_FLAGS) --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" cargo doc $(CARGO_FLAGS) --no-deps --document-private-items
	cargo test $(CARGO_FLAGS)

fmt:
	cargo fmt --all

web-test:
	bash scripts/web-test.sh

web-types:
	bash scripts/gen-web-types.sh

bench:
	cargo build --release --bin cryptoviz
	$(BIN) bench --ticks 1000000 --json

bench-kafka:
	cargo build --release --bin cryptoviz
	bash scripts/bench/kafka.sh

clean-data:
	rm -rf ./data

hakari:
	cargo hakari generate
	cargo hakari manage-deps --yes
