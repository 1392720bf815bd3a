package api

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
)

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string `json:"status" example:"ok" enums:"ok,unavailable"`
} //	@name	Health

// healthz godoc
//
//	@Summary		Liveness
//	@Description	Answers 200 while the process runs. Needs no API key.
//	@Tags			operations
//	@Produce		json,application/problem+json
//	@Success		200	{object}	Health
//	@ID				getHealthz
//	@Router			/healthz [get]
func (s *server) healthz(c *gin.Context) {
	writeJSON(c, http.StatusOK, Health{Status: "ok"})
}

// readyz godoc
//
//	@Summary		Readiness
//	@Description	Answers 200 when the database answers, 503 otherwise. Needs no API key.
//	@Tags			operations
//	@Produce		json,application/problem+json
//	@Success		200	{object}	Health
//	@Failure		503	{object}	Problem
//	@ID				getReadyz
//	@Router			/readyz [get]
func (s *server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.Ready(ctx); err != nil {
		s.Log.WarnContext(ctx, "not ready", "err", err)
		writeProblem(c, newProblem(http.StatusServiceUnavailable, "not_ready", "Service unavailable", "the database is not reachable"))
		return
	}
	writeJSON(c, http.StatusOK, Health{Status: "ok"})
}
