package erp

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/concordsync/concord/internal/sandbox/custom"
)

// The ERP's rules, applied alike to API writes and to the user helpers.
// A check validates a record after the body was bound onto an empty one
// (old is the stored version, nil on create), fills in defaults and what
// is derived, and returns the first thing wrong.

func (s *Server) collections() map[string]collection {
	return map[string]collection{
		"customers": &resource[Customer, *Customer]{
			singular: "customer", table: s.customers,
			id:        func(c *Customer) *string { return &c.ID },
			check:     s.checkCustomer,
			deletable: s.customerDeletable,
			filters: map[string]func(*Customer, string) bool{
				"code":  func(c *Customer, v string) bool { return strings.EqualFold(c.Code, v) },
				"email": func(c *Customer, v string) bool { return strings.EqualFold(c.Email, v) },
			},
		},
		"contacts": &resource[Contact, *Contact]{
			singular: "contact", table: s.contacts,
			id:        func(c *Contact) *string { return &c.ID },
			check:     s.checkContact,
			deletable: s.contactDeletable,
			filters: map[string]func(*Contact, string) bool{
				"customer_id": func(c *Contact, v string) bool { return string(c.CustomerID) == v },
				"email":       func(c *Contact, v string) bool { return strings.EqualFold(c.Email, v) },
				"is_employee": func(c *Contact, v string) bool { return fmt.Sprint(c.IsEmployee) == v },
			},
		},
		"products": &resource[Product, *Product]{
			singular: "product", table: s.products,
			id:        func(p *Product) *string { return &p.ID },
			check:     s.checkProduct,
			deletable: s.productDeletable,
			filters: map[string]func(*Product, string) bool{
				"item_number": func(p *Product, v string) bool { return strings.EqualFold(p.ItemNumber, v) },
			},
		},
		"orders": &resource[Order, *Order]{
			singular: "order", table: s.orders,
			readOnly: []string{"total", "lines"}, // lines are bound by checkOrder
			id:       func(o *Order) *string { return &o.ID },
			clone:    func(o Order) Order { o.Lines = slices.Clone(o.Lines); return o },
			check:    s.checkOrder,
			deletable: func(_ string, o *Order) *apiError {
				if o.Status == StatusInvoiced {
					return conflict("order %s is invoiced: it cannot be deleted", o.Number)
				}
				return nil
			},
			filters: map[string]func(*Order, string) bool{
				"number":      func(o *Order, v string) bool { return strings.EqualFold(o.Number, v) },
				"customer_id": func(o *Order, v string) bool { return o.CustomerID == v },
				"status":      func(o *Order, v string) bool { return o.Status == v },
			},
		},
	}
}

func (s *Server) checkCustomer(c, old *Customer, _ custom.Object) *custom.FieldError {
	trim(&c.Code, &c.Name, &c.Email, &c.Phone, &c.Website, &c.VATNumber, &c.Country, &c.Currency)
	if c.Code == "" {
		if old != nil {
			return custom.Required("code")
		}
		c.Code = s.nextCode("customer", "C%05d", func(code string) bool { return s.customerCodeTaken(code, "") })
	} else if s.customerCodeTaken(c.Code, c.ID) {
		return &custom.FieldError{Field: "code", Code: "taken", Message: fmt.Sprintf("%q is taken by another customer", c.Code)}
	}
	if c.Name == "" {
		return custom.Required("name")
	}
	if c.Email != "" && !strings.Contains(c.Email, "@") {
		return custom.Invalid("email", "%q is not an e-mail address", c.Email)
	}
	if fe := code(&c.Country, 2, "country", "an ISO 3166-1 alpha-2 code such as NL"); fe != nil {
		return fe
	}
	if c.Currency == "" {
		c.Currency = "EUR"
	}
	return code(&c.Currency, 3, "currency", "an ISO 4217 code such as EUR")
}

func (s *Server) customerCodeTaken(code, except string) bool {
	return len(s.customers.Find(func(o *Customer) bool { return o.ID != except && strings.EqualFold(o.Code, code) })) > 0
}

func (s *Server) customerDeletable(id string, c *Customer) *apiError {
	if n := len(s.contacts.Find(func(o *Contact) bool { return string(o.CustomerID) == id })); n > 0 {
		return conflict("customer %s has %d contacts: delete them first", c.Code, n)
	}
	if n := len(s.orders.Find(func(o *Order) bool { return o.CustomerID == id })); n > 0 {
		return conflict("customer %s has %d orders: delete them first", c.Code, n)
	}
	return nil
}

func (s *Server) checkContact(c, _ *Contact, _ custom.Object) *custom.FieldError {
	trim(&c.FirstName, &c.LastName, &c.Email, &c.Phone, &c.Mobile, &c.JobTitle)
	c.CustomerID = Ref(strings.TrimSpace(string(c.CustomerID)))
	switch {
	case c.CustomerID == "" && !c.IsEmployee:
		return &custom.FieldError{Field: "customer_id", Code: "required", Message: "is required unless the contact is an employee (is_employee)"}
	case c.CustomerID != "" && s.customers.Live(string(c.CustomerID)) == nil:
		return &custom.FieldError{Field: "customer_id", Code: "not_found", Message: fmt.Sprintf("no customer with id %q", c.CustomerID)}
	}
	if c.LastName == "" {
		return custom.Required("last_name")
	}
	if c.Email != "" && !strings.Contains(c.Email, "@") {
		return custom.Invalid("email", "%q is not an e-mail address", c.Email)
	}
	return nil
}

func (s *Server) contactDeletable(id string, _ *Contact) *apiError {
	if n := len(s.orders.Find(func(o *Order) bool { return string(o.ContactID) == id })); n > 0 {
		return conflict("contact %s is the contact of %d orders: change or delete them first", id, n)
	}
	return nil
}

func (s *Server) checkProduct(p, old *Product, _ custom.Object) *custom.FieldError {
	trim(&p.ItemNumber, &p.Name, &p.Unit, &p.VATCode, &p.Barcode)
	switch {
	case p.ItemNumber == "":
		return custom.Required("item_number")
	case old != nil && !strings.EqualFold(p.ItemNumber, old.ItemNumber) && s.orderWith(old.ItemNumber) != "":
		return &custom.FieldError{Field: "item_number", Code: "frozen", Message: fmt.Sprintf("cannot change: %s is on order %s", old.ItemNumber, s.orderWith(old.ItemNumber))}
	case len(s.products.Find(func(o *Product) bool { return o.ID != p.ID && strings.EqualFold(o.ItemNumber, p.ItemNumber) })) > 0:
		return &custom.FieldError{Field: "item_number", Code: "taken", Message: fmt.Sprintf("%q is taken by another product", p.ItemNumber)}
	case p.Name == "":
		return custom.Required("name")
	case p.Price < 0:
		return custom.Invalid("price", "must not be negative")
	case p.Cost < 0:
		return custom.Invalid("cost", "must not be negative")
	}
	if p.Unit == "" {
		p.Unit = "pcs"
	}
	if p.VATCode == "" {
		p.VATCode = "S"
	}
	p.VATCode = strings.ToUpper(p.VATCode)
	if !slices.Contains(vatCodes, p.VATCode) {
		return custom.Invalid("vat_code", "must be S (standard), R (reduced), Z (zero) or E (exempt), not %q", p.VATCode)
	}
	return nil
}

func (s *Server) productDeletable(_ string, p *Product) *apiError {
	if n := s.orderWith(p.ItemNumber); n != "" {
		return conflict("product %s is on order %s: it cannot be deleted (block it instead)", p.ItemNumber, n)
	}
	return nil
}

// orderWith is the number of a live order that has a line of the item,
// or "".
func (s *Server) orderWith(itemNumber string) string {
	for _, o := range s.orders.Find(func(*Order) bool { return true }) {
		for _, l := range o.Rec.Lines {
			if strings.EqualFold(l.ItemNumber, itemNumber) {
				return o.Rec.Number
			}
		}
	}
	return ""
}

func (s *Server) checkOrder(o, old *Order, obj custom.Object) *custom.FieldError {
	trim(&o.Number, &o.CustomerID, &o.Reference, &o.Description, &o.Currency, &o.Status)
	if o.Number == "" {
		if old != nil {
			return custom.Required("number")
		}
		o.Number = s.nextCode("order", "SO%05d", func(n string) bool { return s.orderNumberTaken(n, "") })
	} else if s.orderNumberTaken(o.Number, o.ID) {
		return &custom.FieldError{Field: "number", Code: "taken", Message: fmt.Sprintf("%q is taken by another order", o.Number)}
	}
	if o.CustomerID == "" {
		return custom.Required("customer_id")
	}
	customer := s.customers.Live(o.CustomerID)
	if customer == nil {
		return &custom.FieldError{Field: "customer_id", Code: "not_found", Message: fmt.Sprintf("no customer with id %q", o.CustomerID)}
	}
	if o.ContactID != "" {
		c := s.contacts.Live(string(o.ContactID))
		switch {
		case c == nil:
			return &custom.FieldError{Field: "contact_id", Code: "not_found", Message: fmt.Sprintf("no contact with id %q", o.ContactID)}
		case string(c.Rec.CustomerID) != o.CustomerID:
			return custom.Invalid("contact_id", "contact %q is not a contact of customer %q", o.ContactID, o.CustomerID)
		}
	}
	if o.OrderDate == "" {
		if old != nil {
			return custom.Required("order_date")
		}
		o.OrderDate = Date(s.opts.Now().UTC().Format(time.DateOnly))
	}
	if o.Status == "" {
		o.Status = StatusOpen
	}
	if !slices.Contains(statuses, o.Status) {
		return custom.Invalid("status", "must be one of %s, not %q", strings.Join(statuses, ", "), o.Status)
	}
	if o.Currency == "" {
		o.Currency = customer.Rec.Currency
	}
	if fe := code(&o.Currency, 3, "currency", "an ISO 4217 code such as EUR"); fe != nil {
		return fe
	}
	lines, fe := s.bindLines(old, obj)
	if fe != nil {
		return fe
	}
	o.Lines, o.Total = lines, 0
	for _, l := range lines {
		o.Total += l.Amount
	}
	o.Total = round2(o.Total)
	return nil
}

// bindLines reads lines: the order's full list of lines. A line without
// line_no gets the next number the order never had; description, price and vat_code
// default to the item's when left out or null.
func (s *Server) bindLines(old *Order, obj custom.Object) ([]Line, *custom.FieldError) {
	items, fe := custom.DecodeArray(obj["lines"], "lines")
	if fe != nil {
		return nil, fe
	}
	onOrder := map[string]bool{}
	if old != nil {
		for _, l := range old.Lines {
			onOrder[strings.ToLower(l.ItemNumber)] = true
		}
	}
	lines := []Line{}
	taken := map[int]bool{}
	for i, item := range items {
		path := fmt.Sprintf("lines[%d]", i)
		var l Line
		if fe := custom.Bind(&l, item, path+".", func(n string) bool { return n == "amount" }); fe != nil {
			return nil, fe
		}
		l.ItemNumber, l.ItemID = strings.TrimSpace(l.ItemNumber), strings.TrimSpace(l.ItemID)
		if l.LineNo < 0 || taken[l.LineNo] {
			return nil, custom.Invalid(path+".line_no", "%d is not a free line number of this order", l.LineNo)
		}
		taken[l.LineNo] = l.LineNo > 0
		var p Product
		switch {
		case l.ItemID != "":
			// By id, as a client that keeps references by id names it.
			row := s.products.Live(l.ItemID)
			if row == nil {
				return nil, &custom.FieldError{Field: path + ".item_id", Code: "not_found", Message: fmt.Sprintf("no product with id %q", l.ItemID)}
			}
			p = row.Rec
			if l.ItemNumber != "" && !strings.EqualFold(l.ItemNumber, p.ItemNumber) {
				return nil, custom.Invalid(path+".item_number", "%q is not the item number of product %s (%s)", l.ItemNumber, p.ID, p.ItemNumber)
			}
		case l.ItemNumber == "":
			return nil, custom.Required(path + ".item_number")
		default:
			found := s.products.Find(func(p *Product) bool { return strings.EqualFold(p.ItemNumber, l.ItemNumber) })
			if len(found) == 0 {
				return nil, &custom.FieldError{Field: path + ".item_number", Code: "not_found", Message: fmt.Sprintf("no product with item number %q", l.ItemNumber)}
			}
			p = found[0].Rec
		}
		l.ItemID = p.ID
		if p.Blocked && !onOrder[strings.ToLower(p.ItemNumber)] {
			return nil, custom.Invalid(path+".item_number", "product %s is blocked for new lines", p.ItemNumber)
		}
		l.ItemNumber = p.ItemNumber
		if l.Qty <= 0 {
			return nil, custom.Invalid(path+".qty", "must be more than 0")
		}
		if !item.Has("price") {
			l.Price = p.Price
		}
		if l.Price < 0 {
			return nil, custom.Invalid(path+".price", "must not be negative")
		}
		if l.DiscountPct < 0 || l.DiscountPct > 100 {
			return nil, custom.Invalid(path+".discount_pct", "must be from 0 to 100")
		}
		if !item.Has("description") {
			l.Description = p.Name
		}
		if !item.Has("vat_code") {
			l.VATCode = p.VATCode
		} else if l.VATCode = strings.ToUpper(strings.TrimSpace(l.VATCode)); !slices.Contains(vatCodes, l.VATCode) {
			return nil, custom.Invalid(path+".vat_code", "must be S, R, Z or E, not %q", l.VATCode)
		}
		l.Amount = round2(l.Qty * l.Price * (1 - l.DiscountPct/100))
		lines = append(lines, l)
	}
	// Line numbers are never handed out twice within an order: a client
	// that keeps lines by (order, line_no) must not take a new line for
	// one removed before. The highest number an order ever had is kept
	// among the counters, recorded whenever the order is written.
	next := 0
	if old != nil {
		key := "lines:" + old.ID
		for _, l := range old.Lines {
			s.counters[key] = max(s.counters[key], int64(l.LineNo))
		}
		next = int(s.counters[key])
	}
	for _, l := range lines {
		next = max(next, l.LineNo)
	}
	for i := range lines {
		if lines[i].LineNo == 0 {
			next++
			lines[i].LineNo = next
		}
	}
	slices.SortStableFunc(lines, func(a, b Line) int { return a.LineNo - b.LineNo })
	return lines, nil
}

func (s *Server) orderNumberTaken(n, except string) bool {
	for _, r := range s.orders.ByID() { // deleted orders keep their numbers
		if r.ID != except && strings.EqualFold(r.Rec.Number, n) {
			return true
		}
	}
	return false
}

// nextCode hands out the next number of a series ("C00001") that is free.
func (s *Server) nextCode(series, format string, taken func(string) bool) string {
	for {
		s.counters[series]++
		if c := fmt.Sprintf(format, s.counters[series]); !taken(c) {
			return c
		}
	}
}

func code(v *string, n int, field, want string) *custom.FieldError {
	*v = strings.ToUpper(*v)
	if *v == "" {
		return nil
	}
	ok := len(*v) == n
	for _, c := range *v {
		ok = ok && c >= 'A' && c <= 'Z'
	}
	if !ok {
		return custom.Invalid(field, "must be %s, not %q", want, *v)
	}
	return nil
}

func trim(ps ...*string) {
	for _, p := range ps {
		*p = strings.TrimSpace(*p)
	}
}
