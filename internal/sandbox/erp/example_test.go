package erp_test

import (
	"fmt"
	"time"

	"github.com/concordsync/concord/internal/sandbox/erp"
)

// The helpers act as a user of the ERP; every change, theirs or an API
// client's, is listed after the cursor taken before it.
func ExampleServer_Put() {
	clock := erp.NewManualClock(time.Date(2024, 1, 2, 9, 0, 0, 0, time.UTC))
	srv, _ := erp.New(erp.Options{Now: clock.Now, Seed: 1})
	defer srv.Close()
	acme, _ := srv.Put(erp.Customers, erp.Record{"name": "Acme", "country": "nl"})
	srv.Put(erp.Contacts, erp.Record{"customer_id": acme["id"], "first_name": "Ann", "last_name": "Lee"})
	srv.Put(erp.Products, erp.Record{"item_number": "100", "name": "Widget", "price": 12.5})
	o, _ := srv.Put(erp.Orders, erp.Record{"customer_id": acme["id"], "lines": []erp.Record{{"item_number": "100", "qty": 2}}})
	fmt.Println(acme["code"], acme["country"], o["number"], o["total"], o["order_date"])
	_, err := srv.Edit(erp.Customers, acme["id"].(string), erp.Record{"code": ""})
	fmt.Println(err)
	// Output:
	// C00001 NL SO00001 25 2024-01-02
	// erp sandbox: edit customers b50ea63d-8002-4b60-9c1d-bcd49b340b84: code is required
}
