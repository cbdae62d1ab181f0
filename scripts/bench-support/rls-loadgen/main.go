// rls-loadgen: a load generator for Envoy's rate-limit API, as Envoy's sidecars call it. It runs
// `-streams` goroutines making back-to-back ShouldRateLimit calls for `-duration` over `-conns` gRPC
// connections and prints `rps p50_ms p99_ms` (one line). Used by `pnpm -s bench rls`: a Go client keeps
// the measurement on the servers, not on the client's event loop.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"sync"
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
	flag.Parse()

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
	run := func(d time.Duration, record bool) ([]time.Duration, time.Duration) {
		var mu sync.Mutex
		var all []time.Duration
		var wg sync.WaitGroup
		start := time.Now()
		end := start.Add(d)
		var failed error
		for s := 0; s < *streams; s++ {
			wg.Add(1)
			go func(c rlsv3.RateLimitServiceClient) {
				defer wg.Done()
				local := make([]time.Duration, 0, 4096)
				for time.Now().Before(end) {
					t := time.Now()
					_, err := c.ShouldRateLimit(context.Background(), req)
					if err != nil {
						mu.Lock()
						failed = err
						mu.Unlock()
						return
					}
					local = append(local, time.Since(t))
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
	fmt.Printf("%.0f %.3f %.3f\n", float64(len(lat))/took.Seconds(), q(0.5), q(0.99))
}
