package orders

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// DefaultPhoneRegion is the country assumed for a phone number written
// without a country code when the deployment names none
// (ORDERDESK_PHONE_REGION). orderdesk does not read the shop's own country
// from Shopify, so the deployment says it.
const DefaultPhoneRegion = "US"

// NormalizePhone returns the E.164 form ("+13125551212") of a phone number
// written in any common notation: "+1 312 555 1212", "(312) 555-1212",
// "3125551212", "001 312 555 1212". region (ISO 3166-1 alpha-2) is the
// country of a number written without a country code. ok is false when raw
// is not a possible phone number of any country: orderdesk stores and
// compares only numbers, so "abc" or "12" match nothing.
func NormalizePhone(raw, region string) (e164 string, ok bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 64 {
		return "", false
	}
	n, err := phonenumbers.Parse(raw, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsPossibleNumber(n) {
		return "", false
	}
	return phonenumbers.Format(n, phonenumbers.E164), true
}
