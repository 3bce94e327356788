# The front door. `make dev` and `make test` install what they need themselves.
.PHONY: dev test build lint clean

dev: ## Start the whole stack at http://127.0.0.1:$${PORT:-9000} (foreground; Ctrl-C stops it)
	@bash scripts/dev.sh

test: ## Run every test against real Redis (standalone + cluster) and DynamoDB Local
	@bash scripts/test.sh

build: ## Release build of every function for AWS Lambda (arm64), cross-compiled with zig
	@WITH_ZIG=1 bash scripts/install-deps.sh
	@rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1 || true
	cargo lambda build --release --arm64

lint: ## Lint template.yaml
	@bash scripts/install-deps.sh
	cfn-lint template.yaml

clean:
	cargo clean
	rm -rf .dev .tools
