// rls-loadgen: a load generator for Envoy's rate-limit API, as Envoy's sidecars call it. It runs
// `-streams` goroutines making ShouldRateLimit calls for `-duration` over `-conns` gRPC connections and
// prints `rps p50_ms p99_ms calls over_limit` (one line: the measured calls, and how many of them were
// answered OVER_LIMIT). Used by `pnpm -s bench rls`, where a Go client keeps the measurement on the
// servers rather than on the client's event loop, and by the tests as a grpc-go client.
//
// Closed loop (default): each stream calls back to back, so the rate is what the server sustains at that
// concurrency. Open loop (`-rate N`): calls are due at a fixed N per second whatever the answers do, as
// requests arrive at a sidecar, and the streams are only the calls that may be in flight at once. A call
// whose stream was still busy with an earlier answer when it fell due is counted from when it was due, so
// a server that falls behind shows it in the percentiles (no coordinated omission); a call sent by a
// stream that slept until it was due is counted from when it was sent, so the generator's own late
// wake-ups are not charged to the server.
//
// It runs on one processor (`-procs`, default 1): on a small machine shared with the service under test,
// a second one mostly spins looking for work, taking CPU from the service it measures.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	rlsv3 "github.com/envoyproxy/go-control-plane/envoy/service/ratelimit/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "host:port of the rate-limit service")
	domain := flag.String("domain", "governor", "rate-limit domain")
	key := flag.String("key", "generic_key", "descriptor entry key")
	value := flag.String("value", "", "descriptor entry value")
	streams := flag.Int("streams", 10, "concurrent callers")
	conns := flag.Int("conns", 4, "gRPC connections")
	duration := flag.Duration("duration", 3*time.Second, "measurement time")
	warmup := flag.Duration("warmup", 500*time.Millisecond, "warm-up time, not measured")
	rate := flag.Float64("rate", 0, "open loop: calls due per second in total (0: closed loop, back to back)")
	procs := flag.Int("procs", 1, "processors for the generator (GOMAXPROCS)")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)

	clients := make([]rlsv3.RateLimitServiceClient, *conns)
	for i := range clients {
		conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer conn.Close()
		clients[i] = rlsv3.NewRateLimitServiceClient(conn)
	}
	req := &rlsv3.RateLimitRequest{
		Domain:      *domain,
		Descriptors: []*corev3.RateLimitDescriptor{{Entries: []*corev3.RateLimitDescriptor_Entry{{Key: *key, Value: *value}}}},
	}
	// OVER_LIMIT answers among the measured calls.
	var over atomic.Int64
	run := func(d time.Duration, record bool) ([]time.Duration, time.Duration) {
		var mu sync.Mutex
		var all []time.Duration
		var wg sync.WaitGroup
		start := time.Now()
		end := start.Add(d)
		var next atomic.Int64
		var failed error
		for s := 0; s < *streams; s++ {
			wg.Add(1)
			go func(c rlsv3.RateLimitServiceClient) {
				defer wg.Done()
				local := make([]time.Duration, 0, 4096)
				for {
					var due time.Time
					if *rate > 0 {
						// The next call due, shared by all streams: the k-th is due at start + k/rate.
						k := next.Add(1) - 1
						due = start.Add(time.Duration(float64(k) / *rate * float64(time.Second)))
						if !due.Before(end) {
							break
						}
						if wait := time.Until(due); wait > 0 {
							time.Sleep(wait)
							due = time.Now()
						}
					} else {
						due = time.Now()
						if !due.Before(end) {
							break
						}
					}
					resp, err := c.ShouldRateLimit(context.Background(), req)
					if err != nil {
						mu.Lock()
						failed = err
						mu.Unlock()
						return
					}
					local = append(local, time.Since(due))
					if record && resp.GetOverallCode() == rlsv3.RateLimitResponse_OVER_LIMIT {
						over.Add(1)
					}
				}
				if record {
					mu.Lock()
					all = append(all, local...)
					mu.Unlock()
				}
			}(clients[s%len(clients)])
		}
		wg.Wait()
		if failed != nil {
			fmt.Fprintln(os.Stderr, "call failed:", failed)
			os.Exit(1)
		}
		return all, time.Since(start)
	}
	run(*warmup, false)
	lat, took := run(*duration, true)
	if len(lat) == 0 {
		fmt.Fprintln(os.Stderr, "no calls completed")
		os.Exit(1)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 {
		i := int(p * float64(len(lat)))
		if i >= len(lat) {
			i = len(lat) - 1
		}
		return float64(lat[i].Microseconds()) / 1000
	}
	fmt.Printf("%.0f %.3f %.3f %d %d\n", float64(len(lat))/took.Seconds(), q(0.5), q(0.99), len(lat), over.Load())
}
