package shopifysandbox

import (
	"encoding/json"
	"net/http"
	"time"
)

// serveFaultAdmin serves the fault-injection admin, for tests and fault
// trials in another process (the Go API is Inject, SetChaos, ClearFaults,
// Ledger, AppliedFaults):
//
//	POST   /sandbox/faults   a Fault as JSON (latency in nanoseconds): queue it
//	DELETE /sandbox/faults   drop every queued fault and stop chaos
//	GET    /sandbox/faults   the faults applied so far
//	POST   /sandbox/chaos    a Chaos as JSON: random seeded faults
//	GET    /sandbox/ledger   every refund made, with its key and note
//	GET    /sandbox/calls    what the sandbox counted (CallReport): GraphQL
//	                         calls per operation, REST calls (orderdesk makes
//	                         none), documents not served or refused
//
// It reports whether it handled the path.
func (s *Sandbox) serveFaultAdmin(w http.ResponseWriter, r *http.Request, path string) bool {
	switch {
	case path == "faults" && r.Method == http.MethodPost:
		var f Fault
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			writeErrors(w, http.StatusBadRequest, "send a fault as JSON: "+err.Error())
			return true
		}
		s.Inject(f)
		writeJSON(w, http.StatusCreated, f)
	case path == "faults" && r.Method == http.MethodDelete:
		s.ClearFaults()
		w.WriteHeader(http.StatusNoContent)
	case path == "faults" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"applied": s.AppliedFaults()})
	case path == "chaos" && r.Method == http.MethodPost:
		var c Chaos
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
			writeErrors(w, http.StatusBadRequest, "send chaos as JSON: "+err.Error())
			return true
		}
		s.SetChaos(c)
		writeJSON(w, http.StatusCreated, c)
	case path == "ledger" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"refunds": s.Ledger()})
	case path == "calls" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.CallReport())
	default:
		return false
	}
	return true
}

// AddTrialOrder adds a paid, unfulfilled USD order for fault trials: two
// lines (19.90, and 2 × 20.00) and 5.00 shipping, 64.90 captured, for Bob.
// Each trial takes its own id, so trials never share an order.
func (s *Sandbox) AddTrialOrder(id uint64, now time.Time) {
	sp := seedOrder{id: id, customer: Bob, currency: "USD", financial: "paid", shipping: "5.00",
		lines: []seedLine{{"Orderdesk Mug", "white", "MUG-WHT", 1, "19.90"}, {"Logo T-Shirt", "M", "TEE-M", 2, "20.00"}}}
	o, txs, events := s.build(int(id%100000), sp, now.Add(-time.Hour))
	s.AddOrder(o, txs, events)
}
