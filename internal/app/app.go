// Package app holds Corridor's use cases: everything a page, an API route,
// a command or a periodic job asks of a node. Each use case takes a
// Principal, refuses what its role may not do, and runs as one
// transaction: the state change, its side data, the transition record and
// the audit entry are written together or not at all. Every state change
// goes through the trip machine (internal/trip) in one place, change.go.
//
// Errors are *Error values with a Code the web layer maps to HTTP statuses.
// Nothing here logs personal data; see logging.go.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/corridorlane/corridor/internal/audit"
	"github.com/corridorlane/corridor/internal/auth"
	"github.com/corridorlane/corridor/internal/policy"
	"github.com/corridorlane/corridor/internal/store"
)

// Config is what a node's application needs.
type Config struct {
	Store  store.Store
	Policy *policy.Policy
	// Country is this node's ISO 3166-1 alpha-2 code: it approves trips
	// on lanes whose destination it is.
	Country string
	// AuthorityName is printed on entry approvals.
	AuthorityName string
	Issuer        Issuer
	// RateLimitKey keys the HMACs of rate-limit counters; at least 32
	// random bytes, kept with the node's keys.
	RateLimitKey []byte

	// Optional settings; zero values take the defaults.
	PasswordParams auth.Params
	// Location is the time zone whose calendar days count for daily
	// declarations and monitoring days; UTC by default.
	Location *time.Location
	// Now is the clock; time.Now by default.
	Now           func() time.Time
	SessionTTL    time.Duration // 12 h
	InvitationTTL time.Duration // 7 days
	// TravellerSessionTTL bounds a traveller's sign-in through the link.
	TravellerSessionTTL time.Duration // 12 h
	// ApprovalGraceDays: an approval stays valid this many days after the
	// planned departure date.
	ApprovalGraceDays int // 7
	Logger            *slog.Logger
}

// App runs the use cases.
type App struct {
	cfg    Config
	db     store.Store
	policy atomic.Pointer[policy.Policy]
	keyer  *auth.Keyer
	log    *slog.Logger
	fed    atomic.Pointer[federationHolder] // peers; nil when the node works alone
}

// New checks the configuration and returns an App.
func New(cfg Config) (*App, error) {
	var errs []error
	if cfg.Store == nil {
		errs = append(errs, errors.New("a store is required"))
	}
	if cfg.Policy == nil {
		errs = append(errs, errors.New("a policy is required"))
	}
	if cfg.Issuer == nil {
		errs = append(errs, errors.New("an issuer is required"))
	}
	if len(cfg.Country) != 2 || strings.ToUpper(cfg.Country) != cfg.Country {
		errs = append(errs, fmt.Errorf("country %q must be an ISO 3166-1 alpha-2 code in capitals", cfg.Country))
	}
	if strings.TrimSpace(cfg.AuthorityName) == "" {
		errs = append(errs, errors.New("the authority's name is required"))
	}
	keyer, err := auth.NewKeyer(cfg.RateLimitKey)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("app: %w", errors.Join(errs...))
	}
	if cfg.PasswordParams == (auth.Params{}) {
		cfg.PasswordParams = auth.DefaultParams
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.InvitationTTL <= 0 {
		cfg.InvitationTTL = 7 * 24 * time.Hour
	}
	if cfg.TravellerSessionTTL <= 0 {
		cfg.TravellerSessionTTL = 12 * time.Hour
	}
	if cfg.ApprovalGraceDays <= 0 {
		cfg.ApprovalGraceDays = 7
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &App{cfg: cfg, db: cfg.Store, keyer: keyer, log: cfg.Logger}
	a.policy.Store(cfg.Policy)
	return a, nil
}

// Policy returns the policy in force.
func (a *App) Policy() *policy.Policy { return a.policy.Load() }

// SetPolicy replaces the policy in force, for a policy change agreed by
// both nodes. Its retention must be at least policy.MinRetentionDays.
func (a *App) SetPolicy(p *policy.Policy) error {
	if p == nil || p.RetentionDays < policy.MinRetentionDays {
		return errors.New("app: a policy with a retention of at least 14 days is required")
	}
	a.policy.Store(p)
	return nil
}

func (a *App) now() time.Time { return a.cfg.Now().UTC().Truncate(time.Millisecond) }

// day is the calendar day of t where the node runs, YYYY-MM-DD.
func (a *App) day(t time.Time) string { return t.In(a.cfg.Location).Format(time.DateOnly) }

// dayStart is the start of a YYYY-MM-DD day in the node's time zone.
func (a *App) dayStart(day string) (time.Time, error) {
	return time.ParseInLocation(time.DateOnly, day, a.cfg.Location)
}

// entry builds an audit entry for p.
func entry(p Principal, role string, action, object string, at time.Time, details map[string]string) *audit.Entry {
	return &audit.Entry{At: at, Actor: p.ActorID(), Role: role, Action: action, Object: object, Details: details}
}

// tx runs fn in a transaction and turns store errors into coded ones.
func (a *App) tx(ctx context.Context, what string, fn func(tx store.Store) error) error {
	err := a.db.InTx(ctx, fn)
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	coded := storeErr(err, what)
	if ErrorCode(coded) == CodeInternal {
		a.log.ErrorContext(ctx, "use case failed", slog.String("what", what), slog.Any("err", err))
	}
	return coded
}
