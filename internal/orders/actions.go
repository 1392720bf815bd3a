package orders

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// ActionKind is what an agent did.
type ActionKind string

// Action kinds.
const (
	ActionCancel ActionKind = "cancel"
	ActionRefund ActionKind = "refund"
)

// ActionStatus is an action's outcome.
type ActionStatus string

// Action outcomes. Pending: still being carried out, including a Shopify
// call without a definite answer; the action's job settles it. Succeeded
// and failed are final: failed means it definitely did nothing more, or
// Shopify (or the rules) said no.
const (
	ActionPending   ActionStatus = "pending"
	ActionSucceeded ActionStatus = "succeeded"
	ActionFailed    ActionStatus = "failed"
)

// Final reports whether the status is an outcome that never changes again.
func (s ActionStatus) Final() bool { return s == ActionSucceeded || s == ActionFailed }

// Action is one cancel or refund attempt and what came of it.
type Action struct {
	ID       string
	ShopID   int64
	OrderID  int64
	Kind     ActionKind
	Status   ActionStatus
	AgentID  string
	Reason   string
	Amount   *decimal.Decimal // the money the action refunds, once known
	Currency string
	// Request is the agent's request, as JSON, for the audit trail.
	Request []byte
	// RefundRequested: the agent asked for money back (a refund, or a
	// cancellation with refund mode full or amount).
	RefundRequested bool
	// Plan is the parsed request the action's job carries out.
	Plan ActionPlan
	// CancelInput and RefundInput are written ahead: the exact Shopify
	// input of each part, stored before it is first sent. A resume sends
	// exactly the stored input again (the refund under RefundKey).
	CancelInput *CancelCommand
	RefundInput *RefundCommand
	RefundKey   string
	// CancelAttempts and RefundAttempts count the calls sent to Shopify
	// (incremented and saved before each call): zero means never sent.
	CancelAttempts int
	RefundAttempts int
	// Executions counts the runs of the action's job (request, job, sweep).
	Executions int
	// CancelDone and RefundDone record the parts Shopify carried out.
	CancelDone      bool
	RefundDone      bool
	ShopifyRefundID *int64
	ShopifyJobID    string
	// ErrorCode is the stable code of a failure (already_cancelled,
	// amount_too_large, shopify_rejected, ...); Error says it in words.
	ErrorCode   string
	Error       string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt *time.Time
}

// ActionPlan is what the agent asked for, as the domain reads it: exactly
// one of Cancel and Refund.
type ActionPlan struct {
	Cancel *CancelRequest `json:"cancel,omitempty"`
	Refund *RefundRequest `json:"refund,omitempty"`
}

// SentToShopify reports whether any part of the action was ever sent.
func (a Action) SentToShopify() bool { return a.CancelAttempts > 0 || a.RefundAttempts > 0 }

// Reason is a Shopify cancellation reason with its label.
type Reason struct {
	Code  string
	Label string
}

// CancelReasons are Shopify's reasons, in the order the CRM shows them.
var CancelReasons = []Reason{
	{"customer", "Customer changed or cancelled the order"},
	{"inventory", "Items unavailable"},
	{"fraud", "Fraudulent order"},
	{"declined", "Payment declined"},
	{"staff", "Staff error"},
	{"other", "Other"},
}

// RefundMode says whether cancelling also refunds.
type RefundMode string

// Refund modes of a cancellation.
const (
	RefundNone   RefundMode = "none"
	RefundFull   RefundMode = "full"
	RefundAmount RefundMode = "amount"
)

// CancelRequest is an agent's cancellation.
type CancelRequest struct {
	Reason         string           `json:"reason"`
	RefundMode     RefundMode       `json:"refund_mode"`
	Amount         *decimal.Decimal `json:"amount,omitempty"`
	Restock        bool             `json:"restock"`
	NotifyCustomer bool             `json:"notify_customer"`
	StaffNote      string           `json:"staff_note,omitempty"`
}

// ReturnState says whether shipped items came back.
type ReturnState string

// Return states for refunds touching shipped items.
const (
	ReturnNone        ReturnState = ""
	ReturnReceived    ReturnState = "received"
	ReturnNotRequired ReturnState = "not_required"
)

// RefundRequest is an agent's refund: an amount, or line items and/or shipping.
type RefundRequest struct {
	Amount         *decimal.Decimal `json:"amount,omitempty"`
	LineItems      []RefundLine     `json:"line_items,omitempty"`
	Shipping       *ShippingRefund  `json:"shipping,omitempty"`
	Note           string           `json:"note,omitempty"`
	NotifyCustomer bool             `json:"notify_customer"`
	Return         ReturnState      `json:"return,omitempty"`
}

// RefundLine refunds a quantity of a line item.
type RefundLine struct {
	LineItemID int64 `json:"line_item_id"`
	Quantity   int   `json:"quantity"`
	Restock    bool  `json:"restock"`
}

// ShippingRefund refunds shipping, all of it or an amount.
type ShippingRefund struct {
	Full   bool             `json:"full"`
	Amount *decimal.Decimal `json:"amount,omitempty"`
}

// Validate checks what can be checked without the order.
func (r CancelRequest) Validate() error {
	var fields []FieldError
	if !slices.ContainsFunc(CancelReasons, func(x Reason) bool { return x.Code == r.Reason }) {
		return &ValidationError{Code: "invalid_reason", Fields: []FieldError{{"reason", "must be one of customer, inventory, fraud, declined, staff, other"}}}
	}
	switch r.RefundMode {
	case RefundNone, RefundFull:
		if r.Amount != nil {
			fields = append(fields, FieldError{"refund.amount", "is only allowed with mode \"amount\""})
		}
	case RefundAmount:
		if r.Amount == nil {
			fields = append(fields, FieldError{"refund.amount", "is required with mode \"amount\""})
		}
	default:
		fields = append(fields, FieldError{"refund.mode", "must be none, full or amount"})
	}
	if n := utf8.RuneCountInString(r.StaffNote); n > MaxStaffNote {
		return &ValidationError{Code: "invalid_staff_note", Fields: []FieldError{{"staff_note", fmt.Sprintf(
			"must be at most %d characters (Shopify takes %d, orderdesk adds its action marker); this one has %d", MaxStaffNote, shopifyStaffNoteLimit, n)}}}
	}
	if len(fields) > 0 {
		return &ValidationError{Code: "invalid_refund", Fields: fields}
	}
	return nil
}

// Validate checks what can be checked without the order.
func (r RefundRequest) Validate() error {
	hasItems := len(r.LineItems) > 0 || r.Shipping != nil
	switch {
	case r.Amount != nil && hasItems:
		return &ValidationError{Code: "invalid_refund", Fields: []FieldError{{"amount", "give an amount, or line_items and/or shipping, not both"}}}
	case r.Amount == nil && !hasItems:
		return &ValidationError{Code: "invalid_refund", Fields: []FieldError{{"amount", "give an amount, or line_items and/or shipping"}}}
	}
	switch r.Return {
	case ReturnNone, ReturnReceived, ReturnNotRequired:
	default:
		return &ValidationError{Code: "invalid_return", Fields: []FieldError{{"return", "must be received or not_required"}}}
	}
	seen := map[int64]bool{}
	for i, l := range r.LineItems {
		if l.Quantity < 1 {
			return &ValidationError{Code: "invalid_quantity", Fields: []FieldError{{fmt.Sprintf("line_items[%d].quantity", i), "must be at least 1"}}}
		}
		if seen[l.LineItemID] {
			return &ValidationError{Code: "invalid_line_item", Fields: []FieldError{{fmt.Sprintf("line_items[%d].line_item_id", i), "appears twice"}}}
		}
		seen[l.LineItemID] = true
	}
	if s := r.Shipping; s != nil && s.Full == (s.Amount != nil) {
		return &ValidationError{Code: "invalid_refund", Fields: []FieldError{{"shipping", "give either full: true or an amount"}}}
	}
	if len(r.Note) > 5000 {
		return &ValidationError{Code: "invalid_refund", Fields: []FieldError{{"note", "must be at most 5000 characters"}}}
	}
	return nil
}

// checkAmount enforces 0 < amount <= refundable with the currency's decimals.
func checkAmount(field string, amount, refundable decimal.Decimal, currency string) error {
	scale := CurrencyScale(currency)
	switch {
	case !amount.IsPositive():
		return &ValidationError{Code: "invalid_amount", Fields: []FieldError{{field, "must be greater than zero"}}}
	case !amount.Equal(amount.Truncate(scale)):
		return &ValidationError{Code: "invalid_amount", Fields: []FieldError{{field, fmt.Sprintf("%s takes at most %d decimals", currency, scale)}}}
	case amount.GreaterThan(refundable):
		return &ValidationError{Code: "amount_too_large", Fields: []FieldError{{field, fmt.Sprintf("at most %s %s can be refunded", FormatMoney(refundable, currency), currency)}}}
	}
	return nil
}

// CancelPreview is what the CRM shows before an agent cancels.
type CancelPreview struct {
	OrderID         int64
	Cancellable     bool
	BlockedReason   BlockedReason
	Reasons         []Reason
	LineItems       []LineItem
	RefundAvailable bool
	RefundModes     []RefundMode
	MaxAmount       decimal.Decimal
	Currency        string
	RestockDefault  bool
}

// PreviewCancel summarises a cancellation of o.
func PreviewCancel(o Order) CancelPreview {
	p := CancelPreview{
		OrderID:         o.ID,
		Cancellable:     o.Actions.Cancel.Allowed,
		BlockedReason:   o.Actions.Cancel.BlockedReason,
		Reasons:         CancelReasons,
		LineItems:       o.LineItems,
		RefundAvailable: o.Actions.Cancel.Allowed && o.Actions.Cancel.RefundAvailable,
		RefundModes:     []RefundMode{RefundNone},
		MaxAmount:       decimal.Zero,
		Currency:        o.Currency,
		// Nothing shipped when an order can be cancelled: put it all back.
		RestockDefault: o.Actions.Cancel.Allowed,
	}
	if p.RefundAvailable {
		p.RefundModes = []RefundMode{RefundNone, RefundFull, RefundAmount}
		p.MaxAmount = o.Refundable
	}
	return p
}

// RefundPreview is what the CRM shows before an agent refunds.
type RefundPreview struct {
	OrderID        int64
	Refundable     bool
	BlockedReason  BlockedReason
	MaxAmount      decimal.Decimal
	Currency       string
	RequiresReturn bool
	LineItems      []RefundableLine
	Shipping       decimal.Decimal
}

// RefundableLine is a line item that can still be refunded.
type RefundableLine struct {
	LineItemID int64
	Title      string
	Quantity   int // still refundable
	Price      decimal.Decimal
	Shipped    bool // refunding it needs return "received" or "not_required"
}

// PreviewRefund summarises what can be refunded on o.
func PreviewRefund(o Order) RefundPreview {
	p := RefundPreview{
		OrderID:        o.ID,
		Refundable:     o.Actions.Refund.Allowed,
		BlockedReason:  o.Actions.Refund.BlockedReason,
		MaxAmount:      o.Actions.Refund.MaxAmount,
		Currency:       o.Currency,
		RequiresReturn: o.Actions.Refund.RequiresReturn,
		LineItems:      []RefundableLine{},
		Shipping:       decimal.Zero,
	}
	if !p.Refundable {
		return p
	}
	for _, li := range o.LineItems {
		if left := li.Quantity - li.RefundedQuantity; left > 0 {
			p.LineItems = append(p.LineItems, RefundableLine{LineItemID: li.ID, Title: li.Title, Quantity: left, Price: li.Price, Shipped: li.FulfilledQuantity > li.RefundedQuantity})
		}
	}
	p.Shipping = decimal.Min(shippingLeft(o), o.Refundable)
	return p
}

// shippingLeft is the shipping charged (after shipping discounts: a
// free-shipping code leaves nothing to refund) minus shipping already
// refunded.
func shippingLeft(o Order) decimal.Decimal {
	left := o.TotalShipping
	for _, r := range o.Source.Refunds {
		for _, a := range r.Adjustments {
			if a.Kind == "shipping_refund" {
				left = left.Add(a.Amount) // Shopify records shipping refunds as negative adjustments
			}
		}
	}
	return decimal.Max(decimal.Zero, left)
}

// RefundTransaction is the part of a refund taken from one parent payment.
// ParentID is zero when Shopify's suggestion names no parent transaction.
type RefundTransaction struct {
	ParentID int64           `json:"parent_id,omitempty"`
	Amount   decimal.Decimal `json:"amount"`
	Gateway  string          `json:"gateway"`
}

// allocate spreads amount over the order's sale and capture transactions,
// oldest first, each up to what is left of it after earlier refunds.
func allocate(o Order, amount decimal.Decimal) ([]RefundTransaction, error) {
	used := map[int64]decimal.Decimal{}
	for _, t := range o.Source.Transactions {
		if t.Kind == "refund" && t.Status == "success" && t.ParentID != nil {
			used[*t.ParentID] = used[*t.ParentID].Add(t.Amount)
		}
	}
	parents := slices.Clone(o.Source.Transactions)
	slices.SortStableFunc(parents, func(a, b ShopifyTransaction) int { return a.CreatedAt.Compare(b.CreatedAt) })
	left := amount
	var out []RefundTransaction
	for _, t := range parents {
		if left.IsZero() {
			break
		}
		if t.Status != "success" || (t.Kind != "sale" && t.Kind != "capture") {
			continue
		}
		avail := t.Amount.Sub(used[t.ID])
		if !avail.IsPositive() {
			continue
		}
		take := decimal.Min(avail, left)
		out = append(out, RefundTransaction{ParentID: t.ID, Amount: take, Gateway: t.Gateway})
		left = left.Sub(take)
	}
	if left.IsPositive() {
		return nil, &ValidationError{Code: "amount_too_large", Fields: []FieldError{{"amount", "exceeds what the order's payments can return"}}}
	}
	return out, nil
}
