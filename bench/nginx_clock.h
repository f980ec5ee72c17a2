/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * What bench/nginx_clock.bpf.c and bench/nginx_clock.c share: a request class (the tail
 * of the file name nginx opened for it) and its counts. Plain types only: the BPF side
 * and user space both include it.
 */
#ifndef HTTP_ENERGY_NGINX_CLOCK_H
#define HTTP_ENERGY_NGINX_CLOCK_H

#define NGINX_CLOCK_NAME_MAX 128 /* bytes of a file name's tail kept (a power of two) */
#define NGINX_CLOCK_MAX_CLASSES 1024

struct nginx_clock_key {
	char name[NGINX_CLOCK_NAME_MAX]; /* the last len bytes of the name, zero-padded */
	unsigned int len; /* 0: no file opened */
	unsigned int full_len; /* the whole name's length */
};

struct nginx_clock_class {
	unsigned long long timed; /* windows without a wait or another window inside */
	unsigned long long ns; /* their sum, time preempted taken out */
	unsigned long long preempted; /* of the timed: preempted inside */
	unsigned long long softirq_ns; /* of which softirq work run on the thread */
	unsigned long long switched; /* the thread waited (a voluntary switch) inside */
	unsigned long long interleaved; /* another window opened inside it on the thread */
	unsigned long long moved; /* closed on another thread than it opened on */
};

#endif
