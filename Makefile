# orderdesk: common tasks. `make help` lists them.
GO       ?= go
SWAG     ?= $(shell $(GO) env GOPATH)/bin/swag
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: help build rss test generate docs docs-check client lint demo tools fuzz hostile chaos docs-browser bench backfill-bench events-bench

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

# The production build (also the Dockerfile's and the benchmarks'): static
# (no cgo), stripped, and with PROD_TAGS, which leave out code serve never
# runs: nomsgpack drops gin's MessagePack binding (ugorji/go/codec, 6 MB of
# the binary), nodemo the demo and sandbox commands (the Shopify sandbox with
# its embedded schema and GraphQL parser). Idle RSS follows the binary's
# size: see `make rss`.
PROD_TAGS ?= nomsgpack,nodemo
GOBUILD   = CGO_ENABLED=0 $(GO) build -trimpath -tags '$(PROD_TAGS)' -ldflags "-s -w -X main.version=$(VERSION)"

build: ## build the production binary (static, no cgo, PROD_TAGS)
	$(GOBUILD) -o bin/orderdesk ./cmd/orderdesk

rss: build ## idle memory of the production build's serve (Postgres): VmRSS and where it lives (smaps); RSS_RUNS=3
	.ci/rss bin/orderdesk

test: ## run the tests with the race detector (needs Postgres; see README)
	$(GO) test -race ./...

tools: ## install swag and staticcheck at pinned versions
	$(GO) install github.com/swaggo/swag/cmd/swag@v1.16.6
	$(GO) install honnef.co/go/tools/cmd/staticcheck@v0.8.2

docs: ## regenerate docs/ from the swag annotations: swagger.json/.yaml (Swagger 2.0) and openapi.json (OpenAPI 3, served)
	$(SWAG) fmt -d ./cmd/orderdesk,./api
	$(SWAG) init --quiet -g main.go -d ./cmd/orderdesk,./api --parseInternal --useStructName --requiredByDefault -o docs --outputTypes json,yaml
	$(GO) run ./cmd/orderdesk-openapi -in docs/swagger.json -out docs/openapi.json

docs-check: docs ## fail when docs/ is not what the code generates
	git diff --exit-code -- docs api cmd

OPENAPI_JSON ?= $(or $(TMPDIR),/tmp)/orderdesk-openapi.json
TS_CLIENT    := internal/apiclient/typescript

client: ## regenerate the Go (oapi-codegen) and TypeScript (openapi-typescript) clients from the served document
	$(GO) run ./cmd/orderdesk openapi > $(OPENAPI_JSON)
	GOFLAGS= $(GO) run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config internal/apiclient/oapi-codegen.yaml $(OPENAPI_JSON)
	cd $(TS_CLIENT) && npm ci --silent --no-audit --no-fund && node_modules/.bin/openapi-typescript $(OPENAPI_JSON) -o schema.d.ts && node_modules/.bin/tsc -p .

FUZZTIME ?= 10m
FUZZ_TARGETS := ./api:FuzzDecodeBody ./api:FuzzParseQuery ./internal/orders:FuzzParseAmount ./internal/orders:FuzzDecodeCursor ./internal/webhooks:FuzzCheckPayload

fuzz: ## run every fuzz target for FUZZTIME each (default 10m); new corpus entries land in the Go cache
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$fn ($$pkg)"; $(GO) test $$pkg -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) || exit 1; done

HOSTILE_N    ?= 5000
HOSTILE_SEED ?= 1

chaos: ## randomized fault trials of cancel/refund against the real binary: CHAOS_TRIALS (default 500) per database, CHAOS_SEED
	$(GO) run ./cmd/orderdesk-chaos -trials $(or $(CHAOS_TRIALS),500) -seed $(or $(CHAOS_SEED),1) -db both -parallel $(or $(CHAOS_PARALLEL),8)

hostile: ## run the hostile-request generator: HOSTILE_N requests (default 5000) per database through the real router
	$(GO) test ./api -run '^TestHostileRequests$$' -count=1 -timeout 60m -v -hostile.n=$(HOSTILE_N) -hostile.seed=$(HOSTILE_SEED)

docs-browser: ## render /docs/index.html in headless Chromium under its CSP (needs chromium) and list CSP violations
	.ci/docs-browser

lint: ## go vet and staticcheck
	$(GO) vet ./...
	$(shell $(GO) env GOPATH)/bin/staticcheck ./...

demo: ## run the service on its embedded default
	$(GO) run ./cmd/orderdesk demo

BENCH_FLAGS ?=

bench: ## issue 9's benchmark: serve vs a bare pgx handler on ~20,000 orders, median ratios of 4 interleaved rounds (BENCH_FLAGS=-rounds N, even keeps the order balanced; needs Postgres, wrk, pgbench); writes docs/benchmarks.md
	$(GOBUILD) -o bin/orderdesk-bench-serve ./cmd/orderdesk
	$(GO) build -o bin/orderdesk-bench ./cmd/orderdesk-bench
	bin/orderdesk-bench -binary bin/orderdesk-bench-serve $(BENCH_FLAGS)

EVENTS_BENCH_DB ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable&search_path=events_bench
events-bench: ## issue 11's figures: outbound event delivery throughput to a local receiver, and lag p50/p99 at 200 events/s (Postgres; a fresh events_bench schema)
	psql -q "$(firstword $(subst ?, ,$(EVENTS_BENCH_DB)))" -c 'DROP SCHEMA IF EXISTS events_bench CASCADE; CREATE SCHEMA events_bench' 2>/dev/null
	$(GO) run ./cmd/orderdesk-events-bench -db '$(EVENTS_BENCH_DB)' $(EVENTS_BENCH_FLAGS)

generate: ## regenerate the Shopify schema SDL and the typed GraphQL operations (genqlient), validating every document
	$(GO) generate ./pkg/shopifyschema ./internal/shopify

BACKFILL_FLAGS ?=

backfill-bench: ## issue 10's backfill: 20,000 sandbox orders through bulk operations, orders/s beside the REST-paging ceiling (500/s); BACKFILL_FLAGS=-db postgres://... for Postgres
	$(GOBUILD) -o bin/orderdesk-bench-serve ./cmd/orderdesk
	$(GO) build -o bin/orderdesk-bench ./cmd/orderdesk-bench
	bin/orderdesk-bench backfill -binary bin/orderdesk-bench-serve $(BACKFILL_FLAGS)
