package orders

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestAllocateAcrossParents(t *testing.T) {
	t.Parallel()
	at := func(m int) time.Time { return time.Date(2026, 11, 1, 10, m, 0, 0, time.UTC) }
	parent := func(id int64) *int64 { return &id }
	src := facts(financial("partially_refunded"), func(o *ShopifyOrder) {
		o.Transactions = []ShopifyTransaction{
			{ID: 2, Kind: "capture", Status: "success", Gateway: "shopify_payments", Amount: d("60.00"), CreatedAt: at(2)},
			{ID: 1, Kind: "sale", Status: "success", Gateway: "gift_card", Amount: d("30.00"), CreatedAt: at(1)},
			{ID: 3, Kind: "sale", Status: "failure", Gateway: "paypal", Amount: d("99.00"), CreatedAt: at(3)},
			{ID: 4, Kind: "refund", Status: "success", Gateway: "gift_card", Amount: d("20.00"), ParentID: parent(1), CreatedAt: at(4)},
		}
	})
	o := Build(src, time.Now())
	tests := []struct {
		amount string
		want   string
	}{
		{"5.00", "[{1 5 gift_card}]"},
		{"10.00", "[{1 10 gift_card}]"},
		{"25.00", "[{1 10 gift_card} {2 15 shopify_payments}]"},
		{"70.00", "[{1 10 gift_card} {2 60 shopify_payments}]"},
	}
	for _, tt := range tests {
		got, err := allocate(o, d(tt.amount))
		if err != nil {
			t.Fatalf("%s: %v", tt.amount, err)
		}
		if s := fmt.Sprint(got); s != tt.want {
			t.Errorf("allocate(%s) = %s, want %s", tt.amount, s, tt.want)
		}
	}
	if _, err := allocate(o, d("70.01")); !errors.Is(err, ErrInvalidInput) {
		t.Errorf("over-allocation: err = %v", err)
	}
}

func TestCheckAmount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		amount, max, currency, code string
	}{
		{"10.00", "10.00", "USD", ""},
		{"10.001", "20", "USD", "invalid_amount"},
		{"100.5", "3500", "JPY", "invalid_amount"},
		{"1.234", "5", "KWD", ""},
		{"0", "5", "USD", "invalid_amount"},
		{"-1", "5", "USD", "invalid_amount"},
		{"10.01", "10.00", "USD", "amount_too_large"},
	}
	for _, tt := range tests {
		err := checkAmount("amount", d(tt.amount), d(tt.max), tt.currency)
		var verr *ValidationError
		switch {
		case tt.code == "" && err != nil:
			t.Errorf("%s %s: %v", tt.amount, tt.currency, err)
		case tt.code != "" && (!errors.As(err, &verr) || verr.Code != tt.code):
			t.Errorf("%s %s: err = %v, want %s", tt.amount, tt.currency, err, tt.code)
		}
	}
}

func TestRequestValidation(t *testing.T) {
	t.Parallel()
	amount := d("1")
	cancel := []struct {
		req  CancelRequest
		code string
	}{
		{CancelRequest{Reason: "customer", RefundMode: RefundNone}, ""},
		{CancelRequest{Reason: "bored", RefundMode: RefundNone}, "invalid_reason"},
		{CancelRequest{Reason: "fraud", RefundMode: RefundAmount}, "invalid_refund"},
		{CancelRequest{Reason: "fraud", RefundMode: RefundFull, Amount: &amount}, "invalid_refund"},
		{CancelRequest{Reason: "fraud", RefundMode: "some"}, "invalid_refund"},
	}
	for _, tt := range cancel {
		if got := codeOf(tt.req.Validate()); got != tt.code {
			t.Errorf("%+v: code %q, want %q", tt.req, got, tt.code)
		}
	}
	refund := []struct {
		req  RefundRequest
		code string
	}{
		{RefundRequest{Amount: &amount}, ""},
		{RefundRequest{}, "invalid_refund"},
		{RefundRequest{Amount: &amount, LineItems: []RefundLine{{LineItemID: 1, Quantity: 1}}}, "invalid_refund"},
		{RefundRequest{LineItems: []RefundLine{{LineItemID: 1, Quantity: 0}}}, "invalid_quantity"},
		{RefundRequest{LineItems: []RefundLine{{LineItemID: 1, Quantity: 1}, {LineItemID: 1, Quantity: 1}}}, "invalid_line_item"},
		{RefundRequest{Shipping: &ShippingRefund{}}, "invalid_refund"},
		{RefundRequest{Shipping: &ShippingRefund{Full: true, Amount: &amount}}, "invalid_refund"},
		{RefundRequest{Amount: &amount, Return: "later"}, "invalid_return"},
	}
	for _, tt := range refund {
		if got := codeOf(tt.req.Validate()); got != tt.code {
			t.Errorf("%+v: code %q, want %q", tt.req, got, tt.code)
		}
	}
}

func codeOf(err error) string {
	var verr *ValidationError
	if errors.As(err, &verr) {
		return verr.Code
	}
	if err != nil {
		return "other"
	}
	return ""
}
