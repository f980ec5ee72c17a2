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
//	GET /self-cpu     per target served so far: [requests timed, µs, requests not timed], JSON
//	                  (itself not counted): an in-mix truth that needs no attribution
//
// The clock of /self-cpu: the serving goroutine's OS thread's CPU clock
// (CLOCK_THREAD_CPUTIME_ID) from the return of the read that brought the request to the
// return of the write of its response, which the handler writes itself (Content-Length,
// then Flush: the same bytes net/http would write after it). net/http reads, parses and
// runs the handler on one goroutine. Go gives a goroutine no clock of its own: the handler
// holds its thread (runtime.LockOSThread) so that no other goroutine runs there while it
// is timed; from the read to the handler (the parse, no blocking point) it is not held, and
// a request whose handler started on another thread than its read is not timed (counted
// third). Not in it: the wait for the read, and the tail after the write.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"unsafe"
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

const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID

// threadNs is the calling thread's CPU time and its id.
func threadNs() (int64, int) {
	var ts syscall.Timespec
	syscall.RawSyscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime,
		uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano(), syscall.Gettid()
}

type selfCPU struct {
	mu sync.Mutex
	m  map[string]*[3]float64
}

func (s *selfCPU) add(target string, ns int64, timed bool) {
	s.mu.Lock()
	e := s.m[target]
	if e == nil {
		e = &[3]float64{}
		s.m[target] = e
	}
	if timed {
		e[0]++
		e[1] += float64(ns) / 1e3
	} else {
		e[2]++
	}
	s.mu.Unlock()
}

// timedConn notes when a request's bytes came in: the first read with data since the last
// request's handler took the note. net/http's background read during a handler (another
// goroutine, one byte: the rest of the next request comes through the serving goroutine's
// buffered read) starts none.
type timedConn struct {
	net.Conn
	mu   sync.Mutex
	open bool
	t0   int64
	tid0 int
}

func (c *timedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && len(b) > 1 {
		t, tid := threadNs()
		c.mu.Lock()
		if !c.open {
			c.open, c.t0, c.tid0 = true, t, tid
		}
		c.mu.Unlock()
	}
	return n, err
}

type timedListener struct{ net.Listener }

func (l timedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &timedConn{Conn: c}, nil
}

type connKey struct{}

// respond writes what work() returns as the whole response and adds the request's time to
// s: from its read to the return of the write, the goroutine held on its thread from here.
func respond(s *selfCPU, w http.ResponseWriter, r *http.Request, work func() []byte) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_, tid := threadNs()
	var t0 int64
	tid0 := -1
	if c, ok := r.Context().Value(connKey{}).(*timedConn); ok {
		c.mu.Lock()
		if c.open {
			t0, tid0, c.open = c.t0, c.tid0, false
		}
		c.mu.Unlock()
	}
	body := work()
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.Write(body)
	w.(http.Flusher).Flush()
	t1, _ := threadNs()
	s.add(r.URL.RequestURI(), t1-t0, tid0 == tid)
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
	s := &selfCPU{m: map[string]*[3]float64{}}
	http.HandleFunc("/tiny", func(w http.ResponseWriter, r *http.Request) {
		respond(s, w, r, func() []byte { return []byte("x") })
	})
	http.HandleFunc("/cpu", func(w http.ResponseWriter, r *http.Request) {
		iters, err := strconv.ParseInt(r.URL.Query().Get("iters"), 10, 64)
		if err != nil || iters < 1 || iters > 10000000000 {
			http.Error(w, "iters: 1..1e10", http.StatusBadRequest)
			return
		}
		respond(s, w, r, func() []byte { return []byte(fmt.Sprintf("%d\n", burn(iters))) })
	})
	http.HandleFunc("/self-cpu", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		body, _ := json.Marshal(s.m)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})
	// every handler: a request respond() did not time (an error, a 404, /self-cpu) drops
	// its read's note, so that the next request on the connection starts its own
	untimed := func(w http.ResponseWriter, r *http.Request) {
		http.DefaultServeMux.ServeHTTP(w, r)
		if c, ok := r.Context().Value(connKey{}).(*timedConn); ok {
			c.mu.Lock()
			c.open = false
			c.mu.Unlock()
		}
	}
	srv := &http.Server{Handler: http.HandlerFunc(untimed),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		}}
	fmt.Printf("listening on %s\n", ln.Addr())
	os.Stdout.Sync()
	if err := srv.Serve(timedListener{ln}); err != nil {
		fmt.Fprintf(os.Stderr, "go_server: %v\n", err)
		os.Exit(1)
	}
}
