// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * Request tracking for the tracked cgroup's HTTP/1.x servers:
 *
 *   sockops            adds accepted (passive) TCP sockets to sock_hash and gives them their
 *                      state in conns (socket local storage); drops it on close; never the
 *                      connections the server opens itself
 *   cgroup_skb/ingress finds where request heads end in the byte stream with the state
 *                      machine of http_head.h (across segments, skipping Content-Length and
 *                      chunked bodies, strict like common/http_parser.c), records each
 *                      head's method kind and counts it as awaiting a response; resyncs
 *                      after a sequence gap (CONN_RESYNC); parses the segment completing a
 *                      handshake (TCP_DEFER_ACCEPT, Fast Open) too (early_conns)
 *   recv binding       the thread that reads from a tracked connection serves its requests:
 *                      fexit/tcp_recvmsg, else tp_btf/sock_recv_length, else kprobe
 *   sk_msg             on the first write of a response to an awaiting request, closes the
 *                      writer's running slice and inserts "X-Energy-Score: <µJ>\r\n" after
 *                      the status line; follows the send stream's write_seq across writes
 *                      the kernel sends unseen; anything unsafe leaves the response untouched
 *   cgroup_skb/egress  records only (egress_framing): frames responses from the outgoing
 *                      segments' payload with the same byte state machine as sk_msg, by TCP
 *                      sequence (a retransmission is framed once, a gap unframes)
 *   send binding       records only: tp_btf/sock_send_length, in the writer after each send:
 *                      ends the writer's stretch, opens a finished response's tail
 *
 * Charging the work itself happens in the scheduler hooks (signals.bpf.c, through the
 * per-thread accumulator of requests.bpf.h).
 */
#include "http_energy.bpf.h"
#include "requests.bpf.h"
#include "http_head.h"
#include "byte_scan.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* --request-log: ingress keeps request lines, sk_msg sends records (zero cost otherwise). */
const volatile bool emit_records = false;
/* --max-conns: connections with state at once (sk storage has no max_entries of its own) */
const volatile __u32 max_conns = 65536;
/* The receive binding is the kprobe, which cannot reach sk storage: sockops keeps
 * conn_index for it. */
const volatile bool kprobe_index = false;
/* Records only (--no-header --request-log, issue 14): responses are framed by on_egress and
 * writes bound by send_tp; no socket goes into sock_hash, on_msg is not loaded. */
const volatile bool egress_framing = false;

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP_VERSION 4
#define IPPROTO_TCP_NUM 6
#define HEADER_NAME "X-Energy-Score: "
#define HEADER_NAME_LEN 16
#define HEADER_MAX (HEADER_NAME_LEN + 20 + 2)
#define LINEAR_MAX 4096 /* a write made one piece again after the header goes in */

/* Connection and request state: this object's own (requests.bpf.h holds what the
 * scheduler hooks share). */
/* conn_state.flags */
#define CONN_PASSIVE (1u << 0) /* accepted by the server: requests come in */
#define CONN_NOT_HTTP (1u << 1)
#define CONN_DESYNC (1u << 2)  /* lost TCP sequence sync: no more rewrites */
#define CONN_SEQ_VALID (1u << 3)
/*
 * Set by ingress (after creation the only writer of flags), read by sk_msg:
 *
 * CONN_UNFRAMED  for good: a head arrived while CONN_KINDS requests already awaited a
 *                response, so req_kind[] cannot hold its kind. heads stops counting;
 *                sk_msg leaves every later write on the connection alone.
 * CONN_RESYNC    ingress lost bytes (a TCP sequence gap). Heads counted before the gap
 *                are exact, in order, with their kinds: sk_msg may answer them. While
 *                the flag is set, ingress counts no head, so a response the server
 *                writes while heads == responses answers a request nobody counted:
 *                sk_msg leaves it alone. Its kind is unknown (a lost HEAD's response has
 *                no body whatever its Content-Length says), so sk_msg cannot be sure
 *                where it ends: when unsure, no header.
 *                Ingress clears the flag, then counts the head, only when (1) every
 *                head counted so far had its response started (heads == responses)
 *                when a segment arrived, (2) that segment starts with "METHOD " (upper
 *                case), and (3) a whole valid head parses from its first byte. A head
 *                counted after the flag clears is a request the server will answer
 *                next. Any doubt (a parse error, another gap) and the flag stays set:
 *                no header rather than a wrong one.
 */
#define CONN_UNFRAMED (1u << 4)
#define CONN_RESYNC (1u << 5)

#define CONN_KINDS 8 /* requests that may await a response at once (pipelining depth) */

/* What a request's method means for the framing of its response. */
enum req_kind {
	REQ_KIND_PLAIN = 0,
	REQ_KIND_HEAD = 1,    /* the response has no body, whatever its headers say */
	REQ_KIND_CONNECT = 2, /* a 2xx response ends HTTP on the connection */
};

/* conn_state.out_state: where sk_msg is in the response stream (requests.bpf.c) */
enum out_state {
	OUT_IDLE,	   /* at a response boundary: the next byte starts a status line */
	OUT_STATUS,	   /* in "HTTP/1.x NNN": out_match bytes of it seen */
	OUT_REASON,	   /* in the rest of the status line */
	OUT_LINE_START,	   /* at the start of a header line, or of the blank line */
	OUT_NAME,	   /* in a header name */
	OUT_VALUE,	   /* in a Content-Length or Transfer-Encoding value */
	OUT_SKIP_LINE,	   /* in a value nobody needs */
	OUT_HEAD_CR,	   /* the CR of the blank line */
	OUT_BODY,	   /* out_left body bytes to pass, by count */
	OUT_CHUNK_SIZE,	   /* in a chunk-size line's hex digits */
	OUT_CHUNK_EXT,	   /* after them, up to the line's end */
	OUT_CHUNK_DATA,	   /* out_left chunk bytes to pass, by count */
	OUT_CHUNK_CRLF,	   /* the CRLF after chunk data */
	OUT_TRAILER_START, /* at the start of a trailer line, or of the final blank line */
	OUT_TRAILER_LINE,
	OUT_TRAILER_CR,
	OUT_DONE,	   /* HTTP ended, or framing lost: the connection is left alone for good */
};

/*
 * Fields are grouped by the CPU that writes them, so that a write on one side does not take
 * the other side's cache line away: ingress runs in softirq on the client's CPU, sk_msg and
 * the receive binding in the server thread. A conns value is only 8-byte aligned (a socket
 * storage element's data follows its header), so aligned(64) would not keep groups apart;
 * CONN_LINE_GAP unused bytes between groups do, whatever the value's address.
 */
#define CONN_LINE_GAP 56

struct conn_state {
	/* Ingress (softirq) group; flags also at sockops, before the connection is shared. */
	__u32 next_seq;	   /* next TCP sequence number expected on ingress */
	__u32 flags;
	/*
	 * Ingress (softirq) and sk_msg (process context) each write only their own counter,
	 * so neither does a read-modify-write of the other's: heads - responses requests
	 * await a response. req_kind[n % CONN_KINDS] is what request n asked for (enum
	 * req_kind), written by ingress before it counts the head.
	 */
	__u32 heads;	   /* request heads received (ingress only) */
	__u32 head_seq;	   /* TCP sequence of the last request line's first byte (ingress) */
	__u8 req_kind[CONN_KINDS];
	struct http_head_parser hp; /* ingress only: where request heads end (http_head.h) */
	__u8 gap_ingress[CONN_LINE_GAP];
	/*
	 * Server-thread group. The request being served, in 1/2^REQ_FRAC_BITS units
	 * (request_energy.h): added to atomically by take_thread_work (the receive binding and
	 * sk_msg, both in the server thread), taken by sk_msg with an atomic subtraction. Its
	 * own line would need another gap and the BPF stack has no room for it (on_sockops
	 * holds a struct conn_state).
	 */
	__u64 cur_uj_fx;
	__u64 cur_ns;	    /* CPU ns in cur_uj_fx (atomic, as cur_uj_fx) */
	/*
	 * Egress: written by sk_msg only (sendmsg holds the socket lock, so one run at a time
	 * per connection). Each response is followed from its status line to its end.
	 */
	__u32 responses;   /* responses started (sk_msg only) */
	__u32 out_state;    /* enum out_state */
	__u64 out_left;	    /* OUT_BODY, OUT_CHUNK_DATA: bytes to pass; else a number read */
	__u64 out_cl;	    /* this head's Content-Length */
	__u32 out_head_len; /* bytes of this head (or of the trailers) so far */
	__u16 out_status;   /* this head's status code */
	__u8 out_kind;	    /* enum req_kind of the request this response answers */
	__u8 out_hdr;	    /* OUT_HDR_*: the header whose name or value is being read */
	__u8 out_match;	    /* bytes of that name, value or CRLF matched */
	__u8 out_phase;	    /* in a value: 0 before it, 1 in it, 2 after it */
	__u8 out_framing;   /* OUT_F_*: framing headers seen in this head */
	__u8 out_pending;   /* a header is owed at the start of the next write */
	__u32 tail_n1; /* 1 + the response whose last byte this write held (0: none) */
	__u64 out_pending_uj; /* its value */
	/* issue 13: the record of the response being written (sk_msg, and sockops at close) */
	__u64 cookie;	    /* socket cookie: the connection's id in records and req_slots */
	__u64 rec_uj_fx;    /* the response being written: its energy so far */
	__u64 rec_ns;
	__u64 out_total;    /* response bytes written on the connection before this write */
	__u32 rec_open;	    /* a final response started and has not reached its last byte */
	__u32 out_seq;	    /* once out_total: the send stream's sequence at the framing's place */
	/* egress_framing only (on_egress, send_tp): out_seq is then the next byte on_egress
	 * expects; offsets below count from the stream's first byte (out_isn) */
	__u32 out_isn;	    /* the response stream's first sequence number (sockops) */
	__u32 send_mark;    /* stream bytes written when the last send returned (send_tp) */
	__u32 tail_end;	    /* the stream offset where the response of tail_n1 ended */
	/* send_tp runs after the send released the socket, so it may race on_egress (softirq,
	 * queued data) on another CPU: takers never write tail_n1, they mark what they took */
	__u32 tail_taken;
	__u32 send_resp;    /* responses when the last send returned (send_tp) */
	__u32 pad3;
};

_Static_assert(__builtin_offsetof(struct conn_state, cur_uj_fx) >=
		       __builtin_offsetof(struct conn_state, gap_ingress) + CONN_LINE_GAP,
	       "the ingress and server-thread groups may share a cache line");

/* struct req_slot_key, struct req_slot: signals.h (user space reads the slots at stop) */

/* --request-log: ingress keeps request lines, sk_msg sends records (zero cost otherwise) */

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__uint(max_entries, 65536); /* set at load time */
	__type(key, struct conn_key);
	__type(value, __u64);
} sock_hash SEC(".maps");

/*
 * A tracked connection's state lives with its socket (issue 14): found from the socket every
 * hook already has (sockops, ingress's skb->sk, sk_msg's msg->sk, the receive hook's BTF
 * sk) instead of a 40-byte 4-tuple hash lookup, freed with the socket. sockops creates it
 * (passive establish) and deletes it at TCP_CLOSE; conns_live counts them for --max-conns.
 */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct conn_state);
} conns SEC(".maps");

__u64 conns_live; /* connections with state in conns now (sockops only, atomically) */

/* The kprobe binding's view of conns (kprobe_index only): which 4-tuples are tracked. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* set at load time: max_conns with the kprobe binding */
	__type(key, struct conn_key);
	__type(value, __u8);
} conn_index SEC(".maps");

/* The slots slot_ring has no room for (a pair taken by another connection, a third request
 * awaiting at once). Preallocated (sized 1 without --request-log): a NO_PREALLOC insert and
 * delete per request cost about 0.4 and 0.2 us a run more (docs/overhead.md). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536); /* set at load time */
	__type(key, struct req_slot_key);
	__type(value, struct req_slot);
} req_slots SEC(".maps");

/*
 * Where a request's slot lives first (issue 14): entry 2 x (cookie mod slot_pairs) + (n mod
 * 2), owned through its tag (req_slot_tag()). An array entry is found by index, with no hash,
 * no bucket lock and no allocation: a keep-alive connection's slot n awaits its response
 * while n + 1's line comes in, so two entries a connection hold the usual case. Whoever
 * finds the entry taken goes to req_slots. Mmapable: user space takes what waits at stop
 * with the same compare-and-swap on the tag (requests.c).
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* set at load time: 2 x slot_pairs */
	__type(key, __u32);
	__type(value, struct req_slot);
} slot_ring SEC(".maps");

const volatile __u32 slot_pairs = 0; /* set at load time (0: slot_ring unused) */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* set at load time (--request-ring-kb) */
} records SEC(".maps");

/* Records a CPU sends between two wakeups of their reader: a quarter of the ring over the
 * CPUs (set at load time with the ring's size) */
const volatile __u32 records_wake_every = 1;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct request_counters);
} req_counters SEC(".maps");

/* Cumulative µJ attributed to each process (tgid), written by user space each interval
 * so that `bpftool map dump name proc_energy_uj` shows it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} proc_energy_uj SEC(".maps");

static __always_inline struct request_counters *get_counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&req_counters, &zero);
}

__noinline int end_tail(__u64 cookie, __u32 n, __u64 fx, __u64 ns);
__noinline int add_to_slot(__u64 cookie, __u32 n, __u64 fx, __u64 ns);

/* thread_acct.wr_open */
#define WR_RESPONSE 1 /* wrote part of response wr_n of wr_cookie */
#define WR_LOST 2     /* wrote on wr_cookie, framing lost or HTTP ended (OUT_DONE) */

#define MSG_PEEK_FLAG 2		/* MSG_PEEK: include/linux/socket.h */
#define RECV_LEN_UNKNOWN (1 << 30) /* bind_thread_btf: fexit without bpf_get_func_ret */

/*
 * Does a receive that returned ret bytes of c (sk) bring a request line's first byte? Its
 * bytes are [copied_seq - ret, copied_seq) once it returned ([copied_seq, + ret) for a
 * peek), and ingress, which saw them arrive first, keeps where the last line started. A
 * later line than the read's bytes: an earlier one may be among them, so yes. No: the read
 * brings a body or the rest of a head, whose request's head was read before. On a
 * connection ingress no longer parses, yes (the rule as it was before the test).
 */
static __always_inline bool read_brings_head(struct conn_state *c, struct sock *sk, int ret,
					     int flags)
{
	__u32 end, first;

	/* where ingress no longer parses (head_seq then stale) nothing tells: a head */
	if ((flags & RECV_LEN_UNKNOWN) ||
	    (c->flags & (CONN_NOT_HTTP | CONN_DESYNC | CONN_UNFRAMED | CONN_RESYNC)) ||
	    c->hp.state == HH_TUNNEL || c->hp.state == HH_REJECTED)
		return true;
	end = BPF_CORE_READ((struct tcp_sock *)sk, copied_seq);
	first = flags & MSG_PEEK_FLAG ? end : end - (__u32)ret;
	return (__s32)(*(volatile __u32 *)&c->head_seq - first) >= 0;
}

/*
 * A socket operation of the current thread on tracked connection c (NULL: a receive whose
 * state the kprobe binding cannot reach): the thread's pending
 * work and its running slice up to now go to c's current request; or, at a receive (recv)
 * when the thread's last socket op wrote a response's last byte, to that response, whose
 * record then goes out (its tail: docs/attribution.md); or, at a receive of sk that
 * brought ret > 0 bytes of another connection with a request line's start, when the last
 * op wrote part of a response, to that response (its slot: with --request-log only). This
 * runs outside the
 * scheduler hooks (preemptible, interruptible), so it writes no per-CPU state: it reads the
 * slice's start (a racing switch or flush makes it later than now: nothing is added),
 * moves the watermark first, and takes the pending work with atomic subtractions (a
 * switch adding meanwhile keeps its part). The process still gets its whole slice at the
 * switch: only the request side moves.
 */
static __always_inline struct thread_acct *take_thread_work(struct conn_state *c, bool recv,
							    struct sock *sk, int ret, int flags)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_acct *t;
	struct model_params *m;
	struct cpu_state *st;
	__u64 now, start, prev, ns = 0, fx = 0, pfx, pns;
	__u32 wr;

	t = bpf_task_storage_get(&thread_acct, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!t)
		return NULL;
	now = bpf_ktime_get_ns();
	prev = t->mark_ns;
	t->mark_ns = now;
	wr = t->wr_open;
	t->wr_open = 0;
	asm volatile("" ::: "memory");
	st = get_state();
	m = get_model();
	if (!st || !m)
		return t;
	start = *(volatile __u64 *)&st->slice_start_ns;
	if (prev > start)
		start = prev;
	if (start && start < now) {
		ns = now - start;
		fx = uj_fx_of_score(m, runtime_score(ns));
	}
	pfx = *(volatile __u64 *)&t->pend_fx;
	pns = *(volatile __u64 *)&t->pend_ns;
	if (pfx)
		__sync_fetch_and_add(&t->pend_fx, -pfx);
	if (pns)
		__sync_fetch_and_add(&t->pend_ns, -pns);
	fx += pfx;
	ns += pns;
	if (t->tail_open) {
		/* a write starts this stretch's response; a receive ends the last one's tail */
		t->tail_open = 0;
		if (end_tail(t->tail_cookie, t->tail_n, recv ? fx : 0, recv ? ns : 0) && recv)
			return t;
	}
	/* the response written last is unfinished: a new request read elsewhere does not
	 * start before this read (docs/attribution.md, nginx); on a connection whose framing
	 * was lost the stretch is no request's (not_a_request_uj). A read of a body (or of a
	 * head's rest) can end its own request's work: the plain rule. */
	if (wr && ret > 0 && c && c->cookie != t->wr_cookie && read_brings_head(c, sk, ret, flags) &&
	    (wr == WR_LOST || add_to_slot(t->wr_cookie, t->wr_n, fx, ns)))
		return t;
	if (!c) {
		/* the kprobe binding knows no state: the stretch stays the thread's */
		if (fx)
			__sync_fetch_and_add(&t->pend_fx, fx);
		if (ns)
			__sync_fetch_and_add(&t->pend_ns, ns);
		return t;
	}
	if (fx)
		__sync_fetch_and_add(&c->cur_uj_fx, fx);
	if (ns)
		__sync_fetch_and_add(&c->cur_ns, ns);
	return t;
}

/*
 * Header options, set by user space through the mmap'ed .bss before anything is attached
 * (zero: every port, quantum 1, sk_msg in use).
 */
__u64 header_port_bits[1024];	/* with header_ports_filter: local ports that get the header */
__u32 header_ports_filter;
__u32 header_quantum_uj;
__u32 no_sk_msg;		/* --no-header: sockops puts no socket into sock_hash */
__u32 header_none;		/* --no-header with --request-log: sk_msg frames, never rewrites */
__u32 header_room_test;		/* tests only: bytes of send-buffer room a header also needs */

static __always_inline void v4_to_ip(__u32 ip, unsigned int out[4])
{
	out[0] = 0;
	out[1] = 0;
	out[2] = bpf_htonl(0xffff);
	out[3] = ip;
}

/* A 16-bit port in network order, wherever in the 32-bit field the kernel put it. */
static __always_inline __u32 port_from_net(__u32 v)
{
	return (v & 0xffff) ? bpf_ntohs((__u16)v) : (bpf_ntohl(v) & 0xffff);
}

static __always_inline bool key_from_sockops(struct bpf_sock_ops *skops, struct conn_key *k)
{
	if (skops->family == AF_INET) {
		v4_to_ip(skops->local_ip4, k->local_ip);
		v4_to_ip(skops->remote_ip4, k->remote_ip);
	} else if (skops->family == AF_INET6) {
		k->local_ip[0] = skops->local_ip6[0];
		k->local_ip[1] = skops->local_ip6[1];
		k->local_ip[2] = skops->local_ip6[2];
		k->local_ip[3] = skops->local_ip6[3];
		k->remote_ip[0] = skops->remote_ip6[0];
		k->remote_ip[1] = skops->remote_ip6[1];
		k->remote_ip[2] = skops->remote_ip6[2];
		k->remote_ip[3] = skops->remote_ip6[3];
	} else {
		return false;
	}
	k->local_port = skops->local_port;
	k->remote_port = port_from_net(skops->remote_port);
	return true;
}

static __always_inline bool key_from_sock(struct sock *sk, struct conn_key *k)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (family == AF_INET) {
		v4_to_ip(BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr), k->local_ip);
		v4_to_ip(BPF_CORE_READ(sk, __sk_common.skc_daddr), k->remote_ip);
	} else if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&k->local_ip, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32);
		BPF_CORE_READ_INTO(&k->remote_ip, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr32);
	} else {
		return false;
	}
	k->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	k->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	return true;
}

/*
 * Connections seen by ingress before sockops adds them: the segment that completes the
 * handshake can carry the first request (TCP_DEFER_ACCEPT: the client's data segment
 * creates the socket; TCP Fast Open: data on the SYN). cgroup_skb runs on that segment
 * with the listener, before the child socket exists and before
 * BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB, so its bytes are parsed into an entry here, which
 * sockops adopts. LRU: a segment to a listener that never becomes a connection (a spoofed
 * ACK) only ever evicts another such entry.
 */
struct early_conn {
	struct conn_state c;
	__u32 start_seq; /* the first payload byte's sequence number */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 1024);
	__type(key, struct conn_key);
	__type(value, struct early_conn);
} early_conns SEC(".maps");

/* ---- request records (issue 13) ---- */

/* What a new slot starts from: one entry of zeros nobody writes, not 240 bytes of stack
 * (the callers are deep in bpf_loop callbacks; BPF has 512 bytes over all frames). A static
 * const in .rodata would do, but the static linker's BTF for it is refused by the kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct req_slot);
} zero_slot SEC(".maps");

/* slot_ring's entry for request n of connection cookie, whoever holds it. */
static __always_inline struct req_slot *ring_entry(__u64 cookie, __u32 n)
{
	__u32 i;

	if (!slot_pairs)
		return NULL;
	i = (__u32)(cookie % slot_pairs) * 2 + (n & 1);
	return bpf_map_lookup_elem(&slot_ring, &i);
}

/* Slot n of k->cookie, created empty (BPF_ANY: a slot left by a reused number is reset;
 * BPF_NOEXIST: an existing one is returned as it is). */
static __always_inline struct req_slot *new_slot(const struct req_slot_key *k, __u64 flags)
{
	__u64 tag = req_slot_tag(k->cookie, k->n);
	struct req_slot *r = ring_entry(k->cookie, k->n), *z;
	__u64 old = r ? r->tag : REQ_SLOT_BUSY;
	__u32 zero = 0;

	if (r && old == tag && flags == BPF_NOEXIST)
		return r;
	/* Free, or ours to reset: held busy while it is cleared, so that no taker (user space
	 * at stop) finds our tag on the previous owner's ended record. */
	if (r && (!old || old == tag) &&
	    __sync_val_compare_and_swap(&r->tag, old, REQ_SLOT_BUSY) == old) {
		/* not the line: only its line_len bytes are ever read (2.5 cache lines less) */
		__builtin_memset(r, 0, __builtin_offsetof(struct req_slot, line));
		r->cookie = k->cookie;
		__sync_val_compare_and_swap(&r->tag, REQ_SLOT_BUSY, tag); /* ordered after */
		return r;
	}
	z = bpf_map_lookup_elem(&zero_slot, &zero);
	if (!z)
		return NULL;
	bpf_map_update_elem(&req_slots, k, z, flags);
	return bpf_map_lookup_elem(&req_slots, k);
}

/* Slot k->n of k->cookie: in slot_ring (its tag is then not 0), else in req_slots (tag 0). */
static __always_inline struct req_slot *find_slot(const struct req_slot_key *k)
{
	struct req_slot *r = ring_entry(k->cookie, k->n);

	if (r && r->tag == req_slot_tag(k->cookie, k->n))
		return r;
	return bpf_map_lookup_elem(&req_slots, k);
}

/* Take slot (found by find_slot(k)): true for one taker only. */
static __always_inline bool take_slot(struct req_slot *slot, const struct req_slot_key *k)
{
	__u64 tag;

	if (!slot->tag)
		return !bpf_map_delete_elem(&req_slots, k);
	tag = req_slot_tag(k->cookie, k->n);
	return __sync_val_compare_and_swap(&slot->tag, tag, 0) == tag;
}

static __always_inline struct req_slot *get_slot(const struct conn_state *c, __u32 n)
{
	struct req_slot_key k = { .cookie = c->cookie, .n = n };

	return find_slot(&k);
}

/* At close only: both places (a number reused after a resync may have left one in each). */
static __always_inline void drop_slot(const struct conn_state *c, __u32 n)
{
	struct req_slot_key k = { .cookie = c->cookie, .n = n };
	struct req_slot *r = ring_entry(c->cookie, n);
	__u64 tag = req_slot_tag(c->cookie, n);

	if (r && r->tag == tag)
		__sync_val_compare_and_swap(&r->tag, tag, 0);
	bpf_map_delete_elem(&req_slots, &k);
}

/*
 * A response completed (its record sent, or dropped: the ring was full). Returns the
 * record's wakeup flag: the reader is woken once a CPU has sent records_wake_every records
 * since its last wakeup (the ring a quarter full if all CPUs did; issue 14): a wakeup per
 * record is an irq_work self-IPI in the writer's context (a VM exit on a guest) and a wakeup
 * of the reader, which polls every 100 ms anyway (request_log.c). Counted on this CPU's
 * completed count, not by asking the ring what it holds (two helper calls a record, and
 * under a lagging reader a wakeup for every record past the quarter).
 */
static __always_inline __u64 count_record(__u64 fx, bool dropped)
{
	struct request_counters *ctr = get_counters();
	__u64 done;

	if (!ctr)
		return BPF_RB_NO_WAKEUP;
	if (dropped)
		__sync_fetch_and_add(&ctr->records_dropped, 1);
	done = __sync_fetch_and_add(&ctr->completed, 1) + 1;
	__sync_fetch_and_add(&ctr->completed_uj_fx, fx);
	return done % records_wake_every ? BPF_RB_NO_WAKEUP : BPF_RB_FORCE_WAKEUP;
}

/* Set by user space at stop, before the last interval's totals (requests__stop_records()):
 * from then on no record is sent or counted, the slots stay for user space to take. */
__u32 records_stopped;

/*
 * Response n of connection cookie has ended (its slot holds its record) and its tail is
 * known: fx, ns more. The record goes to user space and the response counts as completed.
 * Taking the slot (its tag's compare-and-swap to 0 in slot_ring, its delete in req_slots)
 * decides who sends it (the writer's next socket op, the close, user space at stop): the
 * others find none and return 0. A global function: verified once, called from sk_msg,
 * sockops and the receive binding.
 */
__noinline int emit_slot(__u64 cookie, __u32 n, __u64 fx, __u64 ns)
{
	struct req_slot_key k = { .cookie = cookie, .n = n };
	struct request_event *e;
	struct req_slot *slot;

	if (*(volatile __u32 *)&records_stopped)
		return 0; /* the last interval is cut: user space takes what still waits */
	slot = find_slot(&k);
	if (!slot || !slot->end_ns)
		return 0;
	fx += slot->rec_fx;
	ns += slot->rec_ns;
	e = bpf_ringbuf_reserve(&records, sizeof(*e), 0);
	if (!e) {
		if (!take_slot(slot, &k))
			return 0;
		count_record(fx, true);
		return 1;
	}
	request_event_of_slot(e, cookie, slot, fx, ns);
	if (!take_slot(slot, &k)) {
		bpf_ringbuf_discard(e, 0);
		return 0;
	}
	bpf_ringbuf_submit(e, count_record(fx, false));
	return 1;
}

/* A receive ended the tail of response n of connection cookie: fx, ns are its. 0: that
 * record went out already (at the close): the stretch goes by the plain rule. */
__noinline int end_tail(__u64 cookie, __u32 n, __u64 fx, __u64 ns)
{
	struct request_counters *ctr;

	if (emit_records)
		return emit_slot(cookie, n, fx, ns);
	ctr = get_counters();
	if (ctr && fx)
		__sync_fetch_and_add(&ctr->completed_uj_fx, fx);
	return 1;
}

/* Adds a stretch to response n of the connection with this cookie, while its slot is there
 * (being written, or ended and waiting for its tail); 0 when it is gone. */
__noinline int add_to_slot(__u64 cookie, __u32 n, __u64 fx, __u64 ns)
{
	struct req_slot_key k = { .cookie = cookie, .n = n };
	struct req_slot *slot;

	if (!emit_records)
		return 0;
	slot = find_slot(&k);
	if (!slot)
		return 0;
	__sync_fetch_and_add(&slot->rec_fx, fx);
	__sync_fetch_and_add(&slot->rec_ns, ns);
	return 1;
}

/* A write of thread t on c left c's response unfinished (no tail opened), or was on a
 * connection no record will come from (WR_LOST): see wr_open. */
static __always_inline void note_open_write(struct thread_acct *t, struct conn_state *c)
{
	if (!t || t->tail_open)
		return;
	if (c->rec_open) {
		t->wr_cookie = c->cookie;
		t->wr_n = c->responses - 1;
		t->wr_open = WR_RESPONSE;
	} else if (c->out_state == OUT_DONE) { /* unframed, or HTTP ended: no record follows */
		t->wr_cookie = c->cookie;
		t->wr_open = WR_LOST;
	}
}

/* 1 + the response whose tail is still to be handed on (0: none). Only finish_response
 * writes tail_n1 (under the socket's lock: sk_msg, on_egress, sockops); whoever hands the
 * tail on marks tail_taken, so send_tp, which runs unlocked, never overwrites a new end. */
static __always_inline __u32 tail_pending(const struct conn_state *c)
{
	__u32 n1 = *(volatile __u32 *)&c->tail_n1;

	return n1 != c->tail_taken ? n1 : 0;
}

/*
 * The response being written on c reached its last byte, end_total bytes into the
 * connection's response stream: it takes what was charged to the connection since its
 * first write (later writes, a sendfile'd body). Its tail, the writer's stretch up to its
 * next receive, is still to come: the write marks c->tail_n1 and sk_msg hands the tail to
 * the writing thread (open_tail); with --request-log the record waits in the response's
 * slot until then (emit_slot). A global function: verified once, callable from sk_msg and
 * sockops.
 */
__noinline int finish_response(struct conn_state *c, struct request_counters *ctr,
			       __u64 end_total)
{
	struct req_slot_key k;
	struct req_slot *slot, *next;
	__u64 fx, ns, end_seq;
	__u32 n, prev1, heads, hs;

	if (!c || !ctr || !c->rec_open)
		return 0;
	c->rec_open = 0;
	fx = *(volatile __u64 *)&c->cur_uj_fx;
	__sync_fetch_and_add(&c->cur_uj_fx, -fx);
	ns = *(volatile __u64 *)&c->cur_ns;
	__sync_fetch_and_add(&c->cur_ns, -ns);
	fx += c->rec_uj_fx;
	ns += c->rec_ns;
	n = c->responses - 1;
	prev1 = tail_pending(c);
	if (prev1) /* an earlier response ended in this same write: no tail of its own */
		emit_slot(c->cookie, prev1 - 1, 0, 0);
	c->tail_n1 = n + 1;
	c->tail_end = (__u32)end_total;
	if (!emit_records) {
		__sync_fetch_and_add(&ctr->completed, 1);
		__sync_fetch_and_add(&ctr->completed_uj_fx, fx);
		return 0;
	}
	k.cookie = c->cookie;
	k.n = n;
	k.pad = 0;
	slot = find_slot(&k);
	if (!slot) {
		/* nothing kept at the start either (a full map): a record all the same */
		slot = new_slot(&k, BPF_NOEXIST);
		if (slot)
			slot->header_skip = REC_SKIP_OTHER;
	}
	if (!slot) {
		__sync_fetch_and_add(&ctr->records_dropped, 1);
		__sync_fetch_and_add(&ctr->completed, 1);
		__sync_fetch_and_add(&ctr->completed_uj_fx, fx);
		return 0;
	}
	/* added to: a read elsewhere may have given the slot a stretch already (add_to_slot) */
	__sync_fetch_and_add(&slot->rec_fx, fx);
	__sync_fetch_and_add(&slot->rec_ns, ns);
	slot->response_bytes = end_total > slot->resp_start ? end_total - slot->resp_start : 0;
	if (slot->head_ns) {
		/* issue 14: no lookup while the next request line has not started (ingress between
		 * requests): the usual case of a keep-alive connection */
		heads = *(volatile __u32 *)&c->heads;
		hs = *(volatile __u32 *)&c->hp.state;
		k.n = n + 1; /* k is done with: one key on the stack, not two */
		next = heads == n + 1 && hs <= HH_START_LF ? NULL : find_slot(&k);
		end_seq = next ? next->start_seq : *(volatile __u32 *)&c->next_seq;
		slot->request_bytes = (__u32)(end_seq - slot->start_seq);
	}
	slot->end_ns = bpf_ktime_get_ns();
	return 0;
}

/* A final response started (its status line was written): its slot gets what the record
 * needs from the writer's side. */
__noinline int note_response_start(struct conn_state *c, __u64 start_total, __u32 skip,
				   __u64 header_uj)
{
	struct req_slot_key k;
	struct req_slot *slot;
	__u64 id;

	if (!c)
		return 0;
	k.cookie = c->cookie;
	k.n = c->responses - 1;
	k.pad = 0;
	slot = find_slot(&k);
	if (!slot) {
		/* ingress kept nothing (a head on the handshake, a full map): a record all
		 * the same, without the request's side */
		slot = new_slot(&k, BPF_NOEXIST);
		if (!slot)
			return 0;
	}
	slot->first_write_ns = bpf_ktime_get_ns();
	/* With egress framing this is the sender's task unless on_egress runs in softirq; the
	 * send that wrote the status line names itself when it returns (send_tp), but a record
	 * of a batch's earlier response can go out before that (finish_response), so every
	 * slot gets a writer here. */
	id = bpf_get_current_pid_tgid();
	slot->pid = id >> 32;
	slot->tid = (__u32)id;
	slot->cgroup_id = bpf_get_current_cgroup_id();
	slot->status = c->out_status;
	slot->header_skip = skip;
	slot->header_uj = header_uj;
	slot->resp_start = start_total;
	return 0;
}

/* The request line starts at off of this segment (next_seq is past the segment's end). */
__noinline int head_started(struct __sk_buff *skb, struct conn_state *c, __u32 off, __u32 end)
{
	struct req_slot_key k;
	struct req_slot *slot;
	__u64 n;

	if (!skb || !c || !c->cookie || off >= end)
		return 0;
	k.cookie = c->cookie;
	k.n = c->heads;
	k.pad = 0;
	slot = new_slot(&k, BPF_ANY);
	if (!slot)
		return 0;
	n = end - off;
	slot->start_seq = c->next_seq - (__u32)n;
	if (n > REQ_LINE_MAX) {
		n = REQ_LINE_MAX;
		slot->line_cut = 1;
	}
	opaque(n);
	if (n == 0 || n > REQ_LINE_MAX)
		return 0;
	if (bpf_skb_load_bytes(skb, off, slot->line, n))
		return 0;
	slot->line_len = n;
	return 0;
}

/* The head counted next (number c->heads) ended now. */
__noinline int head_ended(struct conn_state *c)
{
	struct req_slot *slot;

	if (!c || !c->cookie)
		return 0;
	slot = get_slot(c, c->heads);
	if (slot)
		slot->head_ns = bpf_ktime_get_ns();
	return 0;
}

/*
 * The write that just ran on c held a response's last byte: the writing thread's stretch
 * up to its next receive is that response's tail (take_thread_work). Without the thread's
 * storage the record goes out now.
 */
static __always_inline void open_tail(struct thread_acct *t, struct conn_state *c)
{
	__u32 n1 = tail_pending(c);

	if (!n1)
		return;
	c->tail_taken = n1;
	if (!t) {
		emit_slot(c->cookie, n1 - 1, 0, 0);
		return;
	}
	t->tail_cookie = c->cookie;
	t->tail_n = n1 - 1;
	t->tail_open = 1;
}

/* At close: a close-delimited response ends here; records still waiting for their
 * writer's next socket op go out as they are; slots of unanswered requests go. */
static __always_inline void conn_closing(struct conn_state *c, bool closed)
{
	struct request_counters *ctr = get_counters();
	__u32 n1;

	if (c->rec_open && c->out_state == OUT_DONE && ctr)
		finish_response(c, ctr, c->out_total);
	n1 = tail_pending(c);
	if (n1) { /* no writer's stretch follows a close */
		emit_slot(c->cookie, n1 - 1, 0, 0);
		c->tail_taken = n1;
	}
	/* stopped: what waits is user space's to take at the last cut (a drop would lose it) */
	if (!closed || !emit_records || *(volatile __u32 *)&records_stopped)
		return;
	/* from CONN_KINDS responses back (a tail whose thread went on to other connections)
	 * to a started head */
	for (__u32 i = 0; i < 2 * CONN_KINDS + 2; i++) {
		__u32 n = c->responses - CONN_KINDS + i;

		if ((__s32)(n - c->heads) > 0)
			break;
		if (!emit_slot(c->cookie, n, 0, 0))
			drop_slot(c, n);
	}
}

SEC("sockops")
int on_sockops(struct bpf_sock_ops *skops)
{
	struct conn_key key = {};
	struct conn_state fresh = {};
	struct request_counters *ctr;
	const __u8 zero_u8 = 0;
	struct early_conn *early;
	struct bpf_sock *sk;
	__u32 op = skops->op;

	if (op == BPF_SOCK_OPS_STATE_CB) {
		struct conn_state *c;

		sk = skops->sk;
		if (!sk)
			return 1;
		c = bpf_sk_storage_get(&conns, sk, NULL, 0);
		if (!c)
			return 1;
		conn_closing(c, skops->args[1] == BPF_TCP_CLOSE);
		if (skops->args[1] != BPF_TCP_CLOSE || bpf_sk_storage_delete(&conns, sk))
			return 1;
		__sync_fetch_and_add(&conns_live, -1);
		if (kprobe_index && key_from_sockops(skops, &key))
			bpf_map_delete_elem(&conn_index, &key);
		return 1;
	}
	/* Only connections the server accepts carry requests to it. One it opens itself
	 * (to a database, an upstream) stays out of conns and the sockhash: its bytes are
	 * never looked at. */
	if (op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		return 1;
	sk = skops->sk;
	if (!sk || !key_from_sockops(skops, &key))
		return 1;
	fresh.next_seq = skops->rcv_nxt; /* the first byte of the request stream */
	fresh.head_seq = skops->rcv_nxt; /* where the first request line will start */
	hh_init(&fresh.hp);
	early = bpf_map_lookup_elem(&early_conns, &key);
	if (early) {
		/* Its bytes were parsed on ingress: continue from there, if they are the
		 * stream's first (rcv_nxt is that byte, or past it where the kernel queued
		 * the data before this callback). */
		if (skops->rcv_nxt == early->start_seq || skops->rcv_nxt == early->c.next_seq) {
			fresh = early->c;
			ctr = get_counters();
			if (ctr) {
				ctr->heads += early->c.heads; /* counted here, once */
				ctr->early_heads += early->c.heads;
			}
		}
		bpf_map_delete_elem(&early_conns, &key);
	}
	fresh.flags |= CONN_PASSIVE | CONN_SEQ_VALID;
	fresh.cookie = bpf_get_socket_cookie(skops);
	fresh.out_isn = skops->snd_nxt; /* on_egress: the first response byte's sequence */
	fresh.out_seq = fresh.out_isn;
	/*
	 * --max-conns: full as a hash of max_conns entries would be. The test and the count
	 * are two steps (no fetching atomics at this -mcpu): establishes racing on other CPUs
	 * may go over by one each.
	 */
	if (*(volatile __u64 *)&conns_live >= max_conns ||
	    (kprobe_index && bpf_map_update_elem(&conn_index, &key, &zero_u8, BPF_ANY)) ||
	    !bpf_sk_storage_get(&conns, sk, &fresh, BPF_SK_STORAGE_GET_F_CREATE)) {
		if (kprobe_index)
			bpf_map_delete_elem(&conn_index, &key);
		ctr = get_counters();
		if (ctr)
			ctr->conn_overflows++;
		return 1;
	}
	__sync_fetch_and_add(&conns_live, 1);
	if (!no_sk_msg)
		bpf_sock_hash_update(skops, &sock_hash, &key, BPF_ANY);
	bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG);
	return 1;
}

/* ---- ingress: where request heads end ---- */

/* flags has one writer once the connection is in conns: ingress. (sk_msg only reads it;
 * clang 14 cannot emit a 32-bit atomic OR for BPF, so a flag sk_msg sets needs a field of
 * its own.) */
static __always_inline void conn_set_flags(struct conn_state *c, __u32 f)
{
	c->flags |= f;
}

/* A head ended: count it, with its kind in place before sk_msg can see it counted. */
static __always_inline bool count_head(struct conn_state *c, struct request_counters *ctr,
				       bool early)
{
	__u32 heads = c->heads;
	__u32 responses = *(volatile __u32 *)&c->responses;
	__u8 kind = c->hp.kind == HH_KIND_HEAD	  ? REQ_KIND_HEAD :
		    c->hp.kind == HH_KIND_CONNECT ? REQ_KIND_CONNECT :
						    REQ_KIND_PLAIN;

	if (c->flags & CONN_RESYNC) {
		/* the first whole head after a gap: in step again */
		c->flags &= ~CONN_RESYNC;
		ctr->resynced++;
	}
	/* Without a framer (--no-header, no records) no response is ever counted: only count. */
	if ((!no_sk_msg || egress_framing) && heads - responses >= CONN_KINDS) {
		/* its kind would overwrite one still awaited: no framing from here on */
		conn_set_flags(c, CONN_UNFRAMED);
		ctr->too_deep++;
		return false;
	}
	c->req_kind[heads & (CONN_KINDS - 1)] = kind;
	if (emit_records)
		head_ended(c);
	asm volatile("" ::: "memory");
	*(volatile __u32 *)&c->heads = heads + 1;
	if (!early)
		ctr->heads++;
	return true;
}

struct parse_ctx {
	struct __sk_buff *skb;
	struct conn_state *c;
	struct request_counters *ctr;
	__u32 off;
	__u32 end;
	bool early;
};

#define PARSE_CHUNK 64

/*
 * One byte through the state machine. A global function: the verifier checks it once,
 * on its own, instead of once per unrolled byte of parse_step.
 */
__noinline int ingress_step(struct http_head_parser *hp, __u8 b)
{
	if (!hp)
		return HH_REJECT;
	return hh_step(hp, b);
}

static long parse_step(__u32 i, void *data)
{
	struct parse_ctx *p = data;
	struct conn_state *c = p->c;
	__u8 buf[PARSE_CHUNK];
	__u32 n;

	if (p->off >= p->end || c->hp.state == HH_REJECTED || c->hp.state == HH_TUNNEL)
		return 1;
	if (hh_skipping(&c->hp)) {
		p->off += (__u32)hh_skip(&c->hp, p->end - p->off);
		return 0;
	}
	__u64 len = p->end - p->off;

	if (len > PARSE_CHUNK)
		len = PARSE_CHUNK;
	opaque(len);
	if (len == 0 || len > PARSE_CHUNK || bpf_skb_load_bytes(p->skb, p->off, buf, len))
		return 1;
	n = (__u32)len;
	for (__u32 j = 0; j < PARSE_CHUNK; j++) {
		__u32 before = c->hp.state;
		int ev;

		if (j >= n)
			break;
		if (hh_passes(&c->hp, buf[j]))
			continue; /* the target, a value or name nobody reads: no call (issue 14) */
		ev = ingress_step(&c->hp, buf[j]);
		/* the first byte of a request line: where it is in the stream (for the receive
		 * binding: read_brings_head()); --request-log keeps the line */
		if (before <= HH_START_LF && c->hp.state == HH_METHOD) {
			c->head_seq = c->next_seq - (p->end - (p->off + j));
			if (emit_records)
				head_started(p->skb, c, p->off + j, p->end);
		}
		if (ev == HH_HEAD_END && !count_head(c, p->ctr, p->early))
			return 1;
		if (ev == HH_REJECT) {
			/* After a gap a doubtful resync point just goes on waiting. */
			if (!(c->flags & CONN_RESYNC)) {
				conn_set_flags(c, CONN_NOT_HTTP);
				p->ctr->not_http++;
			}
			return 1;
		}
		if (hh_skipping(&c->hp) || c->hp.state == HH_TUNNEL) {
			p->off += j + 1;
			return 0;
		}
	}
	p->off += n;
	return 0;
}

/* The state ingress parses into for a segment without a connection: only a listener's
 * (the handshake is being completed), kept in early_conns. Not inlined: its fresh entry
 * (240 bytes of stack) stays off the call chain ingress parses requests on. */
static __noinline struct conn_state *early_state(struct __sk_buff *skb,
						      const struct conn_key *key, __u32 pseq)
{
	struct bpf_sock *sk = skb->sk;
	struct early_conn *e, fresh = {};

	if (!sk || sk->state != BPF_TCP_LISTEN)
		return NULL;
	e = bpf_map_lookup_elem(&early_conns, key);
	if (e && e->start_seq == pseq)
		return &e->c; /* a retransmission: the sequence checks below sort it out */
	fresh.start_seq = pseq;
	fresh.c.next_seq = pseq;
	fresh.c.head_seq = pseq;
	hh_init(&fresh.c.hp);
	if (bpf_map_update_elem(&early_conns, key, &fresh, BPF_ANY))
		return NULL;
	e = bpf_map_lookup_elem(&early_conns, key);
	return e ? &e->c : NULL;
}

/* After a gap: may this segment be where requests start again? (See CONN_RESYNC.) */
static __always_inline bool resync_point(struct __sk_buff *skb, struct conn_state *c, __u32 off,
					 __u32 len)
{
	__u8 b[8];
	__u32 i;

	if (c->heads != *(volatile __u32 *)&c->responses || len < 8 ||
	    bpf_skb_load_bytes(skb, off, b, 8))
		return false;
	for (i = 0; i < 8; i++) {
		if (b[i] == ' ')
			return i > 0;
		if (b[i] < 'A' || b[i] > 'Z')
			return false;
	}
	return false;
}

/*
 * The TCP segment in skb (cgroup_skb: it starts at the IP header): its TCP header, where its
 * payload starts and, where key is not NULL, its connection's 4-tuple (local: the destination
 * on ingress, the source on egress; only early_conns needs it, the state is found from the
 * socket). False: not TCP, or no payload (ACKs, most of egress: nothing to look up).
 */
static __always_inline bool skb_tcp_payload(struct __sk_buff *skb, bool egress,
					    struct conn_key *key, struct tcphdr *tcp, __u32 *poff)
{
	__u32 off;
	/* issue 14: one load for the IP header and, for IPv4 without options, the TCP header
	 * behind it (loopback traffic mostly): one helper call where there were three */
	union {
		struct iphdr ip;
		struct ipv6hdr ip6;
		struct {
			struct iphdr ip;
			struct tcphdr tcp;
		} v4;
	} h;

	/* An IPv4 + TCP header is 40 bytes at least, an IPv6 one 60: nothing shorter is ours. */
	if (skb->len < sizeof(h.v4) || bpf_skb_load_bytes(skb, 0, &h, sizeof(h.v4)))
		return false;
	if (h.ip.version == 4) {
		if (h.ip.protocol != IPPROTO_TCP_NUM)
			return false;
		if (key) {
			v4_to_ip(egress ? h.ip.saddr : h.ip.daddr, key->local_ip);
			v4_to_ip(egress ? h.ip.daddr : h.ip.saddr, key->remote_ip);
		}
		off = h.ip.ihl * 4;
		if (off == sizeof(h.ip))
			*tcp = h.v4.tcp;
		else if (bpf_skb_load_bytes(skb, off & 0xff, tcp, sizeof(*tcp)))
			return false;
	} else if (h.ip.version == 6) {
		if (h.ip6.nexthdr != IPPROTO_TCP_NUM)
			return false;
		if (key) {
			__builtin_memcpy(key->local_ip, egress ? &h.ip6.saddr : &h.ip6.daddr, 16);
			__builtin_memcpy(key->remote_ip, egress ? &h.ip6.daddr : &h.ip6.saddr, 16);
		}
		off = sizeof(h.ip6);
		if (bpf_skb_load_bytes(skb, off, tcp, sizeof(*tcp)))
			return false;
	} else {
		return false;
	}
	off += tcp->doff * 4;
	if (skb->len <= off)
		return false;
	if (key) {
		key->local_port = bpf_ntohs(egress ? tcp->source : tcp->dest);
		key->remote_port = bpf_ntohs(egress ? tcp->dest : tcp->source);
	}
	*poff = off;
	return true;
}

SEC("cgroup_skb/ingress")
int on_ingress(struct __sk_buff *skb)
{
	struct conn_key key = {};
	struct request_counters *ctr;
	struct conn_state *c = NULL;
	struct parse_ctx pctx;
	struct bpf_sock *sk, *fsk;
	struct tcphdr tcp;
	__u32 off, len, seq;
	bool early = false;
	__s32 ahead;

	if (!track_requests || !skb_tcp_payload(skb, false, NULL, &tcp, &off))
		return 1;
	len = skb->len - off;
	seq = bpf_ntohl(tcp.seq) + (tcp.syn ? 1 : 0); /* data on a SYN follows the SYN */
	sk = skb->sk;
	if (sk) {
		fsk = bpf_sk_fullsock(sk);
		if (fsk)
			c = bpf_sk_storage_get(&conns, fsk, NULL, 0);
	}
	if (!c) {
		/* only a listener's segment can be an early one: the 4-tuple only there */
		if (!sk || sk->state != BPF_TCP_LISTEN ||
		    !skb_tcp_payload(skb, false, &key, &tcp, &off))
			return 1;
		c = early_state(skb, &key, seq);
		if (!c)
			return 1;
		early = true;
	} else if (!(c->flags & CONN_PASSIVE)) {
		return 1;
	}
	if ((c->flags & (CONN_NOT_HTTP | CONN_DESYNC | CONN_UNFRAMED)) || c->hp.state == HH_TUNNEL)
		return 1; /* for good: not even a gap makes a tunnel's bytes requests again */
	ahead = (__s32)(seq - c->next_seq);
	ctr = get_counters();
	if (!ctr)
		return 1;
	if (ahead > 0) {
		/* A gap: bytes we never saw. Count nothing until a safe point to resync. */
		if (!(c->flags & CONN_RESYNC)) {
			conn_set_flags(c, CONN_RESYNC);
			ctr->desynced++;
		}
		c->hp.state = HH_REJECTED; /* waiting for a resync point */
		c->next_seq = seq;
		ahead = 0;
	}
	if (ahead < 0) {
		__u32 seen = (__u32)(-ahead);

		if (seen >= len)
			return 1; /* a retransmission of bytes already parsed */
		off += seen;
		len -= seen;
	} else if ((c->flags & CONN_RESYNC) && c->hp.state == HH_REJECTED &&
		   resync_point(skb, c, off, len)) {
		hh_init(&c->hp); /* try: a whole valid head must follow */
	}
	c->next_seq += len;
	if (c->hp.state == HH_REJECTED || c->hp.state == HH_TUNNEL)
		return 1;
	pctx.skb = skb;
	pctx.c = c;
	pctx.ctr = ctr;
	pctx.off = off;
	pctx.end = off + len;
	pctx.early = early;
	bpf_loop(1 << 16, parse_step, &pctx, 0);
	return 1;
}

/* ---- the serving thread ---- */

/* A receive on a tracked connection ends the thread's stretch: it goes to that connection
 * (the kprobe binding: see below). */
static __always_inline void bind_thread(struct sock *sk)
{
	struct conn_key key = {};

	/* every socket read on the host comes here: the cgroup test first, no map work */
	if (!track_requests || !current_in_tracked_cgroup() || !key_from_sock(sk, &key))
		return;
	/* A kprobe cannot reach the socket's storage: a tracked receive ends a response's
	 * tail; any other stretch stays the thread's until its next write (sk_msg). */
	if (!bpf_map_lookup_elem(&conn_index, &key))
		return;
	take_thread_work(NULL, true, NULL, 0, 0);
}

/*
 * The connection of sk where sk is a BTF pointer (fexit, tp_btf): plain loads instead of
 * bpf_probe_read_kernel calls, cheapest exits first (issue 14). Every read (and, records
 * only, every send) on the host comes here, any socket family: not IP, out (one load); a
 * socket whose cgroup is not the tracked one (nor, where the kernel is asked, below it),
 * out (three loads and compares). conns has state only for sockets created in the tracked
 * cgroup (sockops and ingress run by the socket's cgroup), so the socket's cgroup is the test.
 */
static __always_inline struct conn_state *conn_of_btf(struct sock *sk)
{
	struct conn_state *c;
	struct cgroup *cg;
	__u16 family;

	if (!track_requests || !sk)
		return NULL;
	family = sk->__sk_common.skc_family;
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	cg = sk->sk_cgrp_data.cgroup;
	if (!cg || !current_cgroup_in_tracked(cg->kn->id, cg->level))
		return NULL;
	c = bpf_sk_storage_get(&conns, sk, NULL, 0);
	return c && (c->flags & CONN_PASSIVE) ? c : NULL;
}

/* ret: what the receive returned; flags: its flags (RECV_LEN_UNKNOWN: ret unknown) */
static __always_inline void bind_thread_btf(struct sock *sk, int ret, int flags)
{
	struct conn_state *c = conn_of_btf(sk);

	if (c)
		take_thread_work(c, true, sk, ret, flags);
}

SEC("fexit/tcp_recvmsg")
int BPF_PROG(recv_fexit, struct sock *sk)
{
	__u64 ret = 1;

	/* the last argument's place differs between kernels; the helper's absence is known at
	 * load (CO-RE), so older kernels never see the call. Without it (Linux < 5.17) every
	 * read brings data, of unknown length. The flags' place differs too: a peek is taken
	 * for a read (read_brings_head() then errs towards a head). */
	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_get_func_ret)) {
		bind_thread_btf(sk, 1, RECV_LEN_UNKNOWN);
		return 0;
	}
	bpf_get_func_ret(ctx, &ret);
	bind_thread_btf(sk, (int)ret, 0);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(recv_tp, struct sock *sk, int ret, int flags)
{
	bind_thread_btf(sk, ret, flags & MSG_PEEK_FLAG);
	return 0;
}

SEC("kprobe/tcp_recvmsg")
int BPF_KPROBE(recv_kprobe, struct sock *sk)
{
	bind_thread(sk);
	return 0;
}

/* ---- responses ---- */

#define RESP_HEAD_MAX 16384	/* a longer response head (or trailer section) is not framed */
#define OUT_CHUNK 64		/* bytes walked per bpf_loop step */
#define OUT_STEPS (1 << 16)	/* bpf_loop steps per sk_msg run */
#define BODY_MAX (1ULL << 50)	/* a larger Content-Length or chunk size is not believed */
/*
 * Measurement only (docs/overhead.md, "What on_msg's time goes to"): on_msg stops after
 * stage MSG_STAGES: 1 the lookups and take_thread_work, 2 the framing walk, 3 the push and
 * the header's bytes (no one-piece pull), 4 everything but the header value's formatting
 * (a fixed value). 0 (the default) is the real program.
 */
#ifndef MSG_STAGES
#define MSG_STAGES 0
#endif

enum { OUT_HDR_NONE, OUT_HDR_CL, OUT_HDR_TE };
#define OUT_F_CL (1u << 0)
#define OUT_F_TE (1u << 1)

/*
 * The names framing compares with, byte m of a name being byte m % 8 of its word m / 8
 * (lowest first): immediates in the code, not string constants, whose .rodata.str1.1
 * bytes clang 14 describes as .rodata variables past .rodata's end, BTF the kernel refuses.
 */
#define WORD8(a, b, c, d, e, f, g, h)                                                   \
	((__u64)(a) | (__u64)(b) << 8 | (__u64)(c) << 16 | (__u64)(d) << 24 |           \
	 (__u64)(e) << 32 | (__u64)(f) << 40 | (__u64)(g) << 48 | (__u64)(h) << 56)

static __always_inline __u32 word_byte(__u64 word, __u64 m)
{
	return (word >> ((m & 7) * 8)) & 0xff;
}

/* The two names framing reads, eight bytes a word */
#define CL_LEN 14 /* "content-length" */
#define CL_W0 WORD8('c', 'o', 'n', 't', 'e', 'n', 't', '-')
#define CL_W1 WORD8('l', 'e', 'n', 'g', 't', 'h', 0, 0)
#define TE_LEN 17 /* "transfer-encoding" */
#define TE_W0 WORD8('t', 'r', 'a', 'n', 's', 'f', 'e', 'r')
#define TE_W1 WORD8('-', 'e', 'n', 'c', 'o', 'd', 'i', 'n')
#define TE_W2 ((__u64)'g')

static __always_inline __u32 content_length(__u64 m) /* m < CL_LEN */
{
	return word_byte(m < 8 ? CL_W0 : CL_W1, m);
}

static __always_inline __u32 te_name(__u64 m) /* m < TE_LEN */
{
	return word_byte(m < 8 ? TE_W0 : m < 16 ? TE_W1 : TE_W2, m);
}

static __always_inline __u32 chunked_name(__u64 m) /* "chunked", m < 7 */
{
	return word_byte(WORD8('c', 'h', 'u', 'n', 'k', 'e', 'd', 0), m);
}

/* What the framing of one write decides about the header. */
struct out_work {
	__u32 insert;	 /* a header goes into this write */
	__u32 insert_at; /* at this offset: right after a final status line */
	__u32 want_header;
	__u32 insert_n;	 /* the number of the response that gets it */
	__u64 insert_uj;
	__u64 base;	 /* response bytes written on the connection before this write */
	__s64 room;	 /* send-buffer bytes free when the write began (header_fits) */
};

/* The byte state machine's view: one connection, its counters, the write's decisions. */
struct out_ctx {
	struct conn_state *c;
	struct request_counters *ctr;
	struct out_work *w;
};

static __always_inline void unframe(struct out_ctx *o, int reason)
{
	o->c->out_state = OUT_DONE;
	o->c->rec_open = 0; /* its end is unknown: no record, its energy stays unrecorded */
	if (reason >= 0 && reason < UNFRAMED_REASONS)
		__sync_fetch_and_add(&o->ctr->unframed[reason], 1);
}

static __always_inline void end_http(struct out_ctx *o, int how)
{
	o->c->out_state = OUT_DONE;
	if (how >= 0 && how < END_REASONS)
		__sync_fetch_and_add(&o->ctr->ended[how], 1);
}

/*
 * A final response (or 101) starts: what was charged to the connection so far (the
 * writer's work up to this write included: on_msg took it) is its request's, and is what
 * the header says; the record goes on collecting until the response's last byte.
 */
/*
 * Whether a header at byte `at` of this write goes out with every byte before it. When
 * tcp_bpf sends a write in part it frees the rest, and the writer is told of the write's
 * bytes less those freed, the header's included. Were the send to stop before the
 * header's end, the writer would be told of fewer bytes than went out and would send some
 * again: a corrupted stream. A send stops only where it needs a new segment and the queue
 * has reached the send buffer's size, so a header goes in only while the bytes up to its
 * end fit below that size; else its response goes without one, framed all the same (rare:
 * a writer is woken when a third of the buffer is free).
 */
static __always_inline bool header_fits(const struct out_work *w, __u32 at)
{
	return w->room > (__s64)at + HEADER_MAX + header_room_test;
}

static __always_inline bool start_response(struct out_ctx *o, __u32 pos)
{
	struct conn_state *c = o->c;
	__s32 awaiting = (__s32)(c->heads - c->responses);
	__u64 fx, ns, uj;
	__u32 skip;

	if (awaiting <= 0 || awaiting > CONN_KINDS) {
		unframe(o, UNFRAMED_UNSOLICITED); /* which request it answers is unknown */
		return false;
	}
	c->out_kind = c->req_kind[c->responses & (CONN_KINDS - 1)];
	fx = *(volatile __u64 *)&c->cur_uj_fx;
	__sync_fetch_and_add(&c->cur_uj_fx, -fx); /* work charged meanwhile stays for the next */
	ns = *(volatile __u64 *)&c->cur_ns;
	__sync_fetch_and_add(&c->cur_ns, -ns);
	c->rec_uj_fx = fx;
	c->rec_ns = ns;
	c->rec_open = 1;
	uj = req_uj_of_fx(fx);
	c->responses++;
	/* atomic: on_egress in a send can be interrupted by on_egress in softirq on this CPU */
	__sync_fetch_and_add(&o->ctr->responses, 1);
	__sync_fetch_and_add(&o->ctr->energy_uj, uj);
	if (c->out_status == 101) {
		skip = REC_SKIP_INTERIM; /* interim in kind: no header */
	} else if (!o->w->want_header) {
		__sync_fetch_and_add(&o->ctr->skipped[SKIP_PORT], 1);
		skip = header_none ? REC_SKIP_NO_HEADER : REC_SKIP_PORT;
	} else if (o->w->insert) {
		/* one header per write: the first response's */
		__sync_fetch_and_add(&o->ctr->skipped[SKIP_BATCHED], 1);
		skip = REC_SKIP_BATCHED;
	} else if (!header_fits(o->w, pos + 1)) {
		__sync_fetch_and_add(&o->ctr->skipped[SKIP_SEND_BUFFER], 1);
		skip = REC_SKIP_SEND_BUFFER;
	} else {
		o->w->insert = 1;
		o->w->insert_at = pos + 1;
		o->w->insert_uj = uj;
		o->w->insert_n = c->responses - 1;
		skip = REC_SKIP_WRITTEN;
	}
	if (emit_records)
		note_response_start(c, o->w->base + pos - c->out_head_len, skip,
				    skip == REC_SKIP_WRITTEN ? req_quantize(uj, header_quantum_uj) : 0);
	return true;
}

/* The blank line after a head: how the response's body is framed. */
static __always_inline void end_of_response_head(struct out_ctx *o, __u32 pos)
{
	struct conn_state *c = o->c;
	__u32 st = c->out_status;

	if (st < 200 && st != 101) {
		c->out_state = OUT_IDLE; /* interim: the final response follows */
		return;
	}
	if (st == 101) {
		end_http(o, END_UPGRADED);
		finish_response(c, o->ctr, o->w->base + pos + 1);
		return;
	}
	if (c->out_kind == REQ_KIND_CONNECT && st < 300) {
		end_http(o, END_TUNNEL);
		finish_response(c, o->ctr, o->w->base + pos + 1);
		return;
	}
	if (c->out_kind == REQ_KIND_HEAD || st == 204 || st == 304) {
		c->out_state = OUT_IDLE;
		finish_response(c, o->ctr, o->w->base + pos + 1);
		return;
	}
	if (c->out_framing & OUT_F_TE) {
		if (c->out_framing & OUT_F_CL) {
			unframe(o, UNFRAMED_LENGTH);
			return;
		}
		c->out_state = OUT_CHUNK_SIZE;
		c->out_left = 0;
		c->out_match = 0;
		c->out_head_len = 0;
		return;
	}
	if (c->out_framing & OUT_F_CL) {
		c->out_left = c->out_cl;
		c->out_state = c->out_cl ? OUT_BODY : OUT_IDLE;
		if (!c->out_cl)
			finish_response(c, o->ctr, o->w->base + pos + 1);
		return;
	}
	end_http(o, END_CLOSE_DELIMITED); /* the record ends at the close (conn_closing) */
}

static __always_inline __u32 lower(__u32 b)
{
	return (b >= 'A' && b <= 'Z') ? b + 32 : b;
}

/* The end of a Content-Length or Transfer-Encoding value. */
static __always_inline void end_of_value(struct out_ctx *o)
{
	struct conn_state *c = o->c;

	if (c->out_hdr == OUT_HDR_CL) {
		if (c->out_phase == 0 || ((c->out_framing & OUT_F_CL) && c->out_cl != c->out_left)) {
			unframe(o, UNFRAMED_LENGTH);
			return;
		}
		c->out_cl = c->out_left;
		c->out_framing |= OUT_F_CL;
	} else {
		if (c->out_phase != 2) {
			unframe(o, UNFRAMED_TRANSFER_CODING);
			return;
		}
		c->out_framing |= OUT_F_TE;
	}
	c->out_state = OUT_LINE_START;
}

static __always_inline void value_byte(struct out_ctx *o, __u32 b)
{
	struct conn_state *c = o->c;
	bool space = b == ' ' || b == '\t' || b == '\r';

	if (b == '\n') {
		end_of_value(o);
		return;
	}
	if (c->out_hdr == OUT_HDR_CL) {
		if (space) {
			if (c->out_phase == 1)
				c->out_phase = 2;
		} else if (b >= '0' && b <= '9' && c->out_phase < 2 && c->out_left < BODY_MAX) {
			c->out_left = c->out_left * 10 + (b - '0');
			c->out_phase = 1;
		} else {
			unframe(o, UNFRAMED_LENGTH); /* a list, a sign, garbage, or too large */
		}
		return;
	}
	/* Transfer-Encoding: exactly "chunked" (case-insensitive), spaces around it */
	if (space) {
		if (c->out_phase == 1)
			unframe(o, UNFRAMED_TRANSFER_CODING);
		return;
	}
	__u64 m = c->out_match;

	opaque(m);
	if (c->out_phase < 2 && m < 7 && lower(b) == chunked_name(m)) {
		c->out_match++;
		c->out_phase = c->out_match == 7 ? 2 : 1;
		return;
	}
	unframe(o, UNFRAMED_TRANSFER_CODING);
}

/* One (lower-cased) byte of a header name that may still be Content-Length or
 * Transfer-Encoding: both framers' match (out_byte's name_byte and egress_byte). */
static __always_inline void name_match(struct conn_state *c, __u32 lc)
{
	__u64 m = c->out_match;

	opaque(m);
	if (c->out_hdr == OUT_HDR_CL && m < CL_LEN && lc == content_length(m))
		c->out_match++;
	else if (c->out_hdr == OUT_HDR_TE && m < TE_LEN && lc == te_name(m))
		c->out_match++;
	else
		c->out_hdr = OUT_HDR_NONE;
}

static __always_inline void name_byte(struct out_ctx *o, __u32 b)
{
	struct conn_state *c = o->c;
	__u32 lc = lower(b);
	__u64 m = c->out_match;

	if (b == ':') {
		if ((c->out_hdr == OUT_HDR_CL && m == CL_LEN) ||
		    (c->out_hdr == OUT_HDR_TE && m == TE_LEN)) {
			if (c->out_hdr == OUT_HDR_TE && (c->out_framing & OUT_F_TE)) {
				unframe(o, UNFRAMED_TRANSFER_CODING); /* a second one */
				return;
			}
			c->out_state = OUT_VALUE;
			c->out_phase = 0;
			c->out_match = 0;
			c->out_left = 0;
		} else {
			c->out_state = OUT_SKIP_LINE;
		}
		return;
	}
	if (b == '\n' || b == '\r' || b == ' ' || b == '\t') {
		unframe(o, UNFRAMED_BAD_HEAD); /* no ':' on the line, or space before it */
		return;
	}
	name_match(c, lc);
}

static __always_inline void status_byte(struct out_ctx *o, __u32 b, __u32 pos)
{
	struct conn_state *c = o->c;
	__u32 i = c->out_match;

	/* "HTTP/1." digit ' ' digit digit digit, then ' ' or the line's end */
	if (i < 7) {
		if (b != (__u32)"HTTP/1."[i & 7]) {
			unframe(o, UNFRAMED_NOT_A_STATUS);
			return;
		}
	} else if (i == 7 || (i >= 9 && i <= 11)) {
		if (b < '0' || b > '9') {
			unframe(o, UNFRAMED_NOT_A_STATUS);
			return;
		}
		if (i >= 9)
			c->out_status = c->out_status * 10 + (b - '0');
	} else if (i == 8) {
		if (b != ' ') {
			unframe(o, UNFRAMED_NOT_A_STATUS);
			return;
		}
	} else if (b == ' ' || b == '\r') {
		c->out_state = OUT_REASON;
		return;
	} else if (b != '\n') {
		unframe(o, UNFRAMED_NOT_A_STATUS);
		return;
	}
	if (i < 12) {
		c->out_match++;
		return;
	}
	c->out_state = OUT_REASON; /* "HTTP/1.1 200\n": the line ends here */
}

/* The status line's LF: an interim response is noted, a final one starts. */
static __always_inline void end_of_status_line(struct out_ctx *o, __u32 pos)
{
	struct conn_state *c = o->c;

	c->out_state = OUT_LINE_START;
	c->out_framing = 0;
	c->out_cl = 0;
	if (c->out_status < 200 && c->out_status != 101) {
		__sync_fetch_and_add(&o->ctr->informational, 1);
		return;
	}
	start_response(o, pos);
}

/* One byte of the framing state machine, at offset pos of the write. */
static __always_inline void out_byte(struct out_ctx *o, __u32 b, __u32 pos)
{
	struct conn_state *c = o->c;

	switch (c->out_state) {
	case OUT_IDLE:
		c->out_state = OUT_STATUS;
		c->out_match = 0;
		c->out_status = 0;
		c->out_head_len = 0;
		status_byte(o, b, pos);
		break;
	case OUT_STATUS:
		status_byte(o, b, pos);
		if (c->out_state == OUT_REASON && b == '\n')
			end_of_status_line(o, pos);
		break;
	case OUT_REASON:
		if (b == '\n')
			end_of_status_line(o, pos);
		break;
	case OUT_LINE_START:
		if (b == '\r') {
			c->out_state = OUT_HEAD_CR;
		} else if (b == '\n') {
			end_of_response_head(o, pos);
		} else if (b == ' ' || b == '\t' || b == ':') {
			unframe(o, UNFRAMED_BAD_HEAD); /* obs-fold, or an empty name */
		} else {
			__u32 lc = lower(b);

			c->out_hdr = lc == 'c' ? OUT_HDR_CL : lc == 't' ? OUT_HDR_TE : OUT_HDR_NONE;
			c->out_match = 1;
			c->out_state = OUT_NAME;
		}
		break;
	case OUT_NAME:
		name_byte(o, b);
		break;
	case OUT_VALUE:
		value_byte(o, b);
		break;
	case OUT_SKIP_LINE:
		if (b == '\n')
			c->out_state = OUT_LINE_START;
		break;
	case OUT_HEAD_CR:
		if (b == '\n')
			end_of_response_head(o, pos);
		else
			unframe(o, UNFRAMED_BAD_HEAD);
		break;
	case OUT_CHUNK_SIZE: {
		__u32 v = b >= '0' && b <= '9' ? b - '0'
			: lower(b) >= 'a' && lower(b) <= 'f' ? lower(b) - 'a' + 10 : 16;

		if (v < 16 && c->out_left < BODY_MAX) {
			c->out_left = c->out_left * 16 + v;
			c->out_match = 1; /* a digit seen */
		} else if (v < 16 || !c->out_match || (b != ';' && b != ' ' && b != '\t' &&
							b != '\r' && b != '\n')) {
			unframe(o, UNFRAMED_BAD_CHUNK);
		} else if (b == '\n') {
			goto chunk_size_done;
		} else {
			c->out_state = OUT_CHUNK_EXT;
		}
		break;
	}
	case OUT_CHUNK_EXT:
		if (b == '\n')
			goto chunk_size_done;
		break;
	case OUT_CHUNK_CRLF:
		if (b == '\r' && !c->out_match) {
			c->out_match = 1;
		} else if (b == '\n') {
			c->out_state = OUT_CHUNK_SIZE;
			c->out_left = 0;
			c->out_match = 0;
		} else {
			unframe(o, UNFRAMED_BAD_CHUNK);
		}
		break;
	case OUT_TRAILER_START:
		if (b == '\r') {
			c->out_state = OUT_TRAILER_CR;
		} else if (b == '\n') {
			c->out_state = OUT_IDLE;
			finish_response(c, o->ctr, o->w->base + pos + 1);
		} else
			c->out_state = OUT_TRAILER_LINE;
		break;
	case OUT_TRAILER_LINE:
		if (b == '\n')
			c->out_state = OUT_TRAILER_START;
		break;
	case OUT_TRAILER_CR:
		if (b == '\n') {
			c->out_state = OUT_IDLE;
			finish_response(c, o->ctr, o->w->base + pos + 1);
		} else {
			unframe(o, UNFRAMED_BAD_CHUNK);
		}
		break;
	default:
		break;
	}
	return;
chunk_size_done:
	c->out_state = c->out_left ? OUT_CHUNK_DATA : OUT_TRAILER_START;
	c->out_head_len = 0;
}

/* The rest of a line nobody reads: only its LF acts on the state. */
static __always_inline bool line_rest(__u32 st)
{
	return st == OUT_SKIP_LINE || st == OUT_REASON || st == OUT_CHUNK_EXT ||
	       st == OUT_TRAILER_LINE;
}

/* True in the states whose bytes are walked one by one (a head, a chunk line, trailers). */
static __always_inline bool walked(__u32 state)
{
	return state != OUT_BODY && state != OUT_CHUNK_DATA && state != OUT_DONE;
}

struct step_ctx {
	struct sk_msg_md *msg;	 /* on_msg's write, or */
	struct __sk_buff *skb;	 /* on_egress's segment */
	struct conn_state *c;
	struct request_counters *ctr;
	__u32 off; /* where in the write the framing is */
	__u32 end; /* the write's size */
	struct out_work w;
};

static __always_inline void step_unframe(struct step_ctx *p, int reason)
{
	p->c->out_state = OUT_DONE;
	p->c->rec_open = 0;
	if (reason >= 0 && reason < UNFRAMED_REASONS)
		__sync_fetch_and_add(&p->ctr->unframed[reason], 1);
}

/* In OUT_BODY or OUT_CHUNK_DATA: bytes of known length, passed by count, never looked at. */
static __always_inline void pass_counted(struct step_ctx *p)
{
	struct conn_state *c = p->c;
	__u32 n = p->end - p->off;

	if (c->out_left < n)
		n = c->out_left;
	c->out_left -= n;
	p->off += n;
	if (!c->out_left) {
		c->out_match = 0;
		if (c->out_state == OUT_BODY) {
			c->out_state = OUT_IDLE;
			finish_response(c, p->ctr, p->w.base + p->off);
		} else {
			c->out_state = OUT_CHUNK_CRLF;
		}
	}
}

/* How a walk step (out_step, egress_step) starts: 1 the walk is over, 0 a body was passed by
 * count (next step), -1 bytes to walk. */
static __always_inline long step_begin(struct step_ctx *p)
{
	if (p->off >= p->end || p->c->out_state == OUT_DONE)
		return 1;
	if (p->c->out_state == OUT_BODY || p->c->out_state == OUT_CHUNK_DATA) {
		pass_counted(p);
		return 0;
	}
	return -1;
}

enum { WALK_ON, WALK_STOP, WALK_LEFT };

#define EGRESS_LEFT 16 /* egress_word: the walked states ended (| the bytes taken) */
__noinline int egress_word(struct conn_state *c, struct request_counters *ctr, struct out_work *w,
			   __u64 word, __u64 at);

static long out_step(__u32 i, void *data)
{
	struct step_ctx *p = data;
	struct conn_state *c = p->c;
	__u32 len;
	char *d, *e;
	long ret;

	ret = step_begin(p);
	if (ret >= 0)
		return ret;
	len = p->end - p->off;
	if (len > OUT_CHUNK)
		len = OUT_CHUNK;
	if (bpf_msg_pull_data(p->msg, p->off, p->off + len, 0)) {
		step_unframe(p, UNFRAMED_PULL_FAILED);
		return 1;
	}
	d = (char *)(long)p->msg->data;
	e = (char *)(long)p->msg->data_end;
	if (d + len > e) {
		/* the kernel gave fewer bytes than asked: the rest is unseen */
		step_unframe(p, UNFRAMED_PULL_FAILED);
		return 1;
	}
	/* a word at a time, as on_egress (egress_word: the same framing, one call a word) */
	for (__u32 k = 0; k < OUT_CHUNK / 8; k++) {
		__u32 at = k * 8, n;
		__u64 w = 0;
		int r;

		if (at >= len)
			break;
		n = len - at < 8 ? len - at : 8;
		if (d + at + 8 <= e) {
			w = *(__u64 *)(d + at); /* lanes past n: egress_word ignores them */
		} else {
			for (__u32 b = 0; b < 7; b++) { /* the write's last 1..7 bytes */
				if (b >= n || d + at + b + 1 > e)
					break;
				w |= (__u64)(__u8)d[at + b] << (8 * b);
			}
		}
		r = egress_word(c, p->ctr, &p->w, w, (__u64)n << 32 | (p->off + at));
		if (r < 0)
			return 1;
		if (r & EGRESS_LEFT) {
			p->off += at + (r & 15);
			return 0;
		}
	}
	p->off += len;
	return 0;
}

/* Inserts "X-Energy-Score: <uj>\r\n" at offset at of a write of size bytes; the bytes are
 * untouched on failure. Returns false on failure. */
static __always_inline bool insert_header(struct sk_msg_md *msg, struct request_counters *ctr,
					  __u32 at, __u64 uj, __u32 size)
{
	char hdr[HEADER_MAX] = HEADER_NAME;
	__u32 hlen, ndig = 1, base = 0;
	char *d, *e;

	if (MSG_STAGES == 4) {
		uj = 0;
	}
	/* the digits straight into hdr, last first (no array of them: on_msg's stack is at the
	 * limit over its calls) */
	for (__u64 v = uj; v >= 10 && ndig < 20; v /= 10)
		ndig++;
	for (__u32 i = 0; i < 20; i++) {
		if (i >= ndig)
			break;
		hdr[(HEADER_NAME_LEN + ndig - 1 - i) & 63] = '0' + uj % 10;
		uj /= 10;
	}
	hlen = HEADER_NAME_LEN + ndig;
	hdr[hlen & 63] = '\r';
	hdr[(hlen + 1) & 63] = '\n';
	hlen += 2;

	if (bpf_msg_push_data(msg, at, hlen, 0)) {
		ctr->skipped[SKIP_PUSH_FAILED]++;
		return false;
	}
	/*
	 * issue 14: the push left the write in three pieces (before, header, after), and
	 * tcp_bpf sends each piece of a write as its own segment when the socket has
	 * TCP_NODELAY: three packets (and their softirqs) instead of one. A small write is
	 * made one piece again (a copy of at most LINEAR_MAX bytes), and the header's bytes
	 * are written into that piece: one pull. Failing that, the header's piece alone is
	 * pulled and the write goes in pieces, as before. (size, not msg->size: clang would
	 * keep &msg->size as a moved context pointer for the caller's read, which the
	 * verifier refuses.)
	 */
	if (MSG_STAGES != 3 && size + hlen <= LINEAR_MAX &&
	    !bpf_msg_pull_data(msg, 0, size + hlen, 0))
		base = at & (LINEAR_MAX - 1); /* at < size: the mask changes nothing */
	else if (bpf_msg_pull_data(msg, at, at + hlen, 0))
		goto undo;
	d = (char *)msg->data + base;
	e = msg->data_end;
	for (__u32 i = 0; i < HEADER_MAX; i++) {
		if (i >= hlen)
			break;
		if (d + i + 1 > e)
			goto undo;
		d[i] = hdr[i];
	}
	ctr->injected++;
	return true;
undo:
	/* Never send the gap push_data opened: take it out again. */
	bpf_msg_pop_data(msg, at, hlen, 0);
	ctr->skipped[SKIP_PULL_FAILED]++;
	return false;
}

static __always_inline bool header_port(__u32 port)
{
	if (!header_ports_filter)
		return true;
	return (header_port_bits[(port >> 6) & 1023] >> (port & 63)) & 1;
}

/*
 * Where this write begins in the send stream, against where the framing is (out_seq).
 * tcp_bpf runs sk_msg only while the socket's verdict is unset: when it queues a write in
 * part (a non-blocking writer, a full send buffer), it frees the rest, which this program
 * framed, and leaves the verdict set, so the first chunk of the writer's next sendmsg goes
 * out unseen (its later chunks are seen again). The socket's write_seq says where the
 * stream really is: bytes framed before (given back, sent again) are skipped by count
 * (p->off); unseen bytes are passed by count inside a body with at least that many bytes
 * left, anything else leaves the connection alone. False: nothing more to frame here.
 */
static __always_inline bool follow_stream(struct step_ctx *p, __u32 seq)
{
	struct conn_state *c = p->c;
	__s32 ahead = (__s32)(seq - c->out_seq);
	__u32 unseen;

	if (!c->out_total || !ahead)
		return true; /* a connection's first write starts following; in step */
	if (ahead < 0) {
		p->off = (__u32)-ahead < p->end ? (__u32)-ahead : p->end;
		return p->off < p->end;
	}
	unseen = ahead;
	if ((c->out_state != OUT_BODY && c->out_state != OUT_CHUNK_DATA) || c->out_left < unseen) {
		step_unframe(p, UNFRAMED_UNSEEN);
		return false;
	}
	c->out_left -= unseen;
	c->out_total += unseen;
	if (!c->out_left) {
		c->out_match = 0;
		if (c->out_state == OUT_BODY) {
			c->out_state = OUT_IDLE;
			finish_response(c, p->ctr, c->out_total);
		} else {
			c->out_state = OUT_CHUNK_CRLF;
		}
	}
	return true;
}

/* Why response n has no header, for its record when that is not sent yet. */
static __always_inline void set_header_skip(struct conn_state *c, __u32 n, __u32 skip)
{
	struct req_slot *slot;

	if (!emit_records)
		return;
	slot = get_slot(c, n);
	if (slot)
		slot->header_skip = skip;
}

SEC("sk_msg")
int on_msg(struct sk_msg_md *msg)
{
	struct request_counters *ctr;
	struct step_ctx p = {};
	struct thread_acct *t;
	struct conn_state *c;
	struct tcp_sock *tp;
	struct sock *sk;
	__u32 seq;

	if (!track_requests || !msg->sk)
		return SK_PASS;
	c = bpf_sk_storage_get(&conns, msg->sk, NULL, 0);
	if (!c || !(c->flags & CONN_PASSIVE))
		return SK_PASS;
	/* A write ends the writer's stretch: its work is this connection's (the response
	 * it writes, or the one it starts), framed or not. */
	t = take_thread_work(c, false, NULL, 0, 0);
	if (c->out_state == OUT_DONE) {
		if (c->rec_open) /* a close-delimited body: its record ends at the close */
			c->out_total += msg->size;
		note_open_write(t, c);
		return SK_PASS;
	}
	if (c->flags & (CONN_NOT_HTTP | CONN_DESYNC | CONN_UNFRAMED)) {
		/* Ingress lost the requests: which request a response answers (and whether it
		 * has a body, after HEAD) is unknown from here on. Ingress counted why. */
		c->out_state = OUT_DONE;
		c->rec_open = 0;
		note_open_write(t, c);
		return SK_PASS;
	}
	ctr = get_counters();
	if (!ctr)
		return SK_PASS;
	if (MSG_STAGES == 1)
		return bpf_skc_to_tcp_sock(msg->sk) ? SK_PASS : SK_PASS;
	p.msg = msg;
	p.c = c;
	p.ctr = ctr;
	p.end = msg->size;
	tp = bpf_skc_to_tcp_sock(msg->sk);
	if (!tp) {
		step_unframe(&p, UNFRAMED_PULL_FAILED); /* where the stream is cannot be known */
		note_open_write(t, c);
		return SK_PASS;
	}
	seq = tp->write_seq; /* every earlier write is queued or freed: this write's first byte */
	if (!follow_stream(&p, seq)) {
		note_open_write(t, c); /* unframed here (unseen bytes), or a response still open */
		return SK_PASS;
	}
	p.w.want_header = !header_none && header_port(msg->local_port);
	p.w.base = c->out_total - p.off;
	c->out_total += p.end - p.off; /* the server's bytes, before any header goes in */
	sk = &tp->inet_conn.icsk_inet.sk;
	p.w.room = (__s64)sk->sk_sndbuf - sk->sk_wmem_queued;
	if (c->out_pending) {
		/* The last write ended right after a status line: its header goes first here. */
		c->out_pending = 0;
		if (header_fits(&p.w, p.off)) {
			p.w.insert = 1;
			p.w.insert_at = p.off;
			p.w.insert_uj = c->out_pending_uj;
			p.w.insert_n = c->responses - 1;
		} else {
			ctr->skipped[SKIP_SEND_BUFFER]++;
			set_header_skip(c, c->responses - 1, REC_SKIP_SEND_BUFFER);
		}
	}
	bpf_loop(OUT_STEPS, out_step, &p, 0);
	open_tail(t, c);
	if (p.off < p.end && c->out_state != OUT_DONE)
		step_unframe(&p, UNFRAMED_TOO_COMPLEX);
	note_open_write(t, c); /* after the unframing: such a write is lost, not open */
	c->out_seq = seq + p.end;
	if (!p.w.insert || MSG_STAGES == 2)
		return SK_PASS;
	if (p.w.insert_at >= p.end) {
		/* The kernel cannot push at a write's end: owe it to the next write, whose first
		 * byte is the same place in the stream (the rest of this head). */
		c->out_pending = 1;
		c->out_pending_uj = p.w.insert_uj;
		return SK_PASS;
	}
	if (insert_header(msg, ctr, p.w.insert_at, req_quantize(p.w.insert_uj, header_quantum_uj),
			  p.end)) {
		c->out_seq = seq + msg->size; /* the header's bytes are in the stream too */
	} else {
		set_header_skip(c, p.w.insert_n, REC_SKIP_FAILED);
	}
	return SK_PASS;
}

/* ---- records only (egress_framing): framing from cgroup_skb/egress, binding at send ---- */

/*
 * Byte b at offset pos of a segment, one on_egress's scan stopped at: the common cases of a
 * head inline (a skipped line's LF, the ':' of a name nobody reads, a line that starts such a
 * name or the blank line: what out_byte does with them), the rest through out_byte.
 * Returns WALK_ON, WALK_STOP or WALK_LEFT.
 */
static __always_inline int egress_byte(struct out_ctx *o, __u32 b, __u32 pos)
{
	struct conn_state *c = o->c;
	__u32 st = c->out_state, lc = lower(b);

	if (st != OUT_IDLE && ++c->out_head_len > RESP_HEAD_MAX) { /* the first byte restarts the count */
		unframe(o, UNFRAMED_HEAD_TOO_LONG);
		return WALK_STOP;
	}
	if (st == OUT_SKIP_LINE && b == '\n') {
		c->out_state = OUT_LINE_START;
		return WALK_ON;
	}
	if (st == OUT_NAME && c->out_hdr == OUT_HDR_NONE && b == ':') {
		c->out_state = OUT_SKIP_LINE;
		return WALK_ON;
	}
	if (st == OUT_LINE_START && b == '\r') {
		c->out_state = OUT_HEAD_CR;
		return WALK_ON;
	}
	if (st == OUT_LINE_START && lc != 'c' && lc != 't' && b != '\n' && b != ' ' && b != '\t' &&
	    b != ':') {
		c->out_hdr = OUT_HDR_NONE;
		c->out_match = 1;
		c->out_state = OUT_NAME;
		return WALK_ON;
	}
	if (st == OUT_NAME && b != ':' && b != '\n' && b != '\r' && b != ' ' && b != '\t') {
		name_match(c, lc); /* a name that may be one of the two */
		return WALK_ON;
	}
	out_byte(o, b, pos);
	return walked(c->out_state) ? WALK_ON : WALK_LEFT;
}

/* How many bytes of word from byte from (below n) go on matching c's name candidate. */
static __always_inline __u32 name_run(const struct conn_state *c, __u64 word, __u32 from, __u32 n)
{
	if (c->out_hdr == OUT_HDR_CL)
		return bs_name_run(word, from, n, CL_W0, CL_W1, 0, CL_LEN, c->out_match);
	return bs_name_run(word, from, n, TE_W0, TE_W1, TE_W2, TE_LEN, c->out_match);
}

/*
 * One word of a response's bytes through the framing (on_egress's segment, on_msg's write),
 * eight bytes at a time where the state lets. word holds the bytes at offset at (low 32 bits),
 * at >> 32 of them (1..8). In a line nobody reads, or a name that is neither Content-Length
 * nor Transfer-Encoding, a scan (byte_scan.h) finds the next byte the state machine acts on:
 * the bytes before it, which out_byte would leave as they are, are passed, counted in
 * out_head_len as walked; in a name that may still be one of the two, the bytes that go on
 * matching it are taken in one step (bs_name_run: what name_match does with each); every
 * other state stops at every byte. Returns -1 when the framing stopped (unframed),
 * EGRESS_LEFT | the bytes taken when the walked states ended (a body, HTTP's end), else the
 * word's bytes (all taken). A global function: verified once, not in every bpf_loop step.
 */
__noinline int egress_word(struct conn_state *c, struct request_counters *ctr, struct out_work *w,
			   __u64 word, __u64 at)
{
	struct out_ctx o = { .c = c, .ctr = ctr, .w = w };
	__u32 n = (at >> 32) & 15, from = 0, off = (__u32)at;
	__u64 ign;

	if (!c || !ctr || !w || n == 0 || n > 8)
		return -1;
	ign = n < 8 ? ~0ULL << (8 * n) : 0; /* bytes past the segment */
	if (c->out_state == OUT_IDLE && n == 8 &&
	    word == WORD8('H', 'T', 'T', 'P', '/', '1', '.', '1')) {
		/* a status line's first 8 bytes, as out_byte leaves them (its first byte
		 * restarts out_head_len) */
		c->out_state = OUT_STATUS;
		c->out_match = 8;
		c->out_status = 0;
		c->out_head_len = 7;
		return n;
	}
	for (__u32 t = 0; t < 8; t++) {
		__u32 st = c->out_state, q;
		__u64 m;
		int r;

		if (st == OUT_NAME && c->out_hdr != OUT_HDR_NONE) {
			/* the bytes that go on matching the name, in one step (name_match's) */
			q = name_run(c, word, from, n);
			if (q) {
				c->out_match += q;
				c->out_head_len += q;
				/* as egress_byte checks each byte (the next one would, too) */
				if (c->out_head_len > RESP_HEAD_MAX) {
					unframe(&o, UNFRAMED_HEAD_TOO_LONG);
					return -1;
				}
				from += q;
				if (from >= n)
					return n;
				ign |= bs_through(from - 1);
				continue;
			}
		}
		if (line_rest(st))
			m = bs_line_stops(word, ign);
		else if (st == OUT_NAME && c->out_hdr == OUT_HDR_NONE)
			m = bs_name_stops(word, ign);
		else
			m = BS_HIGHS & ~ign; /* every byte is walked */
		if (!m)
			break;
		q = bs_lowest(m);
		c->out_head_len += q - from; /* passed; egress_byte checks the length */
		r = egress_byte(&o, (word >> (8 * q)) & 0xff, off + q);
		if (r == WALK_STOP)
			return -1;
		if (r == WALK_LEFT)
			return EGRESS_LEFT | (q + 1);
		from = q + 1;
		ign |= bs_through(q);
	}
	if (from < n) {
		c->out_head_len += n - from;
		if (c->out_head_len > RESP_HEAD_MAX) {
			unframe(&o, UNFRAMED_HEAD_TOO_LONG);
			return -1;
		}
	}
	return n;
}

#define EGRESS_CHUNK 64 /* more would pass 512 bytes of stack over the calls */

/* A bpf_loop step of on_egress: on_msg's walk (out_step) over a segment's payload, a word
 * at a time (egress_word), EGRESS_CHUNK bytes a load. */
static long egress_step(__u32 i, void *data)
{
	struct step_ctx *p = data;
	__u64 buf[EGRESS_CHUNK / 8]; /* stack loads must be aligned: whole words only */
	__u64 len; /* 64 bits: the bounds checked below are the ones the helper gets */
	long ret;

	ret = step_begin(p);
	if (ret >= 0)
		return ret;
	len = p->end - p->off;
	if (len > EGRESS_CHUNK)
		len = EGRESS_CHUNK;
	opaque(len);
	if (len == 0 || len > EGRESS_CHUNK || bpf_skb_load_bytes(p->skb, p->off, buf, len)) {
		step_unframe(p, UNFRAMED_PULL_FAILED);
		return 1;
	}
	for (__u32 k = 0; k < EGRESS_CHUNK / 8; k++) {
		__u64 n;
		int r;

		if (k * 8 >= len)
			break;
		n = len - k * 8 < 8 ? len - k * 8 : 8;
		r = egress_word(p->c, p->ctr, &p->w, buf[k], n << 32 | (p->off + k * 8));
		if (r < 0)
			return 1;
		if (r & EGRESS_LEFT) {
			p->off += k * 8 + (r & 15);
			return 0;
		}
	}
	p->off += len;
	return 0;
}

/*
 * Records only: a response's bytes as they leave, in TCP sequence order. Every segment the
 * connection sends passes here (retransmissions too; a GSO segment before it is cut), under
 * the socket's lock: in the writer's sendmsg usually, else in softirq or the lock's release
 * (queued data sent when the peer's ACK opens the window). Bytes already framed (a
 * retransmission) are skipped; bytes never seen (a gap: none expected) leave the
 * connection unframed (UNFRAMED_UNSEEN).
 */
SEC("cgroup_skb/egress")
int on_egress(struct __sk_buff *skb)
{
	struct step_ctx p = {};
	struct conn_state *c = NULL;
	struct bpf_sock *sk;
	struct tcphdr tcp;
	__u32 off, len, seq;
	__s32 ahead;

	if (!track_requests || !egress_framing || !skb_tcp_payload(skb, true, NULL, &tcp, &off))
		return 1;
	sk = skb->sk;
	if (sk)
		sk = bpf_sk_fullsock(sk);
	if (sk)
		c = bpf_sk_storage_get(&conns, sk, NULL, 0);
	if (!c || !(c->flags & CONN_PASSIVE))
		return 1;
	len = skb->len - off;
	seq = bpf_ntohl(tcp.seq);
	ahead = (__s32)(seq - c->out_seq);
	if (ahead < 0) {
		if ((__u32)-ahead >= len)
			return 1; /* a retransmission of bytes already framed */
		off += (__u32)-ahead;
		len -= (__u32)-ahead;
	}
	c->out_seq = seq + (ahead < 0 ? (__u32)-ahead : 0) + len;
	p.c = c;
	p.ctr = get_counters();
	if (!p.ctr)
		return 1;
	if (ahead > 0 && c->out_state != OUT_DONE)
		step_unframe(&p, UNFRAMED_UNSEEN);
	if (c->out_state == OUT_DONE) {
		if (c->rec_open) /* a close-delimited body: its record ends at the close */
			c->out_total += len;
		return 1;
	}
	if (c->flags & (CONN_NOT_HTTP | CONN_DESYNC | CONN_UNFRAMED)) {
		c->out_state = OUT_DONE; /* as on_msg: which request a response answers is lost */
		c->rec_open = 0;
		return 1;
	}
	p.skb = skb;
	p.off = off;
	p.end = off + len;
	p.w.base = c->out_total - off;
	c->out_total += len;
	bpf_loop(OUT_STEPS, egress_step, &p, 0);
	if (p.off < p.end && c->out_state != OUT_DONE)
		step_unframe(&p, UNFRAMED_TOO_COMPLEX);
	return 1;
}

/* Adds a stretch to the record of response n of c, which ended and waits for its tail. */
__noinline int add_to_record(struct conn_state *c, __u32 n, __u64 fx, __u64 ns)
{
	struct req_slot *slot;

	if (!c)
		return 0;
	slot = get_slot(c, n);
	if (!slot || !slot->end_ns)
		return 0;
	__sync_fetch_and_add(&slot->rec_fx, fx); /* as add_to_slot(): another CPU may add */
	__sync_fetch_and_add(&slot->rec_ns, ns);
	return 1;
}

/*
 * Records only: a send on c returned (the writer's thread; sendfile and splice too). The
 * writer's stretch ends here, as at on_msg. Where on_egress framed a response's last byte
 * among the bytes this send wrote (the usual case: it ran inside this send), the stretch is
 * that response's and its tail opens, as on_msg's open_tail. A last byte that an earlier send
 * wrote but on_egress framed only after that send returned (queued data sent later) has no
 * tail: its record goes out now (late_ends).
 */
SEC("tp_btf/sock_send_length")
int BPF_PROG(send_tp, struct sock *sk, int ret)
{
	struct conn_state *c = conn_of_btf(sk);
	struct request_counters *ctr;
	struct thread_acct *t;
	struct req_slot *slot;
	struct tcp_sock *tp;
	__u64 fx, ns, before, id;
	__u32 n1, prev, resp;

	if (!c || !egress_framing)
		return 0;
	tp = bpf_skc_to_tcp_sock(sk);
	prev = c->send_mark;
	if (tp)
		c->send_mark = tp->write_seq - c->out_isn;
	before = *(volatile __u64 *)&c->cur_uj_fx;
	t = take_thread_work(c, false, NULL, 0, 0);
	ctr = get_counters();
	resp = *(volatile __u32 *)&c->responses;
	if (resp != c->send_resp) {
		/*
		 * A response started in this send (on_egress framed its status line): what this
		 * send's stretch moved is the rest of the work up to its first write, which
		 * sk_msg would have taken before framing (the interval's request_energy_uj). The
		 * writer is this thread: on_egress may have run in softirq, on another task.
		 */
		c->send_resp = resp;
		fx = *(volatile __u64 *)&c->cur_uj_fx;
		if (ctr && fx > before)
			__sync_fetch_and_add(&ctr->energy_uj, req_uj_of_fx(fx - before));
		slot = get_slot(c, resp - 1);
		if (slot) {
			id = bpf_get_current_pid_tgid();
			slot->pid = id >> 32;
			slot->tid = (__u32)id;
			slot->cgroup_id = bpf_get_current_cgroup_id();
		}
	}
	n1 = tail_pending(c);
	if (!n1) {
		note_open_write(t, c);
		return 0;
	}
	if ((__s32)(c->tail_end - prev) > 0) {
		/* the stretch went to c's current request: it is the ended response's */
		fx = *(volatile __u64 *)&c->cur_uj_fx;
		__sync_fetch_and_add(&c->cur_uj_fx, -fx);
		ns = *(volatile __u64 *)&c->cur_ns;
		__sync_fetch_and_add(&c->cur_ns, -ns);
		if (!add_to_record(c, n1 - 1, fx, ns)) {
			__sync_fetch_and_add(&c->cur_uj_fx, fx);
			__sync_fetch_and_add(&c->cur_ns, ns);
		}
		open_tail(t, c);
		return 0;
	}
	c->tail_taken = n1;
	emit_slot(c->cookie, n1 - 1, 0, 0);
	if (ctr)
		__sync_fetch_and_add(&ctr->late_ends, 1);
	note_open_write(t, c);
	return 0;
}
