package sqlstore_test

import (
	"testing"

	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/store/sqlstore"
	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
	"github.com/corridorlane/corridor/internal/store/storetest"
)

func harness(e sqltest.Engine) storetest.Harness {
	return storetest.Harness{
		Open:   func(t testing.TB) store.DB { return e.Open(t) },
		Reopen: func(t testing.TB, db store.DB) store.DB { return e.Reopen(t, db.(*sqlstore.DB)) },
		Exec: func(t testing.TB, db store.DB, q string, args ...any) {
			e.Exec(t, db.(*sqlstore.DB), q, args...)
		},
	}
}

func TestStore(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, e sqltest.Engine) {
		storetest.Run(t, harness(e))
	})
}
