package api

import (
	"encoding/json"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Media types of every answer: one for success, one for errors, never with
// a varying charset parameter (generated clients compare them exactly).
const (
	mediaJSON    = "application/json"
	mediaProblem = "application/problem+json"
)

// writeJSON is the one writer of success answers.
func writeJSON(c *gin.Context, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		_ = c.Error(err)
		writeProblem(c, newProblem(http.StatusInternalServerError, "internal", "Internal server error", ""))
		return
	}
	c.Data(status, mediaJSON, b)
}
