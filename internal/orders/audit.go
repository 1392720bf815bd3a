package orders

import (
	"context"
	"fmt"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

// recordAction puts a final action that went to Shopify on the contact's
// timeline, with its outcome; one entry per action.
func (s *Service) recordAction(ctx context.Context, shop tenant.Shop, a Action, o Order) error {
	ev := TimelineEvent{
		ID: "action:" + a.ID, OrderID: o.ID, OrderName: o.Name, Type: "action." + string(a.Kind),
		OccurredAt: a.CreatedAt, AgentID: a.AgentID, Summary: actionSummary(a),
		Data: map[string]any{"action_id": a.ID, "status": string(a.Status)},
	}
	if a.Reason != "" {
		ev.Data["reason"] = a.Reason
	}
	if a.ErrorCode != "" {
		ev.Data["error_code"] = a.ErrorCode
	}
	if o.Customer != nil {
		ev.CustomerID = o.Customer.ID
	}
	if a.Amount != nil {
		ev.Data["amount"], ev.Data["currency"] = FormatMoney(*a.Amount, a.Currency), a.Currency
	}
	if err := s.store.AddTimelineEvents(ctx, shop.ID, []TimelineEvent{ev}); err != nil {
		return fmt.Errorf("record action %s on the timeline: %w", a.ID, err)
	}
	return nil
}

func actionSummary(a Action) string {
	money := ""
	if a.Amount != nil {
		money = FormatMoney(*a.Amount, a.Currency) + " " + a.Currency
	}
	switch {
	case a.Kind == ActionCancel && money != "":
		return fmt.Sprintf("Cancellation (%s) with refund of %s by agent %s: %s", a.Reason, money, a.AgentID, a.Status)
	case a.Kind == ActionCancel:
		return fmt.Sprintf("Cancellation (%s) by agent %s: %s", a.Reason, a.AgentID, a.Status)
	case money != "":
		return fmt.Sprintf("Refund of %s by agent %s: %s", money, a.AgentID, a.Status)
	default:
		return fmt.Sprintf("Refund by agent %s: %s", a.AgentID, a.Status)
	}
}
