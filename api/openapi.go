package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/docs"
)

// OpenAPI3 returns the OpenAPI 3.0 document: swag's Swagger 2.0 output
// converted and completed by internal/openapiconv when the docs are
// generated (make docs), embedded as docs/openapi.json.
func OpenAPI3() ([]byte, error) { return docs.OpenAPI3JSON, nil }

// openAPI serves the OpenAPI 3 document.
func (s *server) openAPI(c *gin.Context) {
	doc, err := OpenAPI3()
	if err != nil {
		writeError(c, s.Log, err)
		return
	}
	c.Data(http.StatusOK, mediaJSON, doc)
}
