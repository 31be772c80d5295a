package webshop

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/concordsync/concord/internal/sandbox/custom"
)

// The shop's rules, applied alike to API writes and to the user helpers.
// Each check validates a record after the request was bound onto it (old
// is the stored version, nil on create) and fills in what is derived.

func (s *Server) checkCustomer(c, _ *Customer, _ custom.Object) []*custom.FieldError {
	var errs []*custom.FieldError
	trim(&c.FirstName, &c.LastName, &c.CompanyName, &c.Email, &c.Phone, &c.VATNumber)
	switch c.Type {
	case "person":
		if c.FirstName == "" && c.LastName == "" {
			errs = append(errs, custom.Required("last_name"))
		}
	case "company":
		if c.CompanyName == "" {
			errs = append(errs, custom.Required("company_name"))
		}
	case "":
		errs = append(errs, custom.Required("type"))
	default:
		errs = append(errs, custom.Invalid("type", "must be person or company, not %q", c.Type))
	}
	switch {
	case c.Email == "":
		errs = append(errs, custom.Required("email"))
	case !strings.Contains(c.Email, "@"):
		errs = append(errs, custom.Invalid("email", "%q is not an e-mail address", c.Email))
	default:
		for _, other := range s.customers.Find(func(o *Customer) bool { return strings.EqualFold(o.Email, c.Email) }) {
			if other.ID != c.ID {
				errs = append(errs, &custom.FieldError{Field: "email", Code: "taken", Message: fmt.Sprintf("has already been taken (customer %d)", other.ID)})
			}
		}
	}
	if fe := checkCountry(&c.BillingAddress.Country, "billing_address.country"); fe != nil {
		errs = append(errs, fe)
	}
	return errs
}

func (s *Server) customerDeletable(id int64) string {
	if n := len(s.orders.Find(func(o *Order) bool { return o.CustomerID == id })); n > 0 {
		return fmt.Sprintf("Customer %d has %d orders: delete them first.", id, n)
	}
	return ""
}

func (s *Server) checkProduct(p, _ *Product, _ custom.Object) []*custom.FieldError {
	var errs []*custom.FieldError
	trim(&p.SKU, &p.Name)
	if p.SKU == "" {
		errs = append(errs, custom.Required("sku"))
	} else {
		for _, other := range s.products.Find(func(o *Product) bool { return strings.EqualFold(o.SKU, p.SKU) }) {
			if other.ID != p.ID {
				errs = append(errs, &custom.FieldError{Field: "sku", Code: "taken", Message: fmt.Sprintf("has already been taken (product %d)", other.ID)})
			}
		}
	}
	if p.Name == "" {
		errs = append(errs, custom.Required("name"))
	}
	if p.Price < 0 {
		errs = append(errs, custom.Invalid("price", "must not be negative"))
	}
	return errs
}

func (s *Server) checkOrder(o, old *Order, obj custom.Object) []*custom.FieldError {
	var errs []*custom.FieldError
	add := func(fe *custom.FieldError) { errs = append(errs, fe) }
	trim(&o.Number, &o.Currency)
	o.Currency = strings.ToUpper(o.Currency)

	switch {
	case o.CustomerID == 0:
		add(custom.Required("customer_id"))
	case s.customers.Live(o.CustomerID) == nil:
		add(&custom.FieldError{Field: "customer_id", Code: "not_found", Message: fmt.Sprintf("no customer with id %d", o.CustomerID)})
	}
	if _, ok := statusRank[o.Status]; !ok {
		add(custom.Invalid("status", "must be pending, processing, completed or cancelled, not %q", o.Status))
	} else if old != nil && !transitionAllowed(old.Status, o.Status) {
		add(&custom.FieldError{Field: "status", Code: "transition", Message: fmt.Sprintf("cannot change from %s to %s", old.Status, o.Status)})
	}
	if len(o.Currency) != 3 || !letters(o.Currency) {
		add(custom.Invalid("currency", "must be an ISO 4217 code such as EUR, not %q", o.Currency))
	}
	switch {
	case old == nil && o.Number == "":
		o.Number = fmt.Sprintf("WS-%d", s.nextNumber)
		for s.orderNumberTaken(o.Number, 0) {
			s.nextNumber++
			o.Number = fmt.Sprintf("WS-%d", s.nextNumber)
		}
	case old != nil && o.Number != old.Number:
		add(&custom.FieldError{Field: "number", Code: "frozen", Message: "cannot be changed once the order exists"})
	case old == nil && s.orderNumberTaken(o.Number, 0):
		add(&custom.FieldError{Field: "number", Code: "taken", Message: "has already been taken"})
	}
	if o.PlacedAt.IsZero() {
		o.PlacedAt = s.now()
	}
	if old != nil && (old.Status == StatusCompleted || old.Status == StatusCancelled) {
		if o.CustomerID != old.CustomerID {
			add(&custom.FieldError{Field: "customer_id", Code: "frozen", Message: "cannot change on a " + old.Status + " order"})
		}
		if o.Currency != old.Currency {
			add(&custom.FieldError{Field: "currency", Code: "frozen", Message: "cannot change on a " + old.Status + " order"})
		}
		if _, ok := obj["line_items"]; ok {
			add(&custom.FieldError{Field: "line_items", Code: "frozen", Message: "cannot change on a " + old.Status + " order"})
		}
	}
	if raw, ok := obj["line_items"]; ok && len(errs) == 0 {
		lines, lineErrs := s.bindLines(o, old, raw)
		errs = append(errs, lineErrs...)
		o.LineItems = lines
	}
	if old == nil && len(o.LineItems) == 0 && len(errs) == 0 {
		add(&custom.FieldError{Field: "line_items", Code: "required", Message: "an order needs at least one line item"})
	}
	if len(errs) > 0 {
		return errs
	}
	if old == nil {
		if o.Number == fmt.Sprintf("WS-%d", s.nextNumber) {
			s.nextNumber++
		}
	}
	o.Total = 0
	for i := range o.LineItems {
		l := &o.LineItems[i]
		if l.ID == 0 {
			l.ID = s.newID("line_items")
		}
		l.Total = l.Price * Money(l.Quantity)
		o.Total += l.Total
	}
	return nil
}

// bindLines reads line_items: the order's new list of lines. An item with
// the id of a current line changes that line (members it leaves out keep
// their values); an item without id is a new line; current lines left out
// are removed. New lines get their ids once the whole order is valid.
func (s *Server) bindLines(o, old *Order, raw []byte) ([]LineItem, []*custom.FieldError) {
	items, fe := custom.DecodeArray(raw, "line_items")
	if fe != nil {
		return nil, []*custom.FieldError{fe}
	}
	current := map[int64]LineItem{}
	if old != nil {
		for _, l := range old.LineItems {
			current[l.ID] = l
		}
	}
	var errs []*custom.FieldError
	var lines []LineItem
	used := map[int64]bool{}
	for i, item := range items {
		path := fmt.Sprintf("line_items[%d]", i)
		var l LineItem
		if item.Has("id") {
			var id int64
			if err := json.Unmarshal(item["id"], &id); err != nil {
				errs = append(errs, custom.Invalid(path+".id", "must be a whole number"))
				continue
			}
			cur, ok := current[id]
			if !ok || used[id] {
				errs = append(errs, &custom.FieldError{Field: path + ".id", Code: "not_found", Message: fmt.Sprintf("order has no line item %d (leave id out for a new line)", id)})
				continue
			}
			used[id] = true
			l = cur
		}
		productGiven := item.Has("product_id") || item.Has("sku")
		if fe := custom.Bind(&l, item, path+".", func(n string) bool { return n == "id" || n == "total" || n == "name" }); fe != nil {
			errs = append(errs, fe)
			continue
		}
		var p *Product
		switch {
		case item.Has("product_id"):
			if r := s.products.Live(l.ProductID); r != nil {
				p = &r.Rec
			} else {
				errs = append(errs, &custom.FieldError{Field: path + ".product_id", Code: "not_found", Message: fmt.Sprintf("no product with id %d", l.ProductID)})
				continue
			}
			if item.Has("sku") && !strings.EqualFold(l.SKU, p.SKU) {
				errs = append(errs, custom.Invalid(path+".sku", "%q is not the sku of product %d (%s)", l.SKU, p.ID, p.SKU))
				continue
			}
		case item.Has("sku"):
			found := s.products.Find(func(q *Product) bool { return strings.EqualFold(q.SKU, strings.TrimSpace(l.SKU)) })
			if len(found) == 0 {
				errs = append(errs, &custom.FieldError{Field: path + ".sku", Code: "not_found", Message: fmt.Sprintf("no product with sku %q", l.SKU)})
				continue
			}
			p = &found[0].Rec
		case l.ID == 0:
			errs = append(errs, custom.Required(path+".product_id"))
			continue
		}
		if p != nil && productGiven {
			l.ProductID, l.SKU, l.Name = p.ID, p.SKU, p.Name
			if !item.Has("price") && (l.ID == 0 || p.ID != current[l.ID].ProductID) {
				l.Price = p.Price
			}
		}
		if l.Quantity < 1 {
			errs = append(errs, custom.Invalid(path+".quantity", "must be 1 or more"))
			continue
		}
		if l.Price < 0 {
			errs = append(errs, custom.Invalid(path+".price", "must not be negative"))
			continue
		}
		lines = append(lines, l)
	}
	if len(errs) == 0 && len(lines) == 0 {
		errs = append(errs, &custom.FieldError{Field: "line_items", Code: "required", Message: "an order needs at least one line item"})
	}
	return lines, errs
}

func (s *Server) orderNumberTaken(n string, except int64) bool {
	for _, r := range s.orders.ByID() { // deleted orders keep their numbers
		if r.Rec.Number == n && r.ID != except {
			return true
		}
	}
	return false
}

func checkCountry(c *string, field string) *custom.FieldError {
	*c = strings.ToUpper(strings.TrimSpace(*c))
	if *c != "" && (len(*c) != 2 || !letters(*c)) {
		return custom.Invalid(field, "must be an ISO 3166-1 alpha-2 code such as NL, not %q", *c)
	}
	return nil
}

func letters(s string) bool {
	for _, c := range s {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func trim(ps ...*string) {
	for _, p := range ps {
		*p = strings.TrimSpace(*p)
	}
}
