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
//	@Failure		400	{object}	Problem	"A query parameter (it takes none)"
//	@ID				getHealthz
//	@Header			all	{string}	X-Request-Id	"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
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
//	@Failure		400	{object}	Problem	"A query parameter (it takes none)"
//	@Failure		503	{object}	Problem	"The database does not answer"
//	@ID				getReadyz
//	@Header			all	{string}	X-Request-Id	"The request id: the caller's own when it sent a printable one of at most 128 characters, else a new UUID. Also in a problem's instance."
//	@Header			503	{integer}	Retry-After		"Seconds to wait before asking again"
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
