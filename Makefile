# The front door. `make dev` and `make test` install what they need themselves.
.PHONY: dev test build lint deploy-check clean bench

# The pinned Python tools (cargo-lambda, cfn-lint, ziglang...) come from the project's own
# virtual environment, which scripts/install-deps.sh makes; never from the system's Python.
TOOLS_DIR ?= $(CURDIR)/.tools
VENV_DIR ?= $(TOOLS_DIR)/venv
export PATH := $(VENV_DIR)/bin:$(PATH)

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

deploy-check: ## What a first `sam deploy` would check: cfn-lint and `sam validate --lint` (the SAM transform), offline; CI runs it
	@WITH_SAM=1 bash scripts/install-deps.sh
	cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 sam validate --lint --template template.yaml --region us-east-1
	@echo "make deploy-check: template valid. (sam build needs the aarch64-unknown-linux-gnu Rust target: see README, First deployment.)"

bench: ## Benchmarks against baselines measured in the same run: prints the results, rewrites BENCHMARKS.md (BENCH_ARM64=0 skips the arm64 build)
	@bash scripts/install-deps.sh
	@# Sign-in's floor is Debian's `argon2` CLI (the reference C implementation); the RSA floor is `openssl speed`.
	@command -v argon2 >/dev/null || { \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  echo "make bench: apt-get install argon2 (the reference implementation sign-in is measured against)"; \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq argon2 >/dev/null 2>&1 \
	    || { $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq argon2 >/dev/null; } \
	    || echo "make bench: could not install argon2; section 7 reports sign-in without its floor"; }
	@# One build per feature set of `shared`, so that each function links what it links when built alone.
	cargo build --release --locked -p refresh -p signout -p revoke-all -p sessions -p jwks -p me -p authorizer
	cargo build --release --locked -p signin -p account -p admin -p mfa
	cargo build --release --locked -p signup -p email -p recovery
	cargo build --release --locked -p bench
	@if [ "$${BENCH_ARM64:-1}" = 1 ]; then \
	  WITH_ZIG=1 bash scripts/install-deps.sh && rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1; \
	  { cargo lambda build --release --arm64 -p refresh -p signout -p revoke-all -p sessions -p jwks -p me -p authorizer \
	    && cargo lambda build --release --arm64 -p signin -p account -p admin -p mfa \
	    && cargo lambda build --release --arm64 -p signup -p email -p recovery; } \
	    || echo "make bench: the arm64 build failed; BENCHMARKS.md reports x86_64 sizes only"; \
	fi
	"$${CARGO_TARGET_DIR:-target}/release/bench"

clean:
	cargo clean
	rm -rf .dev .tools
