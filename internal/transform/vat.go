package transform

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
)

// VAT categories: the ERP kind of VAT code (the reference ERP's S, R, Z, E)
// from the rates CRMs keep (WebCRM's QuotationLineVatPercentage, a product's
// "25%"):
//
//	vat_category(25) == "S"     vat_category("25 %") == "S"
//	vat_category(12) == "R"     vat_category("0") == "Z"     vat_category("e") == "E"
//
// A rate of StandardVATMin percent or more is the standard rate: every
// standard rate in the EU and the Nordics is 17 % or more, and every reduced
// one below. A category already (S, R, Z, E in any case) stays that
// category; anything else passes through unchanged, so that the target
// system's refusal names the value instead of the table hiding it.

// StandardVATMin is the lowest rate (in percent) vat_category takes for a
// standard rate.
const StandardVATMin = 17

func init() {
	helpers = append(helpers,
		expr.Function("vat_category", func(args ...any) (any, error) { return VATCategory(args[0]), nil },
			new(func(any) any)),
	)
}

// VATCategory returns the VAT category (S, R, Z or E) of a rate or a
// category, or the value unchanged when it is neither. Empty gives nil.
func VATCategory(v any) any {
	if IsEmpty(v) {
		return nil
	}
	var rate float64
	switch x := v.(type) {
	case float64:
		rate = x
	case int:
		rate = float64(x)
	case int64:
		rate = float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return v
		}
		rate = f
	case string:
		s := strings.ToUpper(strings.TrimSpace(x))
		switch s {
		case "S", "R", "Z", "E":
			return s
		}
		s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
		f, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64)
		if err != nil {
			return v
		}
		rate = f
	default:
		return v
	}
	switch {
	case rate < 0 || math.IsNaN(rate) || math.IsInf(rate, 0):
		return v
	case rate == 0:
		return "Z"
	case rate >= StandardVATMin:
		return "S"
	}
	return "R"
}
