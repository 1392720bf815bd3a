package shopify

import (
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/tidwall/gjson"
)

// The export's JSONL decoding. A 20,015-order export is 60,077 lines, and
// decoding them with encoding/json into the generated types was most of
// the read's CPU: every line was scanned twice (once for its id and
// __parentId, once into its node type), and genqlient's UnmarshalJSON of
// each type that embeds a fragment (every MoneyBag, every transaction)
// decodes its bytes twice more (the fields, then the fragment). Here a
// line's id and __parentId are picked out without decoding it (gjson),
// and the line is decoded once by go-json-experiment's json (v2), with the
// fragment-embedding types decoded straight into their fragment. The
// types are the generated ones, so a reassembled order is exactly what
// the paged reads decode (TestBulkDecodeMatchesGenerated); a generated
// type missing from bulkUnmarshalers still decodes, through its own
// UnmarshalJSON, only slower.

// bulkDecoder decodes export lines into the generated types.
type bulkDecoder struct{ opts json.Options }

func newBulkDecoder() bulkDecoder {
	return bulkDecoder{opts: json.JoinOptions(bulkAsEncodingJSON, json.WithUnmarshalers(json.JoinUnmarshalers(
		intoFragment(func(v *OrderFactsTotalPriceSetMoneyBag) *Money { return &v.Money }),
		intoFragment(func(v *OrderFactsSubtotalPriceSetMoneyBag) *Money { return &v.Money }),
		intoFragment(func(v *OrderFactsTotalTaxSetMoneyBag) *Money { return &v.Money }),
		intoFragment(func(v *OrderFactsTotalDiscountsSetMoneyBag) *Money { return &v.Money }),
		intoFragment(func(v *OrderFactsTotalShippingPriceSetMoneyBag) *Money { return &v.Money }),
		intoFragment(func(v *OrderFactsTotalRefundedShippingSetMoneyBag) *Money { return &v.Money }),
		intoFragment(func(v *OrderFactsLineItemsLineItemConnectionNodesLineItemOriginalUnitPriceSetMoneyBag) *Money {
			return &v.Money
		}),
		intoFragment(func(v *OrderFactsShippingLinesShippingLineConnectionNodesShippingLineOriginalPriceSetMoneyBag) *Money {
			return &v.Money
		}),
		intoFragment(func(v *OrderFactsShippingLinesShippingLineConnectionNodesShippingLineDiscountedPriceSetMoneyBag) *Money {
			return &v.Money
		}),
		intoFragment(func(v *OrderFactsRefundsRefundRefundShippingLinesRefundShippingLineConnectionNodesRefundShippingLineSubtotalAmountSetMoneyBag) *Money {
			return &v.Money
		}),
		intoFragment(func(v *TransactionAmountSetMoneyBag) *Money { return &v.Money }),
		intoFragment(func(v *OrderFactsTransactionsOrderTransaction) *Transaction { return &v.Transaction }),
		intoFragment(func(v *OrderFactsRefundsRefundTransactionsOrderTransactionConnectionNodesOrderTransaction) *Transaction {
			return &v.Transaction
		}),
	)))}
}

// bulkAsEncodingJSON are the v2 options that read a line as encoding/json
// (the paged reads' decoder) does, where v2's defaults are stricter: a
// string with invalid UTF-8 or a lone surrogate escape (a customer's name
// cut in the middle of an emoji) has U+FFFD in its place instead of failing
// the line, and with it the whole backfill at the same line on every
// resume; a name given twice takes the last value; names match whatever
// their case (and only their case).
var bulkAsEncodingJSON = json.JoinOptions(
	jsontext.AllowInvalidUTF8(true),
	jsontext.AllowDuplicateNames(true),
	json.MatchCaseInsensitiveNames(true),
	jsonv1.MatchCaseSensitiveDelimiter(true), // "currency_code" is not currencyCode
)

// decode decodes one line (or value) into v.
func (d bulkDecoder) decode(line []byte, v any) error {
	return json.Unmarshal(line, v, d.opts)
}

// intoFragment decodes a generated type that only embeds a fragment (its
// UnmarshalJSON decodes the same bytes twice) straight into the fragment.
// null leaves it zero, as the generated method does.
func intoFragment[T, F any](fragment func(*T) *F) *json.Unmarshalers {
	return json.UnmarshalFromFunc(func(dec *jsontext.Decoder, v *T) error {
		if dec.PeekKind() == 'n' {
			_, err := dec.ReadToken()
			return err
		}
		return json.UnmarshalDecode(dec, fragment(v))
	})
}

// lineHead is a line's id and __parentId ("" when absent), read without
// decoding the line.
func lineHead(line []byte) (id, parent string) {
	r := gjson.GetManyBytes(line, "id", "__parentId")
	return r[0].String(), r[1].String()
}
