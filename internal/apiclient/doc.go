// Package apiclient is the Go client oapi-codegen (v2.8.2) generates from
// orderdesk's served OpenAPI document (`orderdesk openapi`), committed so
// that CI can regenerate it and fail on a diff: a contract change that
// breaks generated clients shows up here first. cmd/orderdesk's
// TestGeneratedClient runs it against a real `orderdesk serve` for every
// operation in the document.
package apiclient

//go:generate sh -c "cd ../.. && go run ./cmd/orderdesk openapi > /tmp/orderdesk-openapi.json && go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config internal/apiclient/oapi-codegen.yaml /tmp/orderdesk-openapi.json"
