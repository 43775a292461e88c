/* SPDX-License-Identifier: BSD-2-Clause */
/* Checksum helpers for the copies' outer headers (as katran's
 * csum_helpers.h): folding, the IPv4 header checksum, and the ones'
 * complement sum of a copy's bytes for the UDP checksum over IPv6. */
#ifndef XTAP_BPF_CSUM_H
#define XTAP_BPF_CSUM_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

/* Fold a 64-bit sum of 32-bit partial sums into the 16-bit checksum. */
static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* The checksum of a 20-byte IPv4 header (no options) whose check is 0. */
static __always_inline __u16 csum_ipv4_hdr(const struct iphdr *ip)
{
	const __u32 *w = (const void *)ip;
	__u64 sum = 0;

	for (int i = 0; i < 5; i++)
		sum += (w[i] & 0xffff) + (w[i] >> 16);
	return csum_fold(sum);
}

/* Ones' complement partial sum of len bytes of the copy from off, for the
 * UDP checksum over IPv6. Read in chunks through bpf_skb_load_bytes: no
 * packet pointers (the copy may be non-linear), one small loop body for the
 * verifier (a global function: verified once), and a zero-padded last chunk
 * (zeros add nothing to the sum). 0 with the sum in *sum, or -1 when a byte
 * could not be read or len is past the bound: the caller drops the copy
 * rather than send it with a wrong checksum. */
#define CSUM_CHUNK 128
#define CSUM_MAX_CHUNKS 128 /* 16 KiB: more than any MTU a copy can have */
#define CSUM_SKB_MAX (CSUM_CHUNK * CSUM_MAX_CHUNKS)
__noinline int xtap_csum_skb(struct __sk_buff *skb, __u32 off, __u32 len, __u32 *sum)
{
	__u8 buf[CSUM_CHUNK];
	__u32 s = 0;

	if (!skb || !sum || len > CSUM_SKB_MAX)
		return -1;
	for (int i = 0; i < CSUM_MAX_CHUNKS; i++) {
		__u32 n = len - (__u32)i * CSUM_CHUNK;

		if ((__u32)i * CSUM_CHUNK >= len)
			break;
		if (n >= CSUM_CHUNK) {
			if (bpf_skb_load_bytes(skb, off + i * CSUM_CHUNK, buf, CSUM_CHUNK))
				return -1;
		} else {
			__builtin_memset(buf, 0, sizeof(buf));
			n &= CSUM_CHUNK - 1;
			barrier_var(n); /* check and use the same register (verifier) */
			if (n == 0)
				return -1; /* cannot happen: 0 < n < CSUM_CHUNK here */
			if (bpf_skb_load_bytes(skb, off + i * CSUM_CHUNK, buf, n))
				return -1;
		}
		s = bpf_csum_diff(NULL, 0, (__be32 *)buf, CSUM_CHUNK, s);
	}
	*sum = s;
	return 0;
}

#endif
