package store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/orderdesk/orderdesk/internal/secrets"
	"github.com/orderdesk/orderdesk/internal/store"
	"github.com/orderdesk/orderdesk/internal/store/storetest"
	"github.com/orderdesk/orderdesk/internal/tenant"
)

// scopesApp is an OAuthApp whose tokens all carry orderdesk's scopes.
type scopesApp struct{}

func (scopesApp) AuthorizeURL(string, string) (string, error) { return "", errors.New("not here") }
func (scopesApp) VerifyCallback(*url.URL) bool                { return false }
func (scopesApp) ExchangeCode(context.Context, string, string) (string, error) {
	return "", errors.New("not here")
}
func (scopesApp) GrantedScopes(context.Context, string, string) ([]string, error) {
	return []string{"read_orders", "write_orders", "read_all_orders", "read_customers", "read_locations"}, nil
}

func testKeyring(t *testing.T, spec string) *secrets.Keyring {
	t.Helper()
	k, err := secrets.ParseKeyring(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

func install(t *testing.T, s *store.Store, k *secrets.Keyring, domain, token string) tenant.Shop {
	t.Helper()
	in := tenant.NewInstaller(scopesApp{}, s.Tenants(), k, nil, slog.New(slog.DiscardHandler))
	info, err := in.Add(context.Background(), domain, token)
	if err != nil {
		t.Fatal(err)
	}
	return info.Shop
}

func TestShopInstallations(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		tn := s.Tenants()
		k := testKeyring(t, "k1:"+randomKey(t))
		var afterShop tenant.Shop
		in := tenant.NewInstaller(scopesApp{}, tn, k, func(_ context.Context, tx any, shop tenant.Shop) error {
			if tx == nil {
				t.Error("after install ran outside a transaction")
			}
			afterShop = shop
			return nil
		}, slog.New(slog.DiscardHandler))
		info, err := in.Add(ctx, "Shop-A.myshopify.com", " shpat_aaa\n")
		if err != nil {
			t.Fatal(err)
		}
		if info.Domain != "shop-a.myshopify.com" || afterShop != info.Shop {
			t.Fatalf("installed %+v, after saw %+v", info, afterShop)
		}
		tokens := tenant.NewTokens(tn, k, nil, time.Minute)
		if got, err := tokens.Token(ctx, info.Shop); err != nil || got != "shpat_aaa" {
			t.Fatalf("Token = %q, %v", got, err)
		}

		t.Run("an install that fails after the upsert stores nothing", func(t *testing.T) {
			failing := tenant.NewInstaller(scopesApp{}, tn, k, func(context.Context, any, tenant.Shop) error { return errors.New("queue down") }, slog.New(slog.DiscardHandler))
			if _, err := failing.Add(ctx, "shop-b.myshopify.com", "shpat_bbb"); err == nil {
				t.Fatal("install succeeded though its job could not be enqueued")
			}
			if _, err := tn.ShopByDomain(ctx, "shop-b.myshopify.com"); !errors.Is(err, tenant.ErrNotFound) {
				t.Errorf("shop stored without its job: %v", err)
			}
		})

		t.Run("uninstall drops the token and keeps the shop", func(t *testing.T) {
			if done, err := tn.MarkUninstalled(ctx, info.ID, base, info.InstalledAt.Add(-time.Second)); err != nil || done {
				t.Fatalf("an uninstall triggered before the installation: %t, %v", done, err)
			}
			if st, _ := tn.ShopToken(ctx, info.ID); st.State != tenant.Installed || st.Sealed == "" {
				t.Fatalf("a stale uninstall dropped the installation: %+v", st)
			}
			if done, err := tn.MarkUninstalled(ctx, info.ID, base, info.InstalledAt); err != nil || !done {
				t.Fatalf("MarkUninstalled = %t, %v", done, err)
			}
			st, err := tn.ShopToken(ctx, info.ID)
			if err != nil || st.State != tenant.Uninstalled || st.Sealed != "" {
				t.Fatalf("after uninstall: %+v, %v", st, err)
			}
			fresh := tenant.NewTokens(tn, k, map[string]string{info.Domain: "shpat_env"}, time.Minute)
			if _, err := fresh.Token(ctx, info.Shop); !errors.Is(err, tenant.ErrShopUninstalled) {
				t.Errorf("token of an uninstalled shop: %v", err)
			}
			shops, err := tn.ListShops(ctx)
			if err != nil || len(shops) != 1 || shops[0].State != tenant.Uninstalled || shops[0].HasToken || shops[0].UninstalledAt == nil {
				t.Fatalf("ListShops = %+v, %v", shops, err)
			}
			// Installing again (OAuth or shops add) brings it back.
			again := install(t, s, k, info.Domain, "shpat_new")
			if again.ID != info.ID {
				t.Errorf("reinstall made a new shop: %d vs %d", again.ID, info.ID)
			}
			fresh = tenant.NewTokens(tn, k, nil, time.Minute)
			if got, err := fresh.Token(ctx, info.Shop); err != nil || got != "shpat_new" {
				t.Errorf("after reinstall: %q, %v", got, err)
			}
		})

		t.Run("bootstrap marks an uninstalled shop installed", func(t *testing.T) {
			sh := shop(t, s, "boot.myshopify.com")
			if ok, err := tn.MarkInstalled(ctx, sh.ID, base); err != nil || ok {
				t.Fatalf("MarkInstalled of an installed shop = %v, %v", ok, err)
			}
			if done, err := tn.MarkUninstalled(ctx, sh.ID, base, time.Now().Add(time.Minute)); err != nil || !done {
				t.Fatalf("MarkUninstalled = %t, %v", done, err)
			}
			if ok, err := tn.MarkInstalled(ctx, sh.ID, base); err != nil || !ok {
				t.Fatalf("MarkInstalled = %v, %v", ok, err)
			}
			pinned := tenant.NewTokens(tn, nil, map[string]string{sh.Domain: "shpat_env"}, time.Minute)
			if got, err := pinned.Token(ctx, sh); err != nil || got != "shpat_env" {
				t.Errorf("environment token: %q, %v", got, err)
			}
			none := tenant.NewTokens(tn, nil, nil, time.Minute)
			if _, err := none.Token(ctx, sh); !errors.Is(err, tenant.ErrNoAccessToken) {
				t.Errorf("shop without a token: %v", err)
			}
		})
	})
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		tn := s.Tenants()
		a := shop(t, s, "a.myshopify.com")
		shop(t, s, "b.myshopify.com")
		keys := tenant.NewKeys(tn)
		created, secret, err := keys.Create(ctx, "a.myshopify.com", "crm-production")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, tenant.KeyPrefix+created.Prefix+"_") || len(secret) != len(tenant.KeyPrefix)+8+1+32 {
			t.Fatalf("key %q, prefix %q", secret, created.Prefix)
		}
		if created.Shop != a || created.Name != "crm-production" || created.LastUsedAt != nil || created.RevokedAt != nil {
			t.Errorf("created = %+v", created)
		}
		if _, _, err := keys.Create(ctx, "b.myshopify.com", " "); err == nil {
			t.Error("a key without a name was created")
		}
		if _, _, err := keys.Create(ctx, "nope.myshopify.com", "x"); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("key for an unknown shop: %v", err)
		}
		other, _, err := keys.Create(ctx, "b.myshopify.com", "crm-b")
		if err != nil {
			t.Fatal(err)
		}
		p, err := tn.PrincipalByKeyHash(ctx, tenant.HashKey(secret))
		if err != nil || p.Shop != a || p.KeyID != created.ID {
			t.Fatalf("principal = %+v, %v", p, err)
		}

		t.Run("last use never moves back", func(t *testing.T) {
			later, earlier := base.Add(time.Hour), base
			if err := tn.TouchAPIKeys(ctx, []int64{created.ID}, later); err != nil {
				t.Fatal(err)
			}
			if err := tn.TouchAPIKeys(ctx, []int64{created.ID}, earlier); err != nil {
				t.Fatal(err)
			}
			list, err := keys.List(ctx, "a.myshopify.com")
			if err != nil || len(list) != 1 || list[0].LastUsedAt == nil || !list[0].LastUsedAt.Equal(later) {
				t.Fatalf("list = %+v, %v", list, err)
			}
		})
		t.Run("list", func(t *testing.T) {
			all, err := keys.List(ctx, "")
			if err != nil || len(all) != 2 || all[0].ID != created.ID || all[1].Shop.Domain != "b.myshopify.com" {
				t.Fatalf("all = %+v, %v", all, err)
			}
		})
		t.Run("revoke by prefix, by id, by the whole key", func(t *testing.T) {
			got, err := keys.Revoke(ctx, tenant.KeyPrefix+created.Prefix)
			if err != nil || got.ID != created.ID || got.RevokedAt == nil {
				t.Fatalf("revoke = %+v, %v", got, err)
			}
			if _, err := tn.PrincipalByKeyHash(ctx, tenant.HashKey(secret)); !errors.Is(err, tenant.ErrUnauthenticated) {
				t.Errorf("revoked key still resolves: %v", err)
			}
			again, err := keys.Revoke(ctx, secret)
			if err != nil || !again.RevokedAt.Equal(*got.RevokedAt) {
				t.Errorf("second revoke = %+v, %v", again, err)
			}
			if got, err := keys.Revoke(ctx, fmt.Sprint(other.ID)); err != nil || got.ID != other.ID {
				t.Errorf("revoke by id = %+v, %v", got, err)
			}
			for _, bad := range []string{"999999", "od_live_zzzzzzzz", "not a key"} {
				if _, err := keys.Revoke(ctx, bad); err == nil {
					t.Errorf("Revoke(%q) succeeded", bad)
				}
			}
		})
	})
}

func TestOAuthStates(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		tn := s.Tenants()
		st := tenant.SpentState{StateHash: "h1", Domain: "a.myshopify.com", SpentAt: base, ExpiresAt: base.Add(10 * time.Minute)}
		if err := tn.SpendOAuthState(ctx, st); err != nil {
			t.Fatal(err)
		}
		if err := tn.SpendOAuthState(ctx, st); !errors.Is(err, tenant.ErrOAuthState) {
			t.Errorf("a state was spent twice: %v", err)
		}
		// Spending another after the first expired forgets the first.
		if err := tn.SpendOAuthState(ctx, tenant.SpentState{StateHash: "h2", Domain: "a.myshopify.com", SpentAt: base.Add(11 * time.Minute), ExpiresAt: base.Add(21 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		var n int64
		if err := s.SQL().QueryRowContext(ctx, "SELECT count(*) FROM oauth_states").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%d spent states kept, want 1 (the unexpired one)", n)
		}
	})
}

// TestRotateEncryption writes tokens under key 1, rotates to key 2, and
// reads them with key 2 alone.
func TestRotateEncryption(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		k1, k2 := randomKey(t), randomKey(t)
		old := testKeyring(t, "k1:"+k1)
		shops := map[string]tenant.Shop{}
		for i := range 150 { // more than one batch
			d := fmt.Sprintf("shop-%03d.myshopify.com", i)
			shops[d] = install(t, s, old, d, "shpat_"+d)
		}
		shop(t, s, "no-token.myshopify.com")
		rotating := testKeyring(t, "k2:"+k2+",k1:"+k1)
		n, err := s.ResealAll(ctx, rotating.CurrentPrefix(), rotating.Reseal)
		if err != nil || n != 150 {
			t.Fatalf("ResealAll = %d, %v; want 150", n, err)
		}
		if n, err := s.ResealAll(ctx, rotating.CurrentPrefix(), rotating.Reseal); err != nil || n != 0 {
			t.Errorf("second ResealAll = %d, %v; want 0", n, err)
		}
		onlyNew := tenant.NewTokens(s.Tenants(), testKeyring(t, "k2:"+k2), nil, time.Minute)
		for d, sh := range shops {
			if got, err := onlyNew.Token(ctx, sh); err != nil || got != "shpat_"+d {
				t.Fatalf("%s after rotation: %q, %v", d, got, err)
			}
		}
		// Without the key a value was sealed under, the rotation stops and
		// says which row.
		install(t, s, testKeyring(t, "k3:"+randomKey(t)), "stray.myshopify.com", "shpat_stray")
		if _, err := s.ResealAll(ctx, rotating.CurrentPrefix(), rotating.Reseal); !errors.Is(err, secrets.ErrUnknownKey) || !strings.Contains(err.Error(), "shops.access_token") {
			t.Errorf("unknown key: err = %v", err)
		}
	})
}

// TestNoTokenInClear installs shops and dumps the whole database, every
// table (River's included) and, on SQLite, the database and WAL files
// themselves: no access token appears in clear.
func TestNoTokenInClear(t *testing.T) {
	t.Parallel()
	tokens := []string{"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", "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"}
	check := func(t *testing.T, where string, data []byte) {
		t.Helper()
		for _, tok := range tokens {
			if bytes.Contains(data, []byte(tok)) || bytes.Contains(data, []byte(tok[6:])) {
				t.Errorf("a token is in clear in %s", where)
			}
		}
	}
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		u, schema := storetest.SchemaURL(t)
		s, err := store.Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Migrate(context.Background(), slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		k := testKeyring(t, "k1:"+randomKey(t))
		install(t, s, k, "a.myshopify.com", tokens[0])
		install(t, s, k, "b.myshopify.com", tokens[1])
		rows, err := s.SQL().Query("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema)
		if err != nil {
			t.Fatal(err)
		}
		var tables []string
		for rows.Next() {
			var name string
			_ = rows.Scan(&name)
			tables = append(tables, name)
		}
		rows.Close()
		if len(tables) < 5 {
			t.Fatalf("tables = %v", tables)
		}
		var dump bytes.Buffer
		for _, table := range tables {
			rs, err := s.SQL().Query(fmt.Sprintf("SELECT t::text FROM %q t", table))
			if err != nil {
				t.Fatal(err)
			}
			for rs.Next() {
				var line string
				_ = rs.Scan(&line)
				dump.WriteString(line + "\n")
			}
			rs.Close()
		}
		if !strings.Contains(dump.String(), "a.myshopify.com") || !strings.Contains(dump.String(), "v1:k1:") {
			t.Fatalf("the dump misses the shops: %s", dump.String())
		}
		check(t, "the postgres dump", dump.Bytes())
	})
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "od.db")
		s, err := store.Open(context.Background(), "sqlite:"+path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Migrate(context.Background(), slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		k := testKeyring(t, "k1:"+randomKey(t))
		install(t, s, k, "a.myshopify.com", tokens[0])
		install(t, s, k, "b.myshopify.com", tokens[1])
		var seen int
		for _, f := range []string{path, path + "-wal"} {
			data, err := os.ReadFile(f)
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte("a.myshopify.com")) {
				seen++
			}
			check(t, f, data)
		}
		if seen == 0 {
			t.Fatal("the files hold no shop: the check looked at the wrong bytes")
		}
	})
}

// TestRotateEncryptionUnderConcurrentWrites: a token rewritten while the
// rotation re-encrypts it (a reinstall on a replica still sealing under
// the old key) is kept, and the rotation does not report success while a
// value is still sealed under an old key: the operator drops that key next.
func TestRotateEncryptionUnderConcurrentWrites(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		k1, k2 := randomKey(t), randomKey(t)
		old := testKeyring(t, "k1:"+k1)
		sh := install(t, s, old, "busy.myshopify.com", "shpat_first")
		rotating := testKeyring(t, "k2:"+k2+",k1:"+k1)
		calls := 0
		reseal := func(sealed, context string) (string, bool, error) {
			calls++
			if calls == 1 {
				install(t, s, old, "busy.myshopify.com", "shpat_reinstalled") // meanwhile, under k1
			}
			return rotating.Reseal(sealed, context)
		}
		_, err := s.ResealAll(ctx, rotating.CurrentPrefix(), reseal)
		onlyNew := tenant.NewTokens(s.Tenants(), testKeyring(t, "k2:"+k2), nil, 0)
		got, openErr := onlyNew.Token(ctx, sh)
		if err == nil && (openErr != nil || got != "shpat_reinstalled") {
			t.Errorf("ResealAll reported success, but with k1 dropped the token reads %q, %v", got, openErr)
		}
		if both, err := tenant.NewTokens(s.Tenants(), rotating, nil, 0).Token(ctx, sh); err != nil || both != "shpat_reinstalled" {
			t.Errorf("the reinstalled token was overwritten: %q, %v", both, err)
		}

		// A value that changes under every pass: the rotation gives up
		// and says so, rather than loop or claim success.
		install(t, s, old, "busy.myshopify.com", "shpat_again")
		restless := func(sealed, context string) (string, bool, error) {
			install(t, s, old, "busy.myshopify.com", "shpat_again")
			return rotating.Reseal(sealed, context)
		}
		if _, err := s.ResealAll(ctx, rotating.CurrentPrefix(), restless); err == nil || !strings.Contains(err.Error(), "run the rotation again") {
			t.Errorf("a value that never settles: err = %v", err)
		}
	})
}

// TestBootstrapKeyReplaced: ORDERDESK_API_KEY is the shop's bootstrap key.
// Setting a new one (say the old one leaked) stops the old one; a revoked
// one is not brought back by a restart, and start-up says so; managed keys
// are untouched.
func TestBootstrapKeyReplaced(t *testing.T) {
	t.Parallel()
	forEachStore(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		tn := s.Tenants()
		svc := tenant.NewService(tn, tenant.WithKeyCache(0, 0))
		const leaked, fresh = "bootstrap-key-leaked-0123", "bootstrap-key-fresh-45678"
		if _, err := svc.Bootstrap(ctx, "boot.myshopify.com", leaked); err != nil {
			t.Fatal(err)
		}
		_, managed, err := tenant.NewKeys(tn).Create(ctx, "boot.myshopify.com", "crm")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Bootstrap(ctx, "boot.myshopify.com", fresh); err != nil { // the restart with the new key
			t.Fatal(err)
		}
		if _, err := svc.Authenticate(ctx, leaked); !errors.Is(err, tenant.ErrUnauthenticated) {
			t.Errorf("the replaced ORDERDESK_API_KEY still works: %v", err)
		}
		for _, k := range []string{fresh, managed} {
			if _, err := svc.Authenticate(ctx, k); err != nil {
				t.Errorf("key %.14s…: %v", k, err)
			}
		}
		if _, err := svc.Bootstrap(ctx, "boot.myshopify.com", fresh); err != nil { // another restart, same key
			t.Fatalf("restart with the same key: %v", err)
		}
		list, err := tn.ListAPIKeys(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		var freshID int64
		for _, k := range list {
			if k.Prefix == "" && k.RevokedAt == nil {
				freshID = k.ID
			}
		}
		if _, err := tenant.NewKeys(tn).Revoke(ctx, fmt.Sprint(freshID)); err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Bootstrap(ctx, "boot.myshopify.com", fresh); !errors.Is(err, tenant.ErrKeyRevoked) {
			t.Errorf("start-up with a revoked ORDERDESK_API_KEY: %v", err)
		}
		if _, err := svc.Authenticate(ctx, fresh); !errors.Is(err, tenant.ErrUnauthenticated) {
			t.Errorf("a restart brought a revoked key back: %v", err)
		}
	})
}
