package orders

import "errors"

// Sentinel errors of the domain. Adapters wrap them with %w; the API maps
// them to HTTP statuses and problem codes in one table.
var (
	// ErrNotFound: no such order for this shop.
	ErrNotFound = errors.New("not found")
	// ErrShopifyUnavailable: Shopify failed (5xx, network) after retries.
	ErrShopifyUnavailable = errors.New("shopify unavailable")
	// ErrShopifyTimeout: Shopify gave no answer in time.
	ErrShopifyTimeout = errors.New("shopify timeout")
	// ErrShopifyAuth: the shop's access token was refused (revoked or wrong).
	ErrShopifyAuth = errors.New("shopify refused the access token")
	// ErrShopifyRateLimited: Shopify kept throttling past the retry budget.
	ErrShopifyRateLimited = errors.New("shopify rate limited")
	// ErrInvalidInput: a request value breaks a rule; see ValidationError.
	ErrInvalidInput = errors.New("invalid input")
	// ErrSyncRunMoved: a backfill's batch does not follow the stored
	// progress of the shop's run (another sync of the shop moved it): the
	// run stops, and resumes from what is stored when started again.
	ErrSyncRunMoved = errors.New("the shop's stored backfill progress is not where this batch follows")
)

// FieldError names one invalid field of a request.
type FieldError struct {
	Field   string
	Message string
}

// ValidationError carries the field errors of an invalid request. It
// matches ErrInvalidInput with errors.Is.
type ValidationError struct {
	Code   string
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	if len(e.Fields) == 0 {
		return "invalid input"
	}
	return "invalid input: " + e.Fields[0].Field + ": " + e.Fields[0].Message
}

// Is makes errors.Is(err, ErrInvalidInput) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidInput }

// ErrRuleViolation: the rules refuse the action in the order's current
// state; see RuleError for which rule.
var ErrRuleViolation = errors.New("refused by the rules")

// ErrActionInProgress: another action is running on the same order.
var ErrActionInProgress = errors.New("another action is in progress on this order")

// ErrShopifyRejected: Shopify refused a mutation (userErrors) for a reason
// the rules did not foresee.
var ErrShopifyRejected = errors.New("shopify refused the change")

// RuleError says which rule refused an action. It matches ErrRuleViolation.
type RuleError struct {
	Reason BlockedReason
	Detail string
}

func (e *RuleError) Error() string { return string(e.Reason) + ": " + e.Detail }

// Is makes errors.Is(err, ErrRuleViolation) true.
func (e *RuleError) Is(target error) bool { return target == ErrRuleViolation }

var ruleDetails = map[BlockedReason]string{
	BlockedAlreadyCancelled: "the order is already cancelled",
	BlockedOrderFulfilled:   "the order has shipped items; Shopify cannot cancel it (refund instead)",
	BlockedNotPaid:          "no payment has been captured on this order",
	BlockedNothingToRefund:  "everything paid on this order has been refunded or voided",
	BlockedReturnRequired:   "the refund touches shipped items: set return to \"received\" or \"not_required\"",
}

func ruleError(r BlockedReason) error { return &RuleError{Reason: r, Detail: ruleDetails[r]} }
