// Package docs holds the Swagger 2.0 document swag generates from the
// annotations (make docs): swagger.json and swagger.yaml, never edited by
// hand. The API serves it converted to OpenAPI 3 (/openapi.json).
//
// swag's own Go output (docs.go) is not generated: it registers the
// document with package swag, which links swag's source parser (go/types,
// golang.org/x/tools) into the binary, and fills a template on each read.
package docs

import _ "embed"

// SwaggerJSON is swagger.json as swag wrote it.
//
//go:embed swagger.json
var SwaggerJSON []byte
