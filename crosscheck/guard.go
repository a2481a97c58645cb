package main

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

const heapMetric = "/memory/classes/heap/objects:bytes"

// guard bounds the Go heap while Porcupine searches. Past the bound it trips: the model refuses
// every step, the search unwinds, and the key answers Unknown. The soft limit makes the garbage
// collector work harder as the heap nears the bound; if the heap still reaches twice the bound
// (a search that does not unwind), the program prints what it has, with the rest Unknown, and
// exits, rather than letting the machine swap.
type guard struct {
	limit    uint64
	over     atomic.Bool
	peakSeen atomic.Uint64
	mu       sync.Mutex
	epoch    int // a sample taken before the current key began cannot trip it
}

func startGuard(limit uint64, lastWords func()) *guard {
	g := &guard{limit: limit}
	debug.SetMemoryLimit(int64(limit))
	go g.watch(lastWords)
	return g
}

func (g *guard) watch(lastWords func()) {
	sample := []metrics.Sample{{Name: heapMetric}}
	for {
		g.mu.Lock()
		epoch := g.epoch
		g.mu.Unlock()
		metrics.Read(sample)
		heap := sample[0].Value.Uint64()
		if heap > g.peakSeen.Load() {
			g.peakSeen.Store(heap)
		}
		g.mu.Lock()
		if heap > g.limit && g.epoch == epoch {
			g.over.Store(true)
		}
		g.mu.Unlock()
		if heap > 2*g.limit {
			fmt.Fprintf(os.Stderr, "caplab-crosscheck: heap %d MiB, twice the bound: stopping\n", heap>>20)
			lastWords()
			os.Exit(0)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (g *guard) tripped() bool { return g.over.Load() }
func (g *guard) peak() uint64  { return g.peakSeen.Load() }

// begin starts a key with a clean slate.
func (g *guard) begin() {
	runtime.GC()
	g.mu.Lock()
	g.epoch++
	g.over.Store(false)
	g.mu.Unlock()
}

// end frees what the key's search held, so the next key starts from the baseline.
func (g *guard) end() {
	debug.FreeOSMemory()
}
