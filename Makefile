# orderdesk: common tasks. `make help` lists them.
GO       ?= go
SWAG     ?= $(shell $(GO) env GOPATH)/bin/swag
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.PHONY: help build test docs docs-check lint demo tools

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build the binary (static, no cgo)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o bin/orderdesk ./cmd/orderdesk

test: ## run the tests with the race detector (needs Postgres; see README)
	$(GO) test -race ./...

tools: ## install swag and staticcheck at pinned versions
	$(GO) install github.com/swaggo/swag/cmd/swag@v1.16.6
	$(GO) install honnef.co/go/tools/cmd/staticcheck@v0.7.0

docs: ## regenerate docs/ (OpenAPI) from the swag annotations
	$(SWAG) fmt -d ./cmd/orderdesk,./api
	$(SWAG) init --quiet -g main.go -d ./cmd/orderdesk,./api --parseInternal --useStructName --requiredByDefault -o docs --outputTypes go,json,yaml

docs-check: docs ## fail when docs/ is not what the code generates
	git diff --exit-code -- docs api cmd

lint: ## go vet and staticcheck
	$(GO) vet ./...
	$(shell $(GO) env GOPATH)/bin/staticcheck ./...

demo: ## run the service on its embedded default
	$(GO) run ./cmd/orderdesk demo
