package federation_test

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corridorlane/corridor/internal/node"
)

// Both nodes run in this process on SQLite, over loopback HTTP through
// their proxies, sharing the machine's cores as two processes would. The
// messages are day figures (stats.daily): their apply is one row, so the
// figures measure the federation itself — sealing, signing, pushing,
// verifying, the exactly-once bookkeeping — rather than a use case.

// BenchmarkApplyNodeToNode measures messages applied per second from one
// node's outbox to the other's inbox, pushed as they are written.
func BenchmarkApplyNodeToNode(b *testing.B) {
	const perRun = 20000
	p := newPair(b, func() string { return "" }, node.PeeringConfig{})
	p.start()
	p.converged(time.Minute)
	b.ResetTimer()
	var total, cpu time.Duration
	for i := 0; i < b.N; i++ {
		want := p.counts("CN")["applied"] + perRun
		start, cpu0 := time.Now(), cpuTime()
		p.sendStats("KR", perRun)
		p.appliedAtLeast("CN", want, 5*time.Minute)
		total += time.Since(start)
		cpu += cpuTime() - cpu0
	}
	b.ReportMetric(float64(perRun*b.N)/total.Seconds(), "msgs/s")
	// The machine may be shared: the CPU time both nodes spent per message
	// says what two idle cores would do, whatever else ran meanwhile.
	b.ReportMetric(float64(cpu.Microseconds())/float64(perRun*b.N), "cpu-µs/msg")
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCatchUp100k measures how long a node that was away takes to
// take a backlog of 100,000 messages once it is back: it pulls, and the
// other node pushes as soon as its backoff lets it.
func BenchmarkCatchUp100k(b *testing.B) {
	const backlog = 100000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		p := newPair(b, func() string { return "" }, node.PeeringConfig{})
		p.proxy["CN"].Down()
		// Korea runs and fails to push while the backlog builds up;
		// China is away.
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { defer wg.Done(); p.nodes["KR"].Federation.Run(ctx) }()
		p.sendStats("KR", backlog)
		b.StartTimer()
		start := time.Now()
		if err := p.proxy["CN"].Up(); err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); p.nodes["CN"].Federation.Run(ctx) }()
		cpu0 := cpuTime()
		p.appliedAtLeast("CN", backlog, 10*time.Minute)
		b.ReportMetric(time.Since(start).Seconds(), "s/catch-up")
		b.ReportMetric((cpuTime() - cpu0).Seconds(), "cpu-s")
		b.StopTimer()
		c := p.counts("CN")
		b.ReportMetric(float64(c["duplicate"]), "duplicates")
		cancel()
		wg.Wait()
	}
}

// appliedAtLeast waits, looking rarely so as to leave the cores to the
// nodes, until node at has applied n of its peer's messages.
func (p *pair) appliedAtLeast(at string, n int64, timeout time.Duration) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for p.counts(at)["applied"] < n {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s applied %d of %d in %s", at, p.counts(at)["applied"], n, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
