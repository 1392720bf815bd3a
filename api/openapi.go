package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/docs"
)

// OpenAPI3 returns swag's Swagger 2.0 output (docs/) converted to OpenAPI
// 3.0. The conversion runs once per process: swag's ReadDoc writes to the
// docs package's shared state, so concurrent calls would race.
func OpenAPI3() ([]byte, error) { return openAPI3Once() }

var openAPI3Once = sync.OnceValues(convertOpenAPI3)

func convertOpenAPI3() ([]byte, error) {
	var v2 openapi2.T
	if err := json.Unmarshal([]byte(docs.SwaggerInfo.ReadDoc()), &v2); err != nil {
		return nil, fmt.Errorf("read swagger 2.0 document: %w", err)
	}
	v3, err := openapi2conv.ToV3(&v2)
	if err != nil {
		return nil, fmt.Errorf("convert to openapi 3: %w", err)
	}
	out, err := json.MarshalIndent(v3, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode openapi 3: %w", err)
	}
	return out, nil
}

// newOpenAPIHandler converts once, at router construction.
func newOpenAPIHandler() (gin.HandlerFunc, error) {
	doc, err := OpenAPI3()
	if err != nil {
		return nil, err
	}
	return func(c *gin.Context) {
		c.Data(http.StatusOK, mediaJSON, doc)
	}, nil
}
