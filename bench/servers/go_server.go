// A Go net/http server for bench/attribution_accuracy.sh: goroutines per connection,
// multiplexed over GOMAXPROCS OS threads, so a request's work may move between threads.
// Standard library only; built offline by the script (GOPROXY=off, temporary GOCACHE).
//
//	go_server PORT      (PORT 0: any free port; prints "listening on ADDR:PORT")
//
// Routes:
//
//	GET /cpu?iters=N  N rounds of a xorshift32 loop (deterministic CPU work), body its result
//	GET /tiny         a 1-byte body
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
)

func burn(iters int64) uint32 {
	x := uint32(2463534242)
	for i := int64(0); i < iters; i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
	}
	return x
}

func main() {
	port := "0"
	if len(os.Args) > 1 {
		port = os.Args[1]
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go_server: listen: %v\n", err)
		os.Exit(1)
	}
	http.HandleFunc("/tiny", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("x"))
	})
	http.HandleFunc("/cpu", func(w http.ResponseWriter, r *http.Request) {
		iters, err := strconv.ParseInt(r.URL.Query().Get("iters"), 10, 64)
		if err != nil || iters < 1 || iters > 10000000000 {
			http.Error(w, "iters: 1..1e10", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d\n", burn(iters))
	})
	fmt.Printf("listening on %s\n", ln.Addr())
	os.Stdout.Sync()
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintf(os.Stderr, "go_server: %v\n", err)
		os.Exit(1)
	}
}
