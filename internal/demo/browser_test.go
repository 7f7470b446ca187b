package demo

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/corridorlane/corridor/internal/i18n"
	"github.com/corridorlane/corridor/internal/ledger"
	"github.com/corridorlane/corridor/internal/store"
	"github.com/corridorlane/corridor/internal/trip"
	"github.com/corridorlane/corridor/internal/web/webtest"
)

// The joint dashboard in a real browser, on both demo nodes after the
// scripted trips: each node's joint officer signs in and reads the
// figures off the page, which must be the same on both nodes and the
// script's own count of the cases per stage. Then a cross-border infection
// is recorded through the form on Korea's node and a lane suspended
// through the page there; both dashboards must show both.
//
// Skipped without Chromium unless CORRIDOR_CI is set (package webtest).

// dashboard is what the page shows, read from its data attributes.
type dashboard struct {
	// Cells maps "route week node stage" to a count above zero.
	Cells map[string]int `json:"cells"`
	// Totals maps "node stage" to the count over every route.
	Totals map[string]int `json:"totals"`
	Never  bool           `json:"never"`
	Days   int            `json:"days"`
	// Since maps a node to its own days since ("never" when none).
	Since map[string]string `json:"since"`
	// Status maps a lane to "open" or "suspended".
	Status map[string]string `json:"status"`
	Differ int               `json:"differ"`
}

const readDashboard = `(() => {
  const d = {cells: {}, totals: {}, since: {}, status: {}};
  for (const e of document.querySelectorAll('td[data-week]')) {
    const n = Number(e.textContent.trim());
    if (n > 0) d.cells[[e.dataset.route, e.dataset.week, e.dataset.node, e.dataset.stage].join(' ')] = n;
  }
  for (const e of document.querySelectorAll('td[data-total]')) {
    const k = e.dataset.node + ' ' + e.dataset.stage;
    const n = Number(e.textContent.trim());
    if (n > 0) d.totals[k] = (d.totals[k] || 0) + n;
  }
  const h = document.querySelector('[data-since-joint]');
  d.never = h.dataset.never === 'true';
  d.days = Number(h.dataset.days);
  for (const e of document.querySelectorAll('[data-since-node]')) {
    d.since[e.dataset.sinceNode] = e.dataset.never === 'true' ? 'never' : e.dataset.days;
  }
  for (const e of document.querySelectorAll('[data-lane-status]')) d.status[e.dataset.laneStatus] = e.dataset.status;
  d.differ = document.querySelectorAll('[data-differ]').length;
  return JSON.stringify(d);
})()`

func (s *Side) person(r trip.Role) Person {
	for _, p := range s.People {
		if p.Role == string(r) {
			return p
		}
	}
	return Person{}
}

// officer signs the side's joint officer in, in a tab of its own.
func officer(t *testing.T, root context.Context, s *Side, lang i18n.Lang) *webtest.Browser {
	b := webtest.NewTab(t, root, s.URL, lang)
	b.Open("/lang/" + string(lang) + "?next=/login")
	p := s.person(trip.RoleJoint)
	b.Login(p.Email, p.Password)
	return b
}

func read(b *webtest.Browser) dashboard {
	b.T.Helper()
	b.Open("/joint/ledger")
	var d dashboard
	b.Eval(readDashboard, &d)
	return d
}

// wantTotals is the summary's count per node and stage, as the page keys
// its totals.
func wantTotals(sum *Summary) map[string]int {
	out := map[string]int{}
	for c, ns := range sum.Nodes {
		for st, n := range ns.CasesByStage {
			if n > 0 {
				out[c+" "+string(st)] = n
			}
		}
	}
	return out
}

func TestBrowserJointDashboard(t *testing.T) {
	if testing.Short() {
		t.Skip("the browser test is not short")
	}
	root := webtest.Start(t)
	ctx, d := startDriven(t, "sqlite", Options{}, 5*time.Minute)
	sum, err := d.RunScript(ctx, t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	want := wantTotals(sum)
	if len(want) == 0 {
		t.Fatalf("the script found no positive: %+v", sum.Nodes)
	}
	cn, kr := officer(t, root, d.Sides["CN"], i18n.EN), officer(t, root, d.Sides["KR"], i18n.EN)

	// After the script: the same figures on both nodes, the script's.
	both := func(what string) (dashboard, dashboard) {
		t.Helper()
		a, b := read(cn), read(kr)
		if !maps.Equal(a.Cells, b.Cells) || !maps.Equal(a.Totals, b.Totals) {
			t.Fatalf("%s: the dashboards differ:\nCN %v %v\nKR %v %v", what, a.Cells, a.Totals, b.Cells, b.Totals)
		}
		if a.Never != b.Never || a.Days != b.Days || !maps.Equal(a.Since, b.Since) {
			t.Fatalf("%s: the headlines differ: CN %+v, KR %+v", what, a, b)
		}
		if a.Differ != 0 || b.Differ != 0 {
			t.Fatalf("%s: weeks marked as disputed: CN %d, KR %d", what, a.Differ, b.Differ)
		}
		return a, b
	}
	a, _ := both("after the script")
	if !maps.Equal(a.Totals, want) {
		t.Fatalf("the dashboards show %v; the script counted %v", a.Totals, want)
	}
	if len(a.Cells) == 0 {
		t.Fatal("the dashboards show no week's figures")
	}
	cbi := sum.Nodes["CN"].CrossBorderInfections + sum.Nodes["KR"].CrossBorderInfections
	if a.Never != (cbi == 0) {
		t.Fatalf("the headline says never=%v; the script counted %d cross-border infections", a.Never, cbi)
	}
	cn.Shot("joint-ledger-cn")
	kr.Shot("joint-ledger-kr")
	// The same page in Chinese and Korean shows the same figures.
	for _, lang := range []i18n.Lang{i18n.ZH, i18n.KO} {
		b := officer(t, root, d.Sides["KR"], lang)
		if got := read(b); !maps.Equal(got.Totals, want) || !maps.Equal(got.Cells, a.Cells) {
			t.Fatalf("%s: the dashboard shows %v", lang, got.Totals)
		}
		if a.Never {
			b.Expect("[data-since-joint]", "ledger.headline.never")
		}
		b.Shot("joint-ledger-kr")
	}

	// A cross-border infection, recorded through the form on Korea's
	// node, linked to a traveller who flew.
	page, err := d.Sides["KR"].Node.Store.ListTrips(ctx, store.TripFilter{Limit: 200})
	if err != nil {
		t.Fatal(err)
	}
	ref := ""
	for _, tr := range page.Trips {
		if !tr.DepartedAt.IsZero() && tr.State == trip.Completed {
			ref = tr.Reference
		}
	}
	if ref == "" {
		t.Fatal("no traveller of the script flew and completed")
	}
	today := d.Clock.Now().UTC().Format(time.DateOnly)
	kr.Open("/joint/ledger")
	kr.Fill("trip_ref", ref, "detected_on", today, "local_ref", "KDCA-DEMO-0001", "note", "the host's driver")
	kr.Submit(`#secondary-form button[type=submit]`)
	kr.Expect(".flash", "flash.secondary_recorded")
	if err := d.Settle(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if sum, err = d.Summarise(ctx, "", nil); err != nil {
		t.Fatal(err)
	}
	want = wantTotals(sum)
	if want["KR "+string(ledger.Secondary)] != 1 {
		t.Fatalf("the summary does not count the secondary case: %v", want)
	}
	a, _ = both("after the secondary case")
	if !maps.Equal(a.Totals, want) || a.Never || a.Days != 0 || a.Since["KR"] != "0" || a.Since["CN"] != "never" {
		t.Fatalf("after the secondary case: the dashboards show %+v; the script's summary counts %v", a, want)
	}
	kr.Shot("joint-ledger-secondary")

	// A lane suspended through the page on Korea's node shows suspended
	// on both nodes' dashboards.
	until := d.Clock.Now().UTC().AddDate(0, 0, 7).Format(time.DateOnly)
	kr.Open("/joint")
	form := `form[action="/joint/lanes/CN-KR/suspend"]`
	kr.Run("filling the suspension", chromedp.SetValue(chromedp.CSS(form+` [name=until]`), until),
		chromedp.SetValue(chromedp.CSS(form+` [name=reason]`), "a cross-border infection on the lane"))
	kr.Submit(form + ` button[type=submit]`)
	kr.Expect(".flash", "flash.suspended")
	if err := d.Settle(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	var status []string
	for c, b := range map[string]*webtest.Browser{"CN": cn, "KR": kr} {
		got := read(b)
		if got.Status["CN-KR"] != "suspended" || got.Status["KR-CN"] != "open" {
			status = append(status, fmt.Sprintf("%s's dashboard shows CN-KR %s and KR-CN %s", c, got.Status["CN-KR"], got.Status["KR-CN"]))
		}
		b.Shot("joint-ledger-suspended-" + strings.ToLower(c))
	}
	if len(status) > 0 {
		t.Fatalf("after Korea suspended lane CN-KR: %s (a suspension must cross to the peer as route.suspended)", strings.Join(status, "; "))
	}
}
