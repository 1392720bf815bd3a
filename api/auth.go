package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

type ctxKey int

const principalKey ctxKey = iota

// principal is the authenticated caller of a request.
func principal(c *gin.Context) tenant.Principal {
	p, _ := c.Request.Context().Value(principalKey).(tenant.Principal)
	return p
}

func (s *server) authenticate(c *gin.Context) {
	// One Authorization header: a second is never read as the first's
	// fallback (nor the first as the second's), whichever a proxy keeps.
	if len(c.Request.Header.Values("Authorization")) > 1 {
		c.Header("WWW-Authenticate", `Bearer realm="orderdesk", error="invalid_request"`)
		writeProblem(c, newProblem(http.StatusUnauthorized, "unauthenticated", "Missing or invalid API key", "send one Authorization header: Bearer <api key>"))
		return
	}
	h := c.GetHeader("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="orderdesk"`)
		writeProblem(c, newProblem(http.StatusUnauthorized, "unauthenticated", "Missing or invalid API key", "send Authorization: Bearer <api key>"))
		return
	}
	p, err := s.Auth.Authenticate(c.Request.Context(), key)
	if err != nil {
		if errors.Is(err, tenant.ErrUnauthenticated) {
			c.Header("WWW-Authenticate", `Bearer realm="orderdesk", error="invalid_token"`)
			writeProblem(c, newProblem(http.StatusUnauthorized, "unauthenticated", "Missing or invalid API key", "the API key is not valid"))
			return
		}
		// Too many unknown keys lately: this replica answers keys it has
		// not cached with a 429 until its lookup budget refills.
		var rl *tenant.RateLimitError
		if errors.As(err, &rl) {
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds()))))
		}
		writeError(c, s.Log, err)
		return
	}
	c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), principalKey, p))
	c.Next()
}

// RateLimiter spends a request of an API key's budget; its refusal is a
// *tenant.RateLimitError.
type RateLimiter interface {
	Allow(keyID int64) error
}

// rateLimit answers 429 with Retry-After once the caller's key has spent
// its budget. It runs before the handler, so a refused request starts
// nothing and no Idempotency-Key records it.
func (s *server) rateLimit(c *gin.Context) {
	if s.Limits == nil {
		c.Next()
		return
	}
	if err := s.Limits.Allow(principal(c).KeyID); err != nil {
		var rl *tenant.RateLimitError
		if errors.As(err, &rl) {
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds()))))
		}
		writeError(c, s.Log, err)
		return
	}
	c.Next()
}
