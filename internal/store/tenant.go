package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

type shopRow struct {
	ID            int64 `gorm:"primaryKey"`
	Domain        string
	CreatedAt     time.Time
	State         string
	Scopes        string
	AccessToken   *string // sealed by internal/secrets; never in clear
	InstalledAt   time.Time
	UninstalledAt *time.Time
}

func (shopRow) TableName() string { return "shops" }

type apiKeyRow struct {
	ID         int64 `gorm:"primaryKey"`
	ShopID     int64
	KeyHash    string
	Prefix     *string
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

func (apiKeyRow) TableName() string { return "api_keys" }

// oauthStateRow is an install state a callback has spent (the table's
// name is from when states were stored at the install's start).
type oauthStateRow struct {
	NonceHash  string `gorm:"primaryKey"`
	ShopDomain string
	CreatedAt  time.Time
	ExpiresAt  time.Time
}

func (oauthStateRow) TableName() string { return "oauth_states" }

func (r shopRow) toDomain() tenant.Shop { return tenant.Shop{ID: r.ID, Domain: r.Domain} }

func (r shopRow) toInfo() tenant.ShopInfo {
	info := tenant.ShopInfo{Shop: r.toDomain(), State: tenant.State(r.State), InstalledAt: r.InstalledAt.UTC(),
		UninstalledAt: utcPtr(r.UninstalledAt), HasToken: r.AccessToken != nil && *r.AccessToken != ""}
	if r.Scopes != "" {
		info.Scopes = strings.Split(r.Scopes, ",")
	}
	return info
}

// Tenants implements the tenant package's stores: shops, their
// installation and sealed tokens, API keys and OAuth states.
type Tenants struct{ s *Store }

// Tenants returns the tenant view of the database.
func (s *Store) Tenants() *Tenants { return &Tenants{s: s} }

// EnsureShop returns the shop with this domain, creating it (installed now)
// if needed.
func (t *Tenants) EnsureShop(ctx context.Context, domain string) (tenant.Shop, error) {
	now := time.Now().UTC()
	row := shopRow{Domain: domain, CreatedAt: now, State: string(tenant.Installed), InstalledAt: now}
	err := t.s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "domain"}}, DoNothing: true}).Create(&row).Error
	if err != nil {
		return tenant.Shop{}, fmt.Errorf("ensure shop: %w", err)
	}
	return t.ShopByDomain(ctx, domain)
}

// MarkInstalled records an uninstalled shop as installed again; false when
// it was installed already.
func (t *Tenants) MarkInstalled(ctx context.Context, shopID int64, at time.Time) (bool, error) {
	res := t.s.db.WithContext(ctx).Model(&shopRow{}).Where("id = ? AND state = ?", shopID, string(tenant.Uninstalled)).
		Updates(map[string]any{"state": string(tenant.Installed), "installed_at": at.UTC(), "uninstalled_at": nil})
	if res.Error != nil {
		return false, fmt.Errorf("mark shop %d installed: %w", shopID, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// MarkUninstalled records that the shop uninstalled the app (app/uninstalled)
// and drops its access token; its data stays until shop/redact. An
// uninstall triggered before the shop's current installation (a stale
// delivery after a reinstall) changes nothing: false.
func (t *Tenants) MarkUninstalled(ctx context.Context, shopID int64, at, triggeredAt time.Time) (bool, error) {
	res := t.s.db.WithContext(ctx).Model(&shopRow{}).Where("id = ? AND installed_at <= ?", shopID, triggeredAt.UTC()).
		Updates(map[string]any{"state": string(tenant.Uninstalled), "uninstalled_at": at.UTC(), "access_token": nil})
	if res.Error != nil {
		return false, fmt.Errorf("mark shop %d uninstalled: %w", shopID, res.Error)
	}
	return res.RowsAffected > 0, nil
}

// ShopByDomain finds a shop by its myshopify domain.
func (t *Tenants) ShopByDomain(ctx context.Context, domain string) (tenant.Shop, error) {
	var row shopRow
	err := t.s.db.WithContext(ctx).Where("domain = ?", domain).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return tenant.Shop{}, fmt.Errorf("shop %s: %w", domain, tenant.ErrNotFound)
	}
	if err != nil {
		return tenant.Shop{}, fmt.Errorf("shop %s: %w", domain, err)
	}
	return row.toDomain(), nil
}

// ListShops lists every shop with its installation, by domain.
func (t *Tenants) ListShops(ctx context.Context) ([]tenant.ShopInfo, error) {
	var rows []shopRow
	if err := t.s.db.WithContext(ctx).Order("domain").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list shops: %w", err)
	}
	out := make([]tenant.ShopInfo, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.toInfo())
	}
	return out, nil
}

// ShopToken returns the shop's state and sealed access token.
func (t *Tenants) ShopToken(ctx context.Context, shopID int64) (tenant.StoredToken, error) {
	var row shopRow
	err := t.s.db.WithContext(ctx).Select("state", "access_token").Where("id = ?", shopID).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return tenant.StoredToken{}, fmt.Errorf("shop %d: %w", shopID, tenant.ErrNotFound)
	}
	if err != nil {
		return tenant.StoredToken{}, fmt.Errorf("shop %d: %w", shopID, err)
	}
	st := tenant.StoredToken{State: tenant.State(row.State)}
	if row.AccessToken != nil {
		st.Sealed = *row.AccessToken
	}
	return st, nil
}

// SaveInstall records the shop installed with its sealed token and scopes
// (creating it, or installing it again), and runs after in the same
// transaction, so the shop's webhook registration job exists if and only
// if the install does. after receives a pgx.Tx on Postgres and a *sql.Tx
// on SQLite, the types River's drivers take.
func (t *Tenants) SaveInstall(ctx context.Context, in tenant.Install, after tenant.AfterInstall) (tenant.Shop, error) {
	const upsert = `INSERT INTO shops (domain, created_at, state, scopes, access_token, installed_at, uninstalled_at)
VALUES (%[1]s, %[2]s, 'installed', %[3]s, %[4]s, %[5]s, NULL)
ON CONFLICT (domain) DO UPDATE SET state = 'installed', scopes = excluded.scopes, access_token = excluded.access_token,
  installed_at = excluded.installed_at, uninstalled_at = NULL
RETURNING id`
	at, scopes := in.At.UTC(), strings.Join(in.Scopes, ",")
	shop := tenant.Shop{Domain: in.Domain}
	if t.s.pool != nil {
		err := pgx.BeginFunc(ctx, t.s.pool, func(tx pgx.Tx) error {
			if err := tx.QueryRow(ctx, fmt.Sprintf(upsert, "$1", "$2", "$3", "$4", "$5"), in.Domain, at, scopes, in.SealedToken, at).Scan(&shop.ID); err != nil {
				return err
			}
			if after != nil {
				return after(ctx, tx, shop)
			}
			return nil
		})
		if err != nil {
			return tenant.Shop{}, fmt.Errorf("save install: %w", err)
		}
		return shop, nil
	}
	err := t.s.db.WithContext(ctx).Transaction(func(gtx *gorm.DB) error {
		stx, ok := gtx.Statement.ConnPool.(*sql.Tx)
		if !ok {
			return fmt.Errorf("save install: want a *sql.Tx, got %T", gtx.Statement.ConnPool)
		}
		if err := stx.QueryRowContext(ctx, fmt.Sprintf(upsert, "?", "?", "?", "?", "?"), in.Domain, at, scopes, in.SealedToken, at).Scan(&shop.ID); err != nil {
			return err
		}
		if after != nil {
			return after(ctx, stx, shop)
		}
		return nil
	})
	if err != nil {
		return tenant.Shop{}, fmt.Errorf("save install: %w", err)
	}
	return shop, nil
}

// SpendOAuthState records an install state a callback used (hashed), so
// that it works once; of two callbacks racing with one state, only the
// insert that wrote the row wins. Records of expired states are dropped:
// those states are refused by their expiry anyway.
func (t *Tenants) SpendOAuthState(ctx context.Context, s tenant.SpentState) error {
	row := oauthStateRow{NonceHash: s.StateHash, ShopDomain: s.Domain, CreatedAt: s.SpentAt.UTC(), ExpiresAt: s.ExpiresAt.UTC()}
	db := t.s.db.WithContext(ctx)
	res := db.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return fmt.Errorf("spend oauth state: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%w: it was used already", tenant.ErrOAuthState)
	}
	if err := db.Where("expires_at < ?", s.SpentAt.UTC()).Delete(&oauthStateRow{}).Error; err != nil {
		return fmt.Errorf("forget expired oauth states: %w", err)
	}
	return nil
}

// EnsureAPIKey binds a key hash to a shop; binding it again is a no-op, and
// a hash bound to another shop is an error, as is one that was revoked
// (tenant.ErrKeyRevoked). A key without a prefix is the environment's
// (ORDERDESK_API_KEY): binding one revokes the shop's earlier ones, in the
// same transaction, so replacing ORDERDESK_API_KEY stops the old key.
func (t *Tenants) EnsureAPIKey(ctx context.Context, shopID int64, hash, name string) error {
	now := time.Now().UTC()
	row := apiKeyRow{ShopID: shopID, KeyHash: hash, Name: name, CreatedAt: now}
	return t.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "key_hash"}}, DoNothing: true}).Create(&row).Error; err != nil {
			return fmt.Errorf("ensure api key: %w", err)
		}
		var got apiKeyRow
		if err := tx.Where("key_hash = ?", hash).Take(&got).Error; err != nil {
			return fmt.Errorf("ensure api key: %w", err)
		}
		if got.ShopID != shopID {
			return errors.New("ensure api key: this key is already bound to another shop")
		}
		if got.RevokedAt != nil {
			return fmt.Errorf("ensure api key: %w at %s (orderdesk keys revoke)", tenant.ErrKeyRevoked, got.RevokedAt.UTC().Format(time.RFC3339))
		}
		err := tx.Model(&apiKeyRow{}).Where("shop_id = ? AND prefix IS NULL AND revoked_at IS NULL AND key_hash <> ?", shopID, hash).
			Update("revoked_at", now).Error
		if err != nil {
			return fmt.Errorf("ensure api key: revoke the replaced one: %w", err)
		}
		return nil
	})
}

// PrincipalByKeyHash finds the unrevoked API key with this hash and its shop.
func (t *Tenants) PrincipalByKeyHash(ctx context.Context, hash string) (tenant.Principal, error) {
	var row struct {
		KeyID  int64
		ShopID int64
		Domain string
	}
	err := t.s.db.WithContext(ctx).Table("api_keys").
		Select("api_keys.id AS key_id, shops.id AS shop_id, shops.domain AS domain").
		Joins("JOIN shops ON shops.id = api_keys.shop_id").
		Where("api_keys.key_hash = ? AND api_keys.revoked_at IS NULL", hash).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return tenant.Principal{}, tenant.ErrUnauthenticated
	}
	if err != nil {
		return tenant.Principal{}, fmt.Errorf("api key lookup: %w", err)
	}
	return tenant.Principal{Shop: tenant.Shop{ID: row.ShopID, Domain: row.Domain}, KeyID: row.KeyID}, nil
}

// TouchAPIKeys records the keys' last use, never moving it back.
func (t *Tenants) TouchAPIKeys(ctx context.Context, keyIDs []int64, at time.Time) error {
	if len(keyIDs) == 0 {
		return nil
	}
	err := t.s.db.WithContext(ctx).Model(&apiKeyRow{}).
		Where("id IN ? AND (last_used_at IS NULL OR last_used_at < ?)", keyIDs, at.UTC()).
		Update("last_used_at", at.UTC()).Error
	if err != nil {
		return fmt.Errorf("touch api keys: %w", err)
	}
	return nil
}

// CreateAPIKey stores a managed key (its hash and prefix).
func (t *Tenants) CreateAPIKey(ctx context.Context, k tenant.NewAPIKey) (tenant.APIKey, error) {
	db := t.s.db.WithContext(ctx)
	var n int64
	if err := db.Model(&apiKeyRow{}).Where("prefix = ?", k.Prefix).Count(&n).Error; err != nil {
		return tenant.APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	if n > 0 {
		return tenant.APIKey{}, tenant.ErrPrefixTaken
	}
	prefix := k.Prefix
	row := apiKeyRow{ShopID: k.ShopID, KeyHash: k.Hash, Prefix: &prefix, Name: k.Name, CreatedAt: k.CreatedAt.UTC()}
	if err := db.Create(&row).Error; err != nil {
		return tenant.APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return t.apiKey(ctx, row.ID)
}

// apiKeyListRow is a key with its shop's domain.
type apiKeyListRow struct {
	ID         int64
	ShopID     int64
	Domain     string
	Prefix     *string
	Name       string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

func (r apiKeyListRow) toDomain() tenant.APIKey {
	k := tenant.APIKey{ID: r.ID, Shop: tenant.Shop{ID: r.ShopID, Domain: r.Domain}, Name: r.Name,
		CreatedAt: r.CreatedAt.UTC(), LastUsedAt: utcPtr(r.LastUsedAt), RevokedAt: utcPtr(r.RevokedAt)}
	if r.Prefix != nil {
		k.Prefix = *r.Prefix
	}
	return k
}

func (t *Tenants) keyQuery(ctx context.Context) *gorm.DB {
	return t.s.db.WithContext(ctx).Table("api_keys").Select("api_keys.id, api_keys.shop_id, shops.domain, api_keys.prefix, api_keys.name, api_keys.created_at, api_keys.last_used_at, api_keys.revoked_at").
		Joins("JOIN shops ON shops.id = api_keys.shop_id")
}

func (t *Tenants) apiKey(ctx context.Context, id int64) (tenant.APIKey, error) {
	var row apiKeyListRow
	err := t.keyQuery(ctx).Where("api_keys.id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return tenant.APIKey{}, fmt.Errorf("api key %d: %w", id, tenant.ErrKeyNotFound)
	}
	if err != nil {
		return tenant.APIKey{}, fmt.Errorf("api key %d: %w", id, err)
	}
	return row.toDomain(), nil
}

// ListAPIKeys lists keys, of one shop when shopID is not 0, oldest first.
func (t *Tenants) ListAPIKeys(ctx context.Context, shopID int64) ([]tenant.APIKey, error) {
	q := t.keyQuery(ctx).Order("api_keys.id")
	if shopID != 0 {
		q = q.Where("api_keys.shop_id = ?", shopID)
	}
	var rows []apiKeyListRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	out := make([]tenant.APIKey, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.toDomain())
	}
	return out, nil
}

// RevokeAPIKey revokes the key with this id, or this prefix when id is 0.
// A key revoked before keeps its first revocation time.
func (t *Tenants) RevokeAPIKey(ctx context.Context, id int64, prefix string, at time.Time) (tenant.APIKey, error) {
	db := t.s.db.WithContext(ctx)
	var row apiKeyRow
	q := db.Where("id = ?", id)
	if id == 0 {
		q = db.Where("prefix = ?", prefix)
	}
	err := q.Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return tenant.APIKey{}, tenant.ErrKeyNotFound
	}
	if err != nil {
		return tenant.APIKey{}, fmt.Errorf("revoke api key: %w", err)
	}
	if err := db.Model(&apiKeyRow{}).Where("id = ? AND revoked_at IS NULL", row.ID).Update("revoked_at", at.UTC()).Error; err != nil {
		return tenant.APIKey{}, fmt.Errorf("revoke api key: %w", err)
	}
	return t.apiKey(ctx, row.ID)
}
