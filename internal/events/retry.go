package events

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// The retry schedule. A delivery that fails (no answer, a timeout, any
// status but 2xx and 410) is tried again after
//
//	min(5s · 2^(n-1), 8h) · (0.75 … 1.25)    (n: failed attempts so far)
//
// that is about 5s, 10s, 20s, 40s, 80s, 3m, 5m, 11m, 21m, 43m, 85m, 3h,
// 6h, then every 8h, each with ±25% jitter so receivers coming back are not
// hit by every sender at once. The delivery is given up, and its endpoint
// disabled with the reason, at the first failure GiveUpAfter (3 days) or
// more after its first failure: the schedule always spans at least 3 days
// (about 18 attempts). An endpoint answering 410 Gone is disabled at once.
const (
	RetryBase   = 5 * time.Second
	RetryCap    = 8 * time.Hour
	GiveUpAfter = 72 * time.Hour
)

// Backoff is the wait after the n-th failed attempt (n ≥ 1), before
// jitter.
func Backoff(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	if n > 20 {
		return RetryCap
	}
	return min(RetryBase<<(n-1), RetryCap)
}

// Jitter spreads d by ±25%; r is uniform in [0, 1).
func Jitter(d time.Duration, r float64) time.Duration {
	return time.Duration(float64(d) * (0.75 + r/2))
}

// Verdict is what an answer means for a delivery.
type Verdict int

// Verdicts.
const (
	Delivered Verdict = iota // 2xx
	Retry                    // anything else: no answer, timeout, 3xx, 4xx, 5xx
	Gone                     // 410: the receiver says the endpoint is gone
)

// Judge classifies an answer (status 0: none).
func Judge(status int) Verdict {
	switch {
	case status >= 200 && status < 300:
		return Delivered
	case status == 410:
		return Gone
	}
	return Retry
}

// Next is the outcome of an attempt made at `at` that got `status` (0:
// none) and err, for a delivery that had failed `attempts` times before,
// first at firstFailed. rnd gives the jitter (nil: math/rand).
func Next(status int, errText string, attempts int, firstFailed *time.Time, at time.Time, rnd func() float64) Outcome {
	switch Judge(status) {
	case Delivered:
		return Outcome{State: DeliveryDelivered, Next: at}
	case Gone:
		ff := firstFailed
		if ff == nil {
			ff = &at
		}
		// Kept pending: re-enabling the endpoint sends it again.
		return Outcome{State: DeliveryPending, Next: at, FirstFailedAt: ff,
			Disable: "the endpoint answered 410 Gone"}
	}
	ff := at
	if firstFailed != nil {
		ff = *firstFailed
	}
	if at.Sub(ff) >= GiveUpAfter {
		why := errText
		if why == "" {
			why = "HTTP " + strconv.Itoa(status)
		}
		return Outcome{State: DeliveryFailed, Next: at, FirstFailedAt: &ff,
			Disable: "deliveries failed for " + GiveUpAfter.String() + " since " + ff.UTC().Format(time.RFC3339) +
				" (" + strconv.Itoa(attempts+1) + " attempts; last: " + why + ")"}
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	return Outcome{State: DeliveryPending, Next: at.Add(Jitter(Backoff(attempts+1), rnd())), FirstFailedAt: &ff}
}
