package sqlstore_test

import (
	"testing"

	"github.com/corridorlane/corridor/internal/store/sqlstore/sqltest"
	"github.com/corridorlane/corridor/internal/store/storetest"
)

func TestFederationStore(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, e sqltest.Engine) {
		storetest.RunFederation(t, harness(e))
	})
}
