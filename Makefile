# Baton — run it with `make run`, test it with `make test`; `make help` lists every target.
SHELL := /bin/bash
.DEFAULT_GOAL := help
GO ?= go
BIN := bin/baton
GOFLAGS_TEST ?= -race -count=1 -timeout 20m
# npm packages may ship Go files; they are not ours to build or test.
GO_PKGS = $$($(GO) list ./... | grep -v /node_modules/)
# golangci-lint, pinned: `make lint` builds this version into bin/ once.
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT := bin/golangci-lint-$(GOLANGCI_LINT_VERSION)

.PHONY: bench help run build migrate test test-go test-frontend test-e2e test-fresh-clone lint lint-go lint-api \
  lint-frontend vet deps-python deps-frontend deps-browser frontend clean

# Every target has a "## what it does" comment on its rule line; make help
# prints them, and api/onboarding checks that none is missing.
help: ## list the targets
	@awk 'match($$0, /^[A-Za-z0-9][A-Za-z0-9_.-]*:.*## /) { t = $$0; sub(/:.*/, "", t); d = $$0; sub(/^[^#]*## /, "", d); \
	  printf "  %-18s %s\n", t, d }' $(MAKEFILE_LIST)

build: ## build the baton binary into bin/ (Go's build cache makes an unchanged rebuild instant)
	@$(GO) build -o $(BIN) ./api/cmd/baton

deps-python: ## make sure the Python Baton will use imports pytest (installs Debian's python3-pytest as root)
	@deploy/dev/python-deps.sh

deps-frontend: ## npm ci, only when package-lock.json changed since the last install
	@deploy/dev/frontend.sh deps

deps-browser: ## install Debian's Chromium for the browser tests
	@command -v chromium >/dev/null || (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null))

frontend: ## build the web UI into frontend/dist, only when its sources changed
	@deploy/dev/frontend.sh build

# The database and Python are checked first, so a wrong DATABASE_URL or a
# missing pytest stops make run in a second, not after the build. `baton
# serve` applies the migrations itself.
run: ## check the database and Python, build what changed, serve UI + API on http://localhost:8080 (BATON_ADDR)
	@url=$$(deploy/dev/database-url.sh) && echo "database: $$url" | sed -E 's#(://[^:/@]*):[^@/]*@#\1:***@#' && \
	  python=$$(deploy/dev/python-deps.sh --print) && \
	  $(MAKE) --no-print-directory frontend build && \
	  DATABASE_URL="$$url" BATON_PYTHON="$$python" exec ./$(BIN) serve

migrate: build ## apply database migrations to DATABASE_URL (or the local database) and exit
	@url=$$(deploy/dev/database-url.sh) && DATABASE_URL="$$url" ./$(BIN) migrate

vet: ## gofmt and go vet
	@fmt=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './frontend/*')); \
	  if [ -n "$$fmt" ]; then echo "gofmt needed: $$fmt"; exit 1; fi
	$(GO) vet $(GO_PKGS)

# Linters: each one is a prerequisite of lint (make test runs lint), and
# api/onboarding checks that make lint runs the ones the repository configures.
lint: vet lint-go lint-frontend lint-api ## every linter: gofmt, go vet, golangci-lint, ESLint, Redocly + Spectral on openapi.yaml

lint-go: $(GOLANGCI_LINT) ## golangci-lint over the Go code (.golangci.yml; the pinned version is installed into bin/)
	$(GOLANGCI_LINT) run --allow-serial-runners $$($(GO) list -f '{{.Dir}}' ./... | grep -v /node_modules/)

# Built from source through the Go module proxy (no binary download); the
# version in the file name makes a version bump rebuild it.
$(GOLANGCI_LINT):
	@mkdir -p bin && tmp=$$(mktemp -d) && \
	  echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) into bin/ (once; takes a few minutes)" && \
	  GOBIN=$$tmp $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) && \
	  mv $$tmp/golangci-lint $@ && rmdir $$tmp

lint-frontend: deps-frontend ## ESLint over the web UI, no warnings allowed
	@if [ -f frontend/package.json ]; then cd frontend && npm run --silent lint; fi

test-go: deps-python ## Go tests with the race detector, against the local PostgreSQL (test-fresh-clone runs alone)
	$(GO) test $(GOFLAGS_TEST) -skip '^TestFreshClone' $(GO_PKGS)

test-frontend: frontend ## unit-test the web UI (and build it, which type-checks it)
	@if [ -f frontend/package.json ]; then cd frontend && npm test; fi

test-e2e: deps-browser deps-python build frontend ## browser tests against a real server and database
	@if [ -x .ci/e2e.sh ]; then .ci/e2e.sh; fi

lint-api: deps-frontend ## lint openapi.yaml with Redocly CLI (recommended) and Spectral (spectral:oas), pinned in frontend/
	@cd frontend && npm run --silent lint:api

# Alone, after everything else: it times `make run` in a fresh clone, which
# must not compete with the other tests for the two cores.
test-fresh-clone: deps-python ## clone the repository, time make run there twice, check that bad settings stop it at once
	BATON_TEST_FRESH_CLONE=1 $(GO) test -count=1 -timeout 10m -run '^TestFreshClone' -v ./api/onboarding

test: lint test-go test-frontend test-e2e test-fresh-clone ## everything CI runs (test-go includes the cluster test)

bench: deps-python ## run the benchmarks in bench/ (all, or BENCH="handoff memory")
	bench/run.sh $(BENCH)

clean: ## remove build output and local data
	rm -rf bin frontend/dist .data

# --- deploy: the docker-compose.yml topology without Docker (see deploy/README.md)
.PHONY: cluster test-cluster

cluster: deps-python build ## API + 2 workers as separate processes on DATABASE_URL or a fresh database (CLUSTER_ARGS="--workers 4 --port 8081")
	@deploy/dev/cluster.sh $(CLUSTER_ARGS)

test-cluster: deps-python ## just the cluster test (TestCluster, also part of test-go): upload, FIFO per environment, both workers, nginx
	@deploy/dev/cluster-e2e.sh
