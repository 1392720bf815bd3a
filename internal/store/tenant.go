package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/orderdesk/orderdesk/internal/tenant"
)

type shopRow struct {
	ID        int64 `gorm:"primaryKey"`
	Domain    string
	CreatedAt time.Time
}

func (shopRow) TableName() string { return "shops" }

type apiKeyRow struct {
	ID        int64 `gorm:"primaryKey"`
	ShopID    int64
	KeyHash   string
	Name      string
	CreatedAt time.Time
}

func (apiKeyRow) TableName() string { return "api_keys" }

func (r shopRow) toDomain() tenant.Shop { return tenant.Shop{ID: r.ID, Domain: r.Domain} }

// Tenants implements tenant.Store.
type Tenants struct{ s *Store }

// Tenants returns the tenant.Store view of the database.
func (s *Store) Tenants() *Tenants { return &Tenants{s: s} }

// EnsureShop returns the shop with this domain, creating it if needed.
func (t *Tenants) EnsureShop(ctx context.Context, domain string) (tenant.Shop, error) {
	row := shopRow{Domain: domain, CreatedAt: time.Now().UTC()}
	err := t.s.db.WithContext(ctx).Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "domain"}}, DoNothing: true}).Create(&row).Error
	if err != nil {
		return tenant.Shop{}, fmt.Errorf("ensure shop: %w", err)
	}
	return t.ShopByDomain(ctx, domain)
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

// EnsureAPIKey binds a key hash to a shop; binding it again is a no-op, and
// a hash bound to another shop is an error.
func (t *Tenants) EnsureAPIKey(ctx context.Context, shopID int64, hash, name string) error {
	row := apiKeyRow{ShopID: shopID, KeyHash: hash, Name: name, CreatedAt: time.Now().UTC()}
	db := t.s.db.WithContext(ctx)
	if err := db.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "key_hash"}}, DoNothing: true}).Create(&row).Error; err != nil {
		return fmt.Errorf("ensure api key: %w", err)
	}
	var got apiKeyRow
	if err := db.Where("key_hash = ?", hash).Take(&got).Error; err != nil {
		return fmt.Errorf("ensure api key: %w", err)
	}
	if got.ShopID != shopID {
		return errors.New("ensure api key: this key is already bound to another shop")
	}
	return nil
}

// PrincipalByKeyHash finds the API key with this hash and its shop.
func (t *Tenants) PrincipalByKeyHash(ctx context.Context, hash string) (tenant.Principal, error) {
	var row struct {
		KeyID  int64
		ShopID int64
		Domain string
	}
	err := t.s.db.WithContext(ctx).Table("api_keys").
		Select("api_keys.id AS key_id, shops.id AS shop_id, shops.domain AS domain").
		Joins("JOIN shops ON shops.id = api_keys.shop_id").
		Where("api_keys.key_hash = ?", hash).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return tenant.Principal{}, tenant.ErrUnauthenticated
	}
	if err != nil {
		return tenant.Principal{}, fmt.Errorf("api key lookup: %w", err)
	}
	return tenant.Principal{Shop: tenant.Shop{ID: row.ShopID, Domain: row.Domain}, KeyID: row.KeyID}, nil
}
