package playground

import (
	"net/http"
	"strings"
	"testing"
)

func TestStartServesEverySystem(t *testing.T) {
	pg, err := Start(Options{SeedDemo: true})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	get := func(url string, header ...string) int {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ws := pg.Settings(Webshop)["auth"].(map[string]any)["token"].(string)
	if c := get(pg.URL(Webshop)+"/customers", "Authorization", "Bearer "+ws); c != 200 {
		t.Errorf("webshop customers: %d", c)
	}
	if c := get(pg.URL(Webshop) + "/customers"); c != 401 {
		t.Errorf("webshop without token: %d", c)
	}
	key := pg.Settings(ERP)["auth"].(map[string]any)["api_key"].(string)
	if c := get(pg.URL(ERP)+"/customers", "X-API-Key", key); c != 200 {
		t.Errorf("erp customers: %d", c)
	}
	if c := get(pg.URL(WebCRM) + "/Organisations"); c != 401 {
		t.Errorf("webcrm without a token: %d", c)
	}
	if s := pg.Settings(Exact); s["refresh_token"] == "" || s["division"] == 0 {
		t.Errorf("exact settings: %v", s)
	}
	cfg := string(pg.Config("/tmp/x.db"))
	for _, want := range []string{"preset: customwebshop", "preset: exactonline", "preset: webcrm", "preset: customerp", "path: /tmp/x.db", "refresh_token:"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("config lacks %q:\n%s", want, cfg)
		}
	}
	if len(pg.URLs()) != 4 {
		t.Errorf("URLs: %v", pg.URLs())
	}
}
