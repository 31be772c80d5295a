package webcrm

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/concordsync/concord/internal/connector"
)

// WebCRM quotation lines hold a copy of their product's code and name in
// data fields, not its id. The connector presents the product's id as the
// virtual field QuotationLineProductId, so that a mapping can make the line's
// product a reference (ref: Products) like any other system's. The index
// below maps codes to product ids and back; it learns from every Products
// record the connector reads and asks WebCRM (one query for a page of
// lines) only for codes it does not know.

type productInfo struct{ code, name string }

type productIndex struct {
	mu      sync.Mutex
	byCode  map[string]int64 // code -> the lowest id of a product holding it
	byID    map[int64]productInfo
	missing map[string]bool // codes no product holds (cleared when products are learnt)
}

func codeKey(code string) string { return strings.ToLower(strings.TrimRight(code, " ")) }

// learn records products as read.
func (x *productIndex) learn(cfg Config, recs []wireRecord) {
	if cfg.ProductCodeField == "" {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, r := range recs {
		code, _ := r.rec.Fields[ProductCode].(string)
		name, _ := r.rec.Fields[ProductName].(string)
		x.setLocked(r.id, code, name)
	}
	x.missing = nil
}

func (x *productIndex) setLocked(id int64, code, name string) {
	if old, ok := x.byID[id]; ok && old.code != code && x.byCode[codeKey(old.code)] == id {
		delete(x.byCode, codeKey(old.code))
	}
	x.byID[id] = productInfo{code: code, name: name}
	if code == "" {
		return
	}
	if have, ok := x.byCode[codeKey(code)]; !ok || id < have {
		x.byCode[codeKey(code)] = id
	}
}

// forget drops a product the connector changed or deleted.
func (x *productIndex) forget(id int64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if old, ok := x.byID[id]; ok {
		if x.byCode[codeKey(old.code)] == id {
			delete(x.byCode, codeKey(old.code))
		}
		delete(x.byID, id)
	}
}

// productByID returns a product's code and name, reading it when the index
// does not know it.
func (c *Conn) productByID(ctx context.Context, id int64) (productInfo, error) {
	c.products.mu.Lock()
	p, ok := c.products.byID[id]
	c.products.mu.Unlock()
	if ok {
		return p, nil
	}
	e, _ := c.entity(Products)
	obj, err := c.getRaw(ctx, e, id)
	if err != nil {
		return productInfo{}, fmt.Errorf("the product %d of the quotation line: %w", id, err)
	}
	w, err := c.present(e, obj)
	if err != nil {
		return productInfo{}, connector.Temporary(err)
	}
	c.products.learn(c.cfg, []wireRecord{w})
	code, _ := w.rec.Fields[ProductCode].(string)
	name, _ := w.rec.Fields[ProductName].(string)
	return productInfo{code: code, name: name}, nil
}

// maxScript keeps a lookup query's script well under the service's limits
// on URL length.
const maxScript = 6000

// resolveLineProducts sets QuotationLineProductId on lines whose code names
// a product: from the index, or with one query for the codes it lacks.
func (c *Conn) resolveLineProducts(ctx context.Context, recs []wireRecord) error {
	if c.cfg.QuotationLineCodeField == "" || c.cfg.ProductCodeField == "" {
		return nil
	}
	var unknown []string
	c.products.mu.Lock()
	for _, r := range recs {
		if r.code == "" {
			continue
		}
		k := codeKey(r.code)
		if _, ok := c.products.byCode[k]; !ok && !c.products.missing[k] && !slices.Contains(unknown, r.code) {
			unknown = append(unknown, r.code)
		}
	}
	c.products.mu.Unlock()
	for len(unknown) > 0 {
		var conds []string
		size := 0
		for len(unknown) > 0 {
			cond := fmt.Sprintf("%s = '%s'", c.cfg.ProductCodeField, strings.ReplaceAll(unknown[0], "'", "''"))
			if size+len(cond) > maxScript && len(conds) > 0 {
				break
			}
			conds = append(conds, cond)
			size += len(cond) + 4
			unknown = unknown[1:]
		}
		if err := c.lookupCodes(ctx, conds); err != nil {
			return err
		}
	}
	c.products.mu.Lock()
	defer c.products.mu.Unlock()
	for i := range recs {
		r := &recs[i]
		if r.code == "" {
			continue
		}
		if id, ok := c.products.byCode[codeKey(r.code)]; ok {
			r.rec.Fields[QuotationLineProductId] = strconv.FormatInt(id, 10)
		} else {
			if c.products.missing == nil {
				c.products.missing = map[string]bool{}
			}
			c.products.missing[codeKey(r.code)] = true
		}
	}
	return nil
}

// lookupCodes asks WebCRM for the products holding the codes of conds,
// page by page.
func (c *Conn) lookupCodes(ctx context.Context, conds []string) error {
	cols := []string{"ProductId", c.cfg.ProductCodeField}
	if c.cfg.ProductNameField != "" {
		cols = append(cols, c.cfg.ProductNameField)
	}
	script := fmt.Sprintf("SELECT %s FROM Product WHERE %s ORDER BY ProductId", strings.Join(cols, ", "), strings.Join(conds, " OR "))
	for page := 1; ; page++ {
		body, err := c.c.call(ctx, http.MethodGet, "/Queries", url.Values{"script": {script}, "Page": {strconv.Itoa(page)}, "Size": {strconv.Itoa(c.cfg.PageSize)}}, nil)
		if err != nil {
			return fmt.Errorf("finding the products of quotation lines by code: %w", err)
		}
		objs, err := decodeObjects(body)
		if err != nil {
			return connector.Temporary(fmt.Errorf("finding the products of quotation lines by code: %w", err))
		}
		c.products.mu.Lock()
		for _, o := range objs {
			id, ok := wholeOf(o["ProductId"])
			code, _ := o[c.cfg.ProductCodeField].(string)
			if !ok || id <= 0 {
				continue
			}
			name := ""
			if c.cfg.ProductNameField != "" {
				name, _ = o[c.cfg.ProductNameField].(string)
			}
			c.products.setLocked(id, code, name)
		}
		c.products.mu.Unlock()
		if len(objs) < c.cfg.PageSize {
			return nil
		}
	}
}
