package erp

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
)

// Customer is a debtor.
type Customer struct {
	ID           string `json:"id"`
	Code         string `json:"code"`
	Name         string `json:"name"`
	Email        string `json:"email"`
	Phone        string `json:"phone"`
	Website      string `json:"website"`
	VATNumber    string `json:"vat_number"`
	AddressLine1 string `json:"address_line1"`
	AddressLine2 string `json:"address_line2"`
	Postcode     string `json:"postcode"`
	City         string `json:"city"`
	Country      string `json:"country"`
	Currency     string `json:"currency"`
	Stamps
}

// Contact is a person: at a customer, or one of the company's own
// employees (IsEmployee, CustomerID may then be empty).
type Contact struct {
	ID         string `json:"id"`
	CustomerID Ref    `json:"customer_id"`
	FirstName  string `json:"first_name"`
	LastName   string `json:"last_name"`
	Email      string `json:"email"`
	Phone      string `json:"phone"`
	Mobile     string `json:"mobile"`
	JobTitle   string `json:"job_title"`
	IsEmployee bool   `json:"is_employee"`
	Stamps
}

// Product is an item the company sells.
type Product struct {
	ID          string  `json:"id"`
	ItemNumber  string  `json:"item_number"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Price       float64 `json:"price"`
	Cost        float64 `json:"cost"`
	Unit        string  `json:"unit"`
	VATCode     string  `json:"vat_code"`
	Barcode     string  `json:"barcode"`
	Blocked     bool    `json:"blocked"`
	Stamps
}

// Order is a sales order with its lines.
type Order struct {
	ID           string  `json:"id"`
	Number       string  `json:"number"`
	CustomerID   string  `json:"customer_id"`
	ContactID    Ref     `json:"contact_id"`
	OrderDate    Date    `json:"order_date"`
	DeliveryDate Date    `json:"delivery_date"`
	Reference    string  `json:"reference"`
	Description  string  `json:"description"`
	Currency     string  `json:"currency"`
	Status       string  `json:"status"`
	Lines        []Line  `json:"lines"`
	Total        float64 `json:"total"`
	Stamps
}

// Line is one line of an order, numbered by LineNo within it.
type Line struct {
	LineNo      int     `json:"line_no"`
	ItemID      string  `json:"item_id"` // the product's id; a write may name the item by either
	ItemNumber  string  `json:"item_number"`
	Description string  `json:"description"`
	Qty         float64 `json:"qty"`
	Price       float64 `json:"price"`
	DiscountPct float64 `json:"discount_pct"`
	VATCode     string  `json:"vat_code"`
	Amount      float64 `json:"amount"`
}

// Stamps are the times every record carries, and its deleted flag (always
// false on a record you can read: deleted ones show only as tombstones).
type Stamps struct {
	CreatedAt Time `json:"created_at"`
	UpdatedAt Time `json:"updated_at"`
	Deleted   bool `json:"deleted"`
}

func (s *Stamps) stamps() *Stamps { return s }

// Tombstone is what a change listing shows of a deleted record.
type Tombstone struct {
	ID        string `json:"id"`
	Deleted   bool   `json:"deleted"`
	UpdatedAt Time   `json:"updated_at"`
}

// Order statuses. The ERP does not police how an order moves between
// them, except that an invoiced order can no longer change or go.
const (
	StatusOpen      = "open"
	StatusConfirmed = "confirmed"
	StatusDelivered = "delivered"
	StatusInvoiced  = "invoiced"
	StatusCancelled = "cancelled"
)

var statuses = []string{StatusOpen, StatusConfirmed, StatusDelivered, StatusInvoiced, StatusCancelled}

// VAT codes: standard, reduced, zero-rated, exempt.
var vatCodes = []string{"S", "R", "Z", "E"}

// TimeLayout is how the ERP writes times: UTC, to the second.
const TimeLayout = "2006-01-02T15:04:05Z"

// Time is an instant as the ERP writes it (TimeLayout); it reads any RFC
// 3339 time.
type Time struct{ time.Time }

// MarshalJSON writes the time in TimeLayout.
func (t Time) MarshalJSON() ([]byte, error) {
	return []byte(`"` + t.UTC().Format(TimeLayout) + `"`), nil
}

// UnmarshalJSON reads an RFC 3339 time.
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a time text such as %q", "2024-01-02T09:11:12Z")
	}
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return fmt.Errorf("%q is not a time such as %q", s, "2024-01-02T09:11:12Z")
	}
	t.Time = v.UTC()
	return nil
}

// Date is a calendar date "2006-01-02"; empty is written null.
type Date string

// MarshalJSON writes the date, or null when empty.
func (d Date) MarshalJSON() ([]byte, error) {
	if d == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(d))
}

// UnmarshalJSON reads "2006-01-02" (or null: no date).
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be a date text such as %q", "2024-01-31")
	}
	if s != "" {
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return fmt.Errorf("%q is not a date such as %q", s, "2024-01-31")
		}
	}
	*d = Date(s)
	return nil
}

// Ref is the id of another record, or empty (written null) for none.
type Ref string

// MarshalJSON writes the id, or null when empty.
func (r Ref) MarshalJSON() ([]byte, error) {
	if r == "" {
		return []byte("null"), nil
	}
	return json.Marshal(string(r))
}

// UnmarshalJSON reads an id text.
func (r *Ref) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("must be an id text or null")
	}
	*r = Ref(s)
	return nil
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }
