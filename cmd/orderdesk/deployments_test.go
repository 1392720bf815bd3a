package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/pkg/shopifysandbox"
)

var metricRef = regexp.MustCompile(`\borderdesk_[a-z0-9_]+\b`)

// referencedMetrics is every orderdesk_ metric a text names.
func referencedMetrics(text string) []string {
	var out []string
	for _, m := range metricRef.FindAllString(text, -1) {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// exported reads a /metrics answer: each family's name and type.
func exported(t *testing.T, body string) map[string]string {
	t.Helper()
	types := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
		}
	}
	return types
}

// known says whether a referenced name is an exported family, or a
// histogram's _bucket, _sum or _count series.
func known(types map[string]string, name string) bool {
	if _, ok := types[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok && types[base] == "histogram" {
			return true
		}
	}
	return false
}

func TestKnownMetricNames(t *testing.T) {
	t.Parallel()
	types := map[string]string{"orderdesk_a_seconds": "histogram", "orderdesk_b_total": "counter"}
	for name, want := range map[string]bool{
		"orderdesk_a_seconds": true, "orderdesk_a_seconds_bucket": true, "orderdesk_a_seconds_count": true,
		"orderdesk_b_total": true, "orderdesk_b_total_bucket": false, "orderdesk_c": false,
	} {
		if got := known(types, name); got != want {
			t.Errorf("known(%s) = %v", name, got)
		}
	}
	if got := referencedMetrics(`rate(orderdesk_x_total{a="b"}[5m]) / orderdesk_y and orderdesk_x_total`); fmt.Sprint(got) != "[orderdesk_x_total orderdesk_y]" {
		t.Errorf("referencedMetrics = %v", got)
	}
}

// The alert rules and the Grafana dashboard in deployments/ name only
// metrics a running orderdesk exports: a serve that has done one refund
// and applied Shopify's webhooks about it is scraped, and every orderdesk_
// name in the two files must be one of its families (or a histogram's
// series). The dashboard must be valid JSON with a query on every panel.
func TestDeploymentsUseRealMetrics(t *testing.T) {
	t.Parallel()
	for _, kind := range storetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			testDeploymentMetrics(t, kind)
		})
	}
}

func testDeploymentMetrics(t *testing.T, kind string) {
	const shop, token, key, secret = "metrics.myshopify.com", "shpat_metrics", "metrics-key-0123456789", "metrics-secret"
	sb := shopifysandbox.New(shopifysandbox.Options{Shop: shop, Token: token})
	sb.Seed(time.Now())
	sbSrv := httptest.NewServer(sb)
	defer sbSrv.Close()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	if kind == "postgres" {
		dbURL, _ = storetest.SchemaURL(t)
	}
	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := map[string]string{
		"ORDERDESK_HTTP_ADDR": fmt.Sprintf("127.0.0.1:%d", port), "ORDERDESK_DATABASE_URL": dbURL,
		"ORDERDESK_API_KEY": key, "SHOPIFY_SHOP": shop, "SHOPIFY_ACCESS_TOKEN": token, "SHOPIFY_BASE_URL": sbSrv.URL,
		"SHOPIFY_API_SECRET": secret, "ORDERDESK_LOG_LEVEL": "error",
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve"}, env, io.Discard, io.Discard) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	waitFor(t, base+"/healthz")
	sb.SetWebhookTarget(base+"/webhooks/shopify", secret)
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/orders/%d/refund", base, shopifysandbox.OrderPaidUnfulfilled), strings.NewReader(`{"amount":"1.00"}`))
	for k, v := range map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json", "X-Agent-Id": "a", "Idempotency-Key": "m-1"} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusAccepted {
		t.Fatalf("refund: %d", resp.StatusCode)
	}
	scrape := func() string {
		resp, err := http.Get(base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	// The webhooks about the refund are applied by River jobs: wait until
	// one has been observed.
	var body string
	applied := regexp.MustCompile(`(?m)^orderdesk_webhook_apply_lag_seconds_count [1-9]`)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if body = scrape(); applied.MatchString(body) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no webhook applied after the refund:\n%s", body)
		}
	}
	types := exported(t, body)
	for _, series := range []string{`orderdesk_river_jobs{kind="apply_webhook",state="available"}`, `orderdesk_actions{kind="refund",status="succeeded"} 1`, "orderdesk_store_gauges_up 1",
		`orderdesk_river_job_duration_seconds_count{kind="apply_webhook",outcome="ok"}`, `orderdesk_shopify_graphql_points_available{shop_id="`} {
		if !strings.Contains(body, series) {
			t.Errorf("no %s in the scrape", series)
		}
	}
	for _, file := range []string{"../../deployments/prometheus/alerts.yml", "../../deployments/grafana/orderdesk-dashboard.json"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		refs := referencedMetrics(string(b))
		if len(refs) < 5 {
			t.Errorf("%s names only %v", file, refs)
		}
		for _, name := range refs {
			if !known(types, name) {
				t.Errorf("%s uses %s, which orderdesk does not export", file, name)
			}
		}
		if strings.HasSuffix(file, ".json") {
			var dash struct {
				Title  string
				Panels []struct {
					Title   string
					Targets []struct{ Expr string }
				}
			}
			if err := json.Unmarshal(b, &dash); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			if dash.Title == "" || len(dash.Panels) == 0 {
				t.Errorf("%s: no title or panels", file)
			}
			for _, p := range dash.Panels {
				if len(p.Targets) == 0 || p.Targets[0].Expr == "" || len(referencedMetrics(p.Targets[0].Expr)) == 0 {
					t.Errorf("%s: panel %q has no orderdesk query", file, p.Title)
				}
			}
		}
	}
}

var (
	alertRule   = regexp.MustCompile(`(?m)^\s*- alert: (\S+)`)
	labelRef    = regexp.MustCompile(`\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)`)
	groupedBy   = regexp.MustCompile(`\bby\s*\(([^)]*)\)`)
	aggregation = regexp.MustCompile(`\b(sum|min|max|avg|count|histogram_quantile)\s*(\(|by\b|without\b)`)
)

// TestAlertAnnotationsNameKeptLabels: an annotation's {{ $labels.x }} is
// a label the rule's expression keeps, or the summary renders empty. The
// Shopify budget alert said "Shop {{ $labels.shop }}" after the gauge's
// label became shop_id (review-13 finding 3): "Shop  has 40 points left".
func TestAlertAnnotationsNameKeptLabels(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../deployments/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	starts := alertRule.FindAllStringSubmatchIndex(text, -1)
	if len(starts) < 5 {
		t.Fatalf("only %d alert rules found", len(starts))
	}
	for i, m := range starts {
		end := len(text)
		if i+1 < len(starts) {
			end = starts[i+1][0]
		}
		name, rule := text[m[2]:m[3]], text[m[0]:end]
		expr, _, _ := strings.Cut(rule, "annotations:")
		kept := map[string]bool{}
		for _, g := range groupedBy.FindAllStringSubmatch(expr, -1) {
			for _, l := range strings.Split(g[1], ",") {
				kept[strings.TrimSpace(l)] = true
			}
		}
		aggregated := aggregation.MatchString(expr)
		for _, ref := range labelRef.FindAllStringSubmatch(rule, -1) {
			if l := ref[1]; aggregated && !kept[l] {
				t.Errorf("%s: the annotations name $labels.%s, which the expression does not keep (by %v)", name, l, kept)
			}
		}
	}
}
