//go:build !unix

package simulate

import "time"

func cpuTime() (time.Duration, bool) { return 0, false }
