# Baton — run it with `make run`, test it with `make test`.
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

.PHONY: bench help run build migrate test test-go test-frontend test-e2e lint lint-api vet deps-python deps-frontend deps-browser frontend clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-15s %s\n", $$1, $$2}'

build: ## build the baton binary into bin/
	$(GO) build -o $(BIN) ./api/cmd/baton

deps-python: ## make sure a python3 with pytest exists (installs Debian's python3-pytest)
	@deploy/dev/python-deps.sh

deps-frontend: ## install the frontend's npm packages
	@if [ -f frontend/package.json ]; then cd frontend && npm ci --no-audit --no-fund --loglevel=error; fi

deps-browser: ## install Debian's Chromium for the browser tests
	@command -v chromium >/dev/null || (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null))

frontend: deps-frontend ## build the web UI into frontend/dist
	@if [ -f frontend/package.json ]; then cd frontend && npm run build; fi

run: deps-python frontend build ## build everything, migrate and serve UI + API on http://localhost:8080
	@url=$$(deploy/dev/database-url.sh) && echo "database: $$url" && \
	  DATABASE_URL="$$url" ./$(BIN) migrate && \
	  echo "Baton on BATON_ADDR=$${BATON_ADDR:-:8080} (http://localhost:8080 by default)" && \
	  DATABASE_URL="$$url" exec ./$(BIN) serve

migrate: build ## apply database migrations to $$DATABASE_URL (or the local database)
	@url=$$(deploy/dev/database-url.sh) && DATABASE_URL="$$url" ./$(BIN) migrate

vet: ## gofmt and go vet
	@fmt=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './frontend/*')); \
	  if [ -n "$$fmt" ]; then echo "gofmt needed: $$fmt"; exit 1; fi
	$(GO) vet $(GO_PKGS)

lint: $(GOLANGCI_LINT) ## golangci-lint over the Go code (.golangci.yml; the pinned version is installed into bin/)
	$(GOLANGCI_LINT) run --allow-serial-runners $$($(GO) list -f '{{.Dir}}' ./... | grep -v /node_modules/)

# Built from source through the Go module proxy (no binary download); the
# version in the file name makes a version bump rebuild it.
$(GOLANGCI_LINT):
	@mkdir -p bin && tmp=$$(mktemp -d) && \
	  echo "installing golangci-lint $(GOLANGCI_LINT_VERSION) into bin/ (once; takes a few minutes)" && \
	  GOBIN=$$tmp $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) && \
	  mv $$tmp/golangci-lint $@ && rmdir $$tmp

test-go: deps-python ## Go tests with the race detector, against the local PostgreSQL
	$(GO) test $(GOFLAGS_TEST) $(GO_PKGS)

test-frontend: deps-frontend ## lint, unit-test and build the web UI
	@if [ -f frontend/package.json ]; then cd frontend && npm run lint && npm test && npm run build; fi

test-e2e: deps-browser deps-python build frontend ## browser tests against a real server and database
	@if [ -x .ci/e2e.sh ]; then .ci/e2e.sh; fi

lint-api: deps-frontend ## lint openapi.yaml with Redocly CLI (recommended) and Spectral (spectral:oas), pinned in frontend/
	@cd frontend && npm run --silent lint:api

test: vet lint lint-api test-go test-frontend test-e2e ## everything CI runs (test-go includes the cluster test)

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
