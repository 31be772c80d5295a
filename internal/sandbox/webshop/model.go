package webshop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Customer is a buyer: a person or a company.
type Customer struct {
	ID             int64   `json:"id"`
	Type           string  `json:"type"` // "person" or "company"
	FirstName      string  `json:"first_name"`
	LastName       string  `json:"last_name"`
	CompanyName    string  `json:"company_name"`
	Email          string  `json:"email"`
	Phone          string  `json:"phone"`
	VATNumber      string  `json:"vat_number"`
	BillingAddress Address `json:"billing_address"`
	Stamps
}

// Address is a postal address; Country is an ISO 3166-1 alpha-2 code.
type Address struct {
	Address1 string `json:"address_1"`
	Address2 string `json:"address_2"`
	Postcode string `json:"postcode"`
	City     string `json:"city"`
	State    string `json:"state"`
	Country  string `json:"country"`
}

// Product is something the shop sells.
type Product struct {
	ID          int64  `json:"id"`
	SKU         string `json:"sku"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Price       Money  `json:"price"`
	Active      bool   `json:"active"`
	Stamps
}

// Order is a customer's order with its line items.
type Order struct {
	ID           int64      `json:"id"`
	Number       string     `json:"number"`
	CustomerID   int64      `json:"customer_id"`
	Status       string     `json:"status"`
	Currency     string     `json:"currency"`
	CustomerNote string     `json:"customer_note"`
	PlacedAt     Time       `json:"placed_at"`
	LineItems    []LineItem `json:"line_items"`
	Total        Money      `json:"total"`
	Stamps
}

// LineItem is one line of an order. SKU and Name are the product's when
// the line was written (a later rename of the product leaves them).
type LineItem struct {
	ID        int64  `json:"id"`
	ProductID int64  `json:"product_id"`
	SKU       string `json:"sku"`
	Name      string `json:"name"`
	Quantity  int64  `json:"quantity"`
	Price     Money  `json:"price"`
	Total     Money  `json:"total"`
}

// Stamps are the times every record carries. DeletedAt is set on a
// deleted record, which only a change listing still shows.
type Stamps struct {
	CreatedAt Time  `json:"created_at"`
	UpdatedAt Time  `json:"updated_at"`
	DeletedAt *Time `json:"deleted_at"`
}

func (s *Stamps) stamps() *Stamps { return s }

// Order statuses. An order moves forward only: pending → processing →
// completed, and pending or processing → cancelled; completed and
// cancelled are final.
const (
	StatusPending    = "pending"
	StatusProcessing = "processing"
	StatusCompleted  = "completed"
	StatusCancelled  = "cancelled"
)

var statusRank = map[string]int{StatusPending: 0, StatusProcessing: 1, StatusCompleted: 2, StatusCancelled: 2}

// transitionAllowed reports whether an order may go from one status to
// another (staying is always allowed).
func transitionAllowed(from, to string) bool {
	if from == to {
		return true
	}
	if from == StatusCompleted || from == StatusCancelled {
		return false
	}
	return statusRank[to] > statusRank[from]
}

// TimeLayout is how the webshop writes times: RFC 3339 with the shop's
// offset and milliseconds.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// Time is an instant as the webshop writes it (TimeLayout). It reads any
// RFC 3339 time.
type Time struct{ time.Time }

// MarshalJSON writes the time in TimeLayout.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.Format(TimeLayout) + `"`), nil
}

// UnmarshalJSON reads an RFC 3339 time.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be an RFC 3339 time text, e.g. %q", "2024-01-02T10:11:12.000+01:00")
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("%q is not an RFC 3339 time, e.g. %q", s, "2024-01-02T10:11:12.000+01:00")
	}
	t.Time = v
	return nil
}

// Money is an amount in cents, written as a decimal text with two
// decimals ("12.50"), as shops do to keep amounts exact. It reads such a
// text or a JSON number with at most two decimals.
type Money int64

// MarshalJSON writes "12.50".
func (m Money) MarshalJSON() ([]byte, error) { return []byte(`"` + m.String() + `"`), nil }

func (m Money) String() string {
	sign, v := "", int64(m)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// UnmarshalJSON reads "12.5", "12.50", 12.5 or 12.
func (m *Money) UnmarshalJSON(b []byte) error {
	s := string(bytes.TrimSpace(b))
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	v, err := ParseMoney(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// ParseMoney reads a decimal amount with at most two decimals.
func ParseMoney(s string) (Money, error) {
	bad := fmt.Errorf("must be an amount with at most two decimals, e.g. \"12.50\"; got %s", strconv.Quote(s))
	neg := strings.HasPrefix(s, "-")
	whole, frac, dot := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	if whole == "" || len(whole) > 13 || len(frac) > 2 || (dot && frac == "") || !digits(whole) || !digits(frac) {
		return 0, bad
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	f := int64(0)
	if frac != "" {
		f, _ = strconv.ParseInt(frac, 10, 64)
		if len(frac) == 1 {
			f *= 10
		}
	}
	v := w*100 + f
	if neg {
		v = -v
	}
	return Money(v), nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
