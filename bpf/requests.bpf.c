// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * Request tracking for the tracked cgroup's HTTP/1.x servers:
 *
 *   sockops            adds established TCP sockets to sock_hash and conns; drops them on close
 *   cgroup_skb/ingress finds request heads in the byte stream (CRLFCRLF, across segments,
 *                      skipping Content-Length bodies) and counts them as awaiting a response
 *   recv binding       the thread that reads from a tracked connection serves its requests:
 *                      fexit/tcp_recvmsg, else tp_btf/sock_recv_length, else kprobe
 *   sk_msg             on the first write of a response to an awaiting request, closes the
 *                      writer's running slice and inserts "X-Energy-Score: <µJ>\r\n" after
 *                      the status line; anything unsafe leaves the response untouched
 *
 * Charging the work itself happens in the scheduler hooks (requests.bpf.h).
 */
#include "http_energy.bpf.h"
#include "requests.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP_VERSION 4
#define IPPROTO_TCP_NUM 6
#define HEADER_NAME "X-Energy-Score: "
#define HEADER_NAME_LEN 16
#define HEADER_MAX (HEADER_NAME_LEN + 20 + 2)
#define STATUS_SCAN_MAX 256

static const char content_length[16] = "content-length:";
/* "HTTP/1.0" and "HTTP/1.1" as the last 8 bytes of a request line, big-endian */
#define HTTP10_TAIL 0x485454502f312e30ULL
#define HTTP11_TAIL 0x485454502f312e31ULL

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

static __always_inline bool key_from_msg(struct sk_msg_md *msg, struct conn_key *k)
{
	if (msg->family == AF_INET) {
		v4_to_ip(msg->local_ip4, k->local_ip);
		v4_to_ip(msg->remote_ip4, k->remote_ip);
	} else if (msg->family == AF_INET6) {
		k->local_ip[0] = msg->local_ip6[0];
		k->local_ip[1] = msg->local_ip6[1];
		k->local_ip[2] = msg->local_ip6[2];
		k->local_ip[3] = msg->local_ip6[3];
		k->remote_ip[0] = msg->remote_ip6[0];
		k->remote_ip[1] = msg->remote_ip6[1];
		k->remote_ip[2] = msg->remote_ip6[2];
		k->remote_ip[3] = msg->remote_ip6[3];
	} else {
		return false;
	}
	k->local_port = msg->local_port;
	k->remote_port = port_from_net(msg->remote_port);
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

SEC("sockops")
int on_sockops(struct bpf_sock_ops *skops)
{
	struct conn_key key = {};
	struct conn_state fresh = {};
	struct request_counters *ctr;
	__u32 op = skops->op;

	if (op == BPF_SOCK_OPS_STATE_CB) {
		if (skops->args[1] == BPF_TCP_CLOSE && key_from_sockops(skops, &key))
			bpf_map_delete_elem(&conns, &key);
		return 1;
	}
	if (op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB && op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
		return 1;
	if (!key_from_sockops(skops, &key))
		return 1;
	if (op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB) {
		fresh.flags = CONN_PASSIVE | CONN_SEQ_VALID;
		fresh.next_seq = skops->rcv_nxt; /* the first byte of the request stream */
	}
	if (bpf_map_update_elem(&conns, &key, &fresh, BPF_ANY)) {
		ctr = get_counters();
		if (ctr)
			ctr->conn_overflows++;
		return 1;
	}
	bpf_sock_hash_update(skops, &sock_hash, &key, BPF_ANY);
	bpf_sock_ops_cb_flags_set(skops, BPF_SOCK_OPS_STATE_CB_FLAG);
	return 1;
}

/* ---- ingress: where request heads end ---- */

static __always_inline void end_of_head(struct conn_state *c, struct request_counters *ctr)
{
	/* The request's kind is in place before the sk_msg side can see it counted. */
	c->req_kind[c->heads & (CONN_KINDS - 1)] = REQ_KIND_PLAIN;
	asm volatile("" ::: "memory");
	c->heads++;
	ctr->heads++;
	if (c->cl_state && c->cl_value) {
		c->body_left = c->cl_value;
		c->pstate = PS_BODY;
	} else {
		c->pstate = PS_REQUEST_START;
	}
	c->cl_state = 0;
	c->cl_value = 0;
}

/* One byte of a request head. Case-insensitive "content-length:" at a line start opens
 * the value; the blank line ends the head. */
static __always_inline void feed_byte(struct conn_state *c, __u8 b, struct request_counters *ctr)
{
	__u8 lc = (b >= 'A' && b <= 'Z') ? b + 32 : b;

	switch (c->pstate) {
	case PS_REQUEST_START:
		if (b == '\r' || b == '\n')
			return; /* empty lines between requests are allowed */
		if (b < 'A' || b > 'Z') {
			c->flags |= CONN_NOT_HTTP; /* TLS, HTTP/2 frames, binary protocols */
			ctr->not_http++;
			return;
		}
		c->pstate = PS_IN_LINE;
		c->line_len = 1;
		c->match = 0;
		c->cl_state = 0;
		c->cl_value = b; /* the request line's last 8 bytes, rolling */
		return;
	case PS_LINE_START:
		if (b == '\r') {
			c->pstate = PS_CR_AT_LINE_START;
			return;
		}
		c->pstate = PS_IN_LINE;
		c->match = lc == 'c' ? 1 : 0;
		if (c->cl_state == 1)
			c->cl_state = 2;
		return;
	case PS_CR_AT_LINE_START:
		if (b == '\n') {
			end_of_head(c, ctr);
			return;
		}
		c->pstate = PS_IN_LINE;
		c->match = 0;
		return;
	case PS_IN_LINE:
		break;
	default:
		return;
	}
	if (c->line_len) {
		/* The request line must end in " HTTP/1.0" or " HTTP/1.1"; anything else (a
		 * status line echoed back, the HTTP/2 preface) is not an HTTP/1.x request. */
		if (b == '\n') {
			if (c->cl_value != HTTP10_TAIL && c->cl_value != HTTP11_TAIL) {
				c->flags |= CONN_NOT_HTTP;
				ctr->not_http++;
				return;
			}
			c->line_len = 0;
			c->cl_value = 0;
			c->pstate = PS_LINE_START;
		} else if (b != '\r') {
			c->cl_value = (c->cl_value << 8) | b; /* the line's last 8 bytes */
		}
		return;
	}
	if (b == '\n') {
		c->pstate = PS_LINE_START;
		return;
	}
	if (b == '\r')
		return;
	if (c->cl_state == 1) {
		if (b >= '0' && b <= '9') {
			if (c->cl_value < (1ULL << 40))
				c->cl_value = c->cl_value * 10 + (b - '0');
		} else if (b != ' ' && b != '\t') {
			c->cl_state = 2;
		}
		return;
	}
	__u64 m = c->match;

	opaque(m);
	if (m && m < 15) {
		if (lc == (__u8)content_length[m]) {
			c->match++;
			if (c->match == 15) {
				c->cl_state = 1;
				c->cl_value = 0;
			}
		} else {
			c->match = 0;
		}
	}
}

struct parse_ctx {
	struct __sk_buff *skb;
	struct conn_state *c;
	struct request_counters *ctr;
	__u32 off;
	__u32 end;
};

#define PARSE_CHUNK 64

static long parse_step(__u32 i, void *data)
{
	struct parse_ctx *p = data;
	struct conn_state *c = p->c;
	__u8 buf[PARSE_CHUNK];
	__u32 n;

	if (p->off >= p->end || (c->flags & CONN_NOT_HTTP))
		return 1;
	if (c->pstate == PS_BODY) {
		n = p->end - p->off;
		if (c->body_left < n)
			n = c->body_left;
		c->body_left -= n;
		p->off += n;
		if (!c->body_left)
			c->pstate = PS_REQUEST_START;
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
		if (j >= n)
			break;
		feed_byte(c, buf[j], p->ctr);
		if (c->pstate == PS_BODY || (c->flags & CONN_NOT_HTTP)) {
			p->off += j + 1;
			return 0;
		}
	}
	p->off += n;
	return 0;
}

SEC("cgroup_skb/ingress")
int on_ingress(struct __sk_buff *skb)
{
	struct conn_key key = {};
	struct request_counters *ctr;
	struct parse_ctx pctx;
	struct conn_state *c;
	struct tcphdr tcp;
	__u32 off, len, seq;
	__s32 ahead;
	__u8 ver;

	if (!track_requests || bpf_skb_load_bytes(skb, 0, &ver, 1))
		return 1;
	ver >>= 4;
	if (ver == 4) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.protocol != IPPROTO_TCP_NUM)
			return 1;
		v4_to_ip(ip.daddr, key.local_ip);
		v4_to_ip(ip.saddr, key.remote_ip);
		off = ip.ihl * 4;
	} else if (ver == 6) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) || ip6.nexthdr != IPPROTO_TCP_NUM)
			return 1;
		__builtin_memcpy(key.local_ip, &ip6.daddr, 16);
		__builtin_memcpy(key.remote_ip, &ip6.saddr, 16);
		off = sizeof(ip6);
	} else {
		return 1;
	}
	if (bpf_skb_load_bytes(skb, off & 0xff, &tcp, sizeof(tcp)))
		return 1;
	off += tcp.doff * 4;
	if (skb->len <= off)
		return 1; /* no payload (ACK, FIN): nothing to look up */
	key.local_port = bpf_ntohs(tcp.dest);
	key.remote_port = bpf_ntohs(tcp.source);
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c || !(c->flags & CONN_PASSIVE) || (c->flags & (CONN_NOT_HTTP | CONN_DESYNC)))
		return 1;
	len = skb->len - off;
	seq = bpf_ntohl(tcp.seq);
	ahead = (__s32)(seq - c->next_seq);
	ctr = get_counters();
	if (!ctr)
		return 1;
	if (ahead > 0) {
		/* A gap: bytes we never saw. Parsing on would guess; stop rewriting instead. */
		c->flags |= CONN_DESYNC;
		ctr->desynced++;
		return 1;
	}
	if (ahead < 0) {
		__u32 seen = (__u32)(-ahead);

		if (seen >= len)
			return 1; /* a retransmission of bytes already parsed */
		off += seen;
		len -= seen;
	}
	c->next_seq += len;
	pctx.skb = skb;
	pctx.c = c;
	pctx.ctr = ctr;
	pctx.off = off;
	pctx.end = off + len;
	bpf_loop(1 << 16, parse_step, &pctx, 0);
	return 1;
}

/* ---- the serving thread ---- */

static __always_inline bool same_conn(const struct conn_key *a, const struct conn_key *b)
{
	/* memcmp would become a call BPF cannot make */
	return a->local_port == b->local_port && a->remote_port == b->remote_port &&
	       a->remote_ip[3] == b->remote_ip[3] && a->remote_ip[2] == b->remote_ip[2] &&
	       a->remote_ip[1] == b->remote_ip[1] && a->remote_ip[0] == b->remote_ip[0] &&
	       a->local_ip[3] == b->local_ip[3] && a->local_ip[2] == b->local_ip[2] &&
	       a->local_ip[1] == b->local_ip[1] && a->local_ip[0] == b->local_ip[0];
}

static __always_inline void bind_thread(struct sock *sk)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct conn_key key = {};
	struct thread_binding *b;
	struct conn_state *c;

	if (!track_requests || !key_from_sock(sk, &key))
		return;
	/* A keep-alive server thread reads the same connection again and again. */
	b = bpf_task_storage_get(&thread_conn, task, NULL, 0);
	if (b && b->bound && same_conn(&b->key, &key))
		return;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c || !(c->flags & CONN_PASSIVE))
		return;
	b = bpf_task_storage_get(&thread_conn, task, NULL, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!b)
		return;
	b->key = key;
	b->bound = 1;
}

SEC("fexit/tcp_recvmsg")
int BPF_PROG(recv_fexit, struct sock *sk)
{
	bind_thread(sk);
	return 0;
}

SEC("tp_btf/sock_recv_length")
int BPF_PROG(recv_tp, struct sock *sk)
{
	bind_thread(sk);
	return 0;
}

SEC("kprobe/tcp_recvmsg")
int BPF_KPROBE(recv_kprobe, struct sock *sk)
{
	bind_thread(sk);
	return 0;
}

/* ---- responses ---- */

/* The writer's running slice ends now and belongs to the response being written. */
static __always_inline void close_writer_slice(struct conn_state *c)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct slice_owner owner = { .pid = (__u32)pid_tgid, .tgid = pid_tgid >> 32,
				     .kthread = false, .in_cgroup = true,
				     .cgroup_id = bpf_get_current_cgroup_id() /* issue 15 */ };
	struct model_params *m;
	struct cpu_signals *bins;
	struct cpu_state *st;
	struct slice s = {};

	if (!get_cpu(&st, &bins) || !charge_slice(st, bins, &owner, &s, false))
		return;
	m = get_model();
	if (m)
		add_to_request(c, m, slice_score(m, &s));
}

static __always_inline bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

SEC("sk_msg")
int on_msg(struct sk_msg_md *msg)
{
	char hdr[HEADER_MAX] = HEADER_NAME;
	struct request_counters *ctr;
	struct conn_key key = {};
	struct conn_state *c;
	__u32 size = msg->size, pull, eol = 0, hlen, ndig = 0;
	char digits[20];
	char *d, *e;
	__u64 uj;

	if (!track_requests || !key_from_msg(msg, &key))
		return SK_PASS;
	c = bpf_map_lookup_elem(&conns, &key);
	if (!c || !(c->flags & CONN_PASSIVE) || (c->flags & (CONN_NOT_HTTP | CONN_DESYNC)) ||
	    c->heads == c->responses)
		return SK_PASS;
	ctr = get_counters();
	if (!ctr)
		return SK_PASS;
	pull = size < STATUS_SCAN_MAX ? size : STATUS_SCAN_MAX;
	if (pull < 13)
		return SK_PASS; /* too short to be a status line start: body bytes */
	if (bpf_msg_pull_data(msg, 0, pull, 0)) {
		ctr->skipped[SKIP_PULL_FAILED]++;
		return SK_PASS;
	}
	d = msg->data;
	e = msg->data_end;
	if (d + 13 > e)
		return SK_PASS;
	if (d[0] != 'H' || d[1] != 'T' || d[2] != 'T' || d[3] != 'P' || d[4] != '/' ||
	    d[5] != '1' || d[6] != '.' || d[8] != ' ' || !is_digit(d[9]) || !is_digit(d[10]) ||
	    !is_digit(d[11]))
		return SK_PASS; /* the rest of an earlier response's body */
	if (d[9] == '1') {
		ctr->informational++; /* 100 Continue: the final response is still to come */
		return SK_PASS;
	}
	for (__u32 i = 12; i < STATUS_SCAN_MAX - 1; i++) {
		if (d + i + 2 > e)
			break;
		if (d[i] == '\r' && d[i + 1] == '\n') {
			eol = i;
			break;
		}
	}

	close_writer_slice(c);
	uj = c->cur_uj;
	c->cur_uj = 0;
	c->cur_score = 0;
	c->responses++;
	ctr->responses++;
	ctr->energy_uj += uj;
	if (!eol) {
		ctr->skipped[SKIP_STATUS_SPLIT]++;
		return SK_PASS;
	}

	do {
		digits[ndig++ & 19] = '0' + uj % 10;
		uj /= 10;
	} while (uj && ndig < 20);
	for (__u32 i = 0; i < 20; i++) {
		if (i >= ndig)
			break;
		hdr[(HEADER_NAME_LEN + i) & 63] = digits[(ndig - 1 - i) & 19];
	}
	hlen = HEADER_NAME_LEN + ndig;
	hdr[hlen & 63] = '\r';
	hdr[(hlen + 1) & 63] = '\n';
	hlen += 2;

	if (bpf_msg_push_data(msg, eol + 2, hlen, 0)) {
		ctr->skipped[SKIP_PUSH_FAILED]++;
		return SK_PASS;
	}
	if (bpf_msg_pull_data(msg, eol + 2, eol + 2 + hlen, 0))
		goto undo;
	d = msg->data;
	e = msg->data_end;
	if (d + HEADER_MAX > e && d + hlen > e)
		goto undo;
	for (__u32 i = 0; i < HEADER_MAX; i++) {
		if (i >= hlen)
			break;
		if (d + i + 1 > e)
			goto undo;
		d[i] = hdr[i];
	}
	ctr->injected++;
	return SK_PASS;
undo:
	/* Never send the gap push_data opened: take it out again. */
	bpf_msg_pop_data(msg, eol + 2, hlen, 0);
	ctr->skipped[SKIP_PUSH_FAILED]++;
	return SK_PASS;
}
