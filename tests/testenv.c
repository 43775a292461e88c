// SPDX-License-Identifier: BSD-2-Clause
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "datapath.h"
#include "testenv.h"
#include "xtap.skel.h"

int t_passed, t_failed, t_skipped;
const char *t_skip_why;

void t_record(const char *name, int rc, const char *why)
{
	if (rc == 0) {
		t_passed++;
		printf("ok      %s\n", name);
	} else if (rc == 1) {
		t_skipped++;
		if (!why)
			why = t_skip_why;
		printf("skipped %s: %s\n", name, why ? why : "(no reason given)");
	} else {
		t_failed++;
		printf("FAILED  %s\n", name);
	}
	t_skip_why = NULL;
	fflush(stdout);
}

int t_summary(void)
{
	printf("%d passed, %d failed, %d skipped\n", t_passed, t_failed, t_skipped);
	return t_failed ? 1 : 0;
}

int tenv_netns(char *why, size_t whylen)
{
	if (unshare(CLONE_NEWNET)) {
		snprintf(why, whylen, "cannot create a network namespace: %s", strerror(errno));
		return 1;
	}
	/* the namespace (and these interfaces) vanish with the process */
	if (system("ip link set lo up && "
		   "ip link add xt0 type veth peer name xt0p && "
		   "ip link add xt1 type veth peer name xt1p && "
		   "ip link add xt2 type veth peer name xt2p && "
		   "for i in xt0 xt0p xt1 xt1p xt2 xt2p; do ip link set $i up; done")) {
		snprintf(why, whylen, "cannot create veth interfaces");
		return 1;
	}
	return 0;
}

int tenv_open(struct tenv *e, uint32_t max_criteria, uint32_t max_sets)
{
	return tenv_open_vt(e, max_criteria, max_sets, NULL);
}

int tenv_open_vt(struct tenv *e, uint32_t max_criteria, uint32_t max_sets, const struct tenv_vt *vt)
{
	static const char *names[TENV_NIF] = { "xt0", "xt1", "xt2" };
	struct xtap_bpf *s;
	int err;

	memset(e, 0, sizeof(*e));
	s = xtap_bpf__open();
	if (!s)
		return -errno;
	xtap_dp_size_maps(s, max_criteria);
	xtap_dp_features(s);
	bpf_map__set_max_entries(s->maps.XTAP_MAP_SETS, max_sets);
	if (vt) {
		s->rodata->vt_ifindex = vt->ifindex;
		s->rodata->vt_peer_ifindex = vt->peer_ifindex;
		memcpy((void *)s->rodata->vt_mac, vt->mac, 6);
		memcpy((void *)s->rodata->vt_peer_mac, vt->peer_mac, 6);
		if (vt->mtu6)
			s->rodata->cd_mtu6 = vt->mtu6;
	}
	err = xtap_bpf__load(s);
	if (err) {
		xtap_bpf__destroy(s);
		return err;
	}
	e->skel = s;
	xtap_dp_skel_maps(s, &e->maps);
	e->prog_xdp = bpf_program__fd(s->progs.xtap_xdp);
	e->xdp_meta = xtap_dp_xdp_meta();
	e->vt_ifindex = vt ? vt->ifindex : 0;
	e->prog_tc_in = bpf_program__fd(s->progs.xtap_tc_ingress);
	e->prog_tc_out = bpf_program__fd(s->progs.xtap_tc_egress);
	e->prog_vt = bpf_program__fd(s->progs.xtap_vt_egress);
	e->cls = xtap_cls_new(&e->maps, max_criteria, max_sets);
	if (!e->cls) {
		xtap_bpf__destroy(s);
		return -ENOMEM;
	}
	for (int i = 0; i < TENV_NIF; i++) {
		e->ifindex[i] = if_nametoindex(names[i]);
		/* group bits: xt0 in group 1, xt1 in group 2, xt2 in both */
		if (e->ifindex[i] && xtap_cls_iface_add(e->cls, e->ifindex[i], (uint64_t)(i + 1)))
			return -EIO;
	}
	return 0;
}

int tenv_open_cds(struct tenv *e, uint32_t max_criteria, uint32_t max_sets)
{
	struct tenv_vt vt = { .ifindex = if_nametoindex("xt2") };

	if (xtap_dp_xdp_meta())
		return tenv_open(e, max_criteria, max_sets);
	return vt.ifindex ? tenv_open_vt(e, max_criteria, max_sets, &vt) : -ENODEV;
}

/* Every CD's clone counter, summed over the CPUs. */
static int cds_cloned(const struct tenv *e, uint64_t *sum)
{
	static struct xtap_cd_stats v[XTAP_MAX_CDESTS_DEFAULT * 64];
	static uint32_t keys[XTAP_MAX_CDESTS_DEFAULT];
	int ncpu = libbpf_num_possible_cpus();
	uint32_t n = XTAP_MAX_CDESTS_DEFAULT, out = 0;
	LIBBPF_OPTS(bpf_map_batch_opts, o);

	if (ncpu <= 0 || ncpu > 64)
		return -ERANGE; /* the buffer holds 64 CPUs' values */
	if (bpf_map_lookup_batch(e->maps.cd_stats, NULL, &out, keys, v, &n, &o) && errno != ENOENT)
		return -errno;
	memset(sum, 0, sizeof(*sum) * XTAP_MAX_CDESTS_DEFAULT);
	for (uint32_t i = 0; i < n; i++)
		for (int c = 0; c < ncpu; c++)
			if (keys[i] < XTAP_MAX_CDESTS_DEFAULT)
				sum[keys[i]] += v[(size_t)i * (size_t)ncpu + (size_t)c].c[XTAP_CDS_CLONED];
	return 0;
}

int tenv_ingress_cds(struct tenv *e, uint32_t ifindex, const uint8_t *pkt, uint32_t len, struct xtap_meta *m)
{
	static uint64_t before[XTAP_MAX_CDESTS_DEFAULT], after[XTAP_MAX_CDESTS_DEFAULT];
	struct run_out out;
	int err;

	memset(m, 0, sizeof(*m));
	if (e->xdp_meta) {
		if ((err = tenv_run(e, HOOK_XDP, ifindex, pkt, len, &out)))
			return err;
		if (out.meta_len != sizeof(*m))
			return -EPROTO;
		memcpy(m, out.meta, sizeof(*m));
		return m->ncd;
	}
	if (!e->vt_ifindex)
		return -ENOTSUP; /* opened without copies: nothing shows TC's verdict */
	if ((err = cds_cloned(e, before)) || (err = tenv_run(e, HOOK_TC_IN, ifindex, pkt, len, &out)) ||
	    (err = cds_cloned(e, after)))
		return err;
	m->magic = XTAP_META_MAGIC;
	m->ifindex = ifindex;
	for (uint32_t cd = 0; cd < XTAP_MAX_CDESTS_DEFAULT; cd++) {
		if (after[cd] == before[cd])
			continue;
		if (after[cd] != before[cd] + 1 || m->ncd == XTAP_PKT_MAX_CDS)
			return -EPROTO; /* one copy per CD, at most XTAP_PKT_MAX_CDS of them */
		m->cd[m->ncd++] = (uint16_t)cd;
	}
	return m->ncd;
}

void tenv_close(struct tenv *e)
{
	xtap_cls_free(e->cls);
	xtap_bpf__destroy(e->skel);
	memset(e, 0, sizeof(*e));
}

int tenv_run(struct tenv *e, enum hook h, uint32_t ifindex, const uint8_t *pkt, uint32_t len, struct run_out *out)
{
	return tenv_run_mark(e, h, ifindex, 0, pkt, len, out);
}

int tenv_run_mark(struct tenv *e, enum hook h, uint32_t ifindex, uint32_t mark, const uint8_t *pkt, uint32_t len,
		  struct run_out *out)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts);
	struct xdp_md xin = { 0 }, xout = { 0 };
	struct __sk_buff sin = { 0 }, sout = { 0 };
	uint8_t buf[sizeof(out->data) + 64];
	int fd, err;

	memset(out, 0, sizeof(*out));
	opts.data_in = pkt;
	opts.data_size_in = len;
	opts.data_out = buf;
	opts.data_size_out = sizeof(buf);
	opts.repeat = 1;
	if (h == HOOK_XDP) {
		xin.data_end = len;
		xin.ingress_ifindex = ifindex;
		opts.ctx_in = &xin;
		opts.ctx_size_in = sizeof(xin);
		opts.ctx_out = &xout;
		opts.ctx_size_out = sizeof(xout);
		fd = e->prog_xdp;
	} else {
		sin.ifindex = ifindex;
		sin.mark = mark;
		opts.ctx_in = &sin;
		opts.ctx_size_in = sizeof(sin);
		opts.ctx_out = &sout;
		opts.ctx_size_out = sizeof(sout);
		fd = h == HOOK_TC_IN ? e->prog_tc_in : h == HOOK_TC_OUT ? e->prog_tc_out : e->prog_vt;
	}
	err = bpf_prog_test_run_opts(fd, &opts);
	if (err)
		return -errno;
	out->retval = (int)opts.retval;
	out->mark = sout.mark;
	if (h == HOOK_XDP) {
		/* data out starts at the metadata; xdp_md.data is its length */
		out->meta_len = xout.data;
		if (out->meta_len > sizeof(out->meta) || opts.data_size_out < out->meta_len)
			return -EMSGSIZE;
		memcpy(out->meta, buf, out->meta_len);
		out->has_meta = out->meta_len > 0;
	}
	out->size = opts.data_size_out - out->meta_len;
	if (out->size > sizeof(out->data))
		return -EMSGSIZE;
	memcpy(out->data, buf + out->meta_len, out->size);
	return 0;
}

int tenv_clear(struct tenv *e, uint32_t max)
{
	int err = 0;

	for (uint32_t s = 0; s < max && xtap_cls_count(e->cls); s++)
		if (xtap_cls_uid(e->cls, s) && xtap_cls_del(e->cls, s))
			err = -EIO;
	return err ? err : xtap_cls_sync(e->cls);
}

int tenv_map_count(int fd, size_t key_size)
{
	uint8_t key[64], next[64];
	void *prev = NULL;
	int n = 0;

	if (key_size > sizeof(key))
		return -1;
	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		n++;
	}
	return n;
}

static int xbuckets_of(const struct tenv *e, uint32_t *n)
{
	struct bpf_map_info info = { 0 };
	uint32_t l = sizeof(info);

	if (bpf_obj_get_info_by_fd(e->maps.xbucket, &info, &l))
		return -errno;
	*n = info.max_entries;
	return 0;
}

int tenv_exact_keys(const struct tenv *e)
{
	const struct xtap_xbucket *b;
	uint32_t nb = 0;
	size_t len;
	int n = 0, err;

	if ((err = xbuckets_of(e, &nb)))
		return err;
	len = (size_t)nb * sizeof(*b);
	b = mmap(NULL, len, PROT_READ, MAP_SHARED, e->maps.xbucket, 0);
	if (b == MAP_FAILED)
		return -errno;
	for (uint32_t i = 0; i < nb; i++)
		for (int j = 0; j < XTAP_XB_PAIRS; j++)
			n += b[i].e[j] != 0;
	munmap((void *)b, len);
	return n;
}

int tenv_exact_list(const struct tenv *e, struct xtap_exact_key **keys)
{
	uint32_t nb = 0;
	int n, k = 0;

	*keys = NULL;
	if ((n = xbuckets_of(e, &nb)) || (n = tenv_exact_keys(e)) < 0)
		return n;
	if (!(*keys = calloc(n ? n : 1, sizeof(**keys))))
		return -ENOMEM;
	for (uint32_t i = 0; i < nb && k < n; i++) {
		struct xtap_xbucket b;

		if (bpf_map_lookup_elem(e->maps.xbucket, &i, &b))
			goto fail;
		for (int j = 0; j < XTAP_XB_PAIRS && k < n; j++) {
			uint32_t id = (uint32_t)b.e[j] & 0x1fffffu; /* docs/classifier.md: entry in bits 0-20 */
			struct xtap_xentry x;

			if (!b.e[j])
				continue;
			if (bpf_map_lookup_elem(e->maps.xentry, &id, &x))
				goto fail;
			(*keys)[k++] = x.key;
		}
	}
	return k;
fail:
	free(*keys);
	*keys = NULL;
	return -errno;
}

int tenv_exact_entry(const struct tenv *e, const struct xtap_exact_key *k, struct xtap_xentry *out)
{
	uint32_t h = xtap_xfilter_hash(k), nb = 0, at[2];
	int err;

	if ((err = xbuckets_of(e, &nb)))
		return err;
	at[0] = xtap_xb_first(h, nb - 1);
	at[1] = xtap_xb_second(h, nb - 1);
	for (int t = 0; t < 2; t++) {
		struct xtap_xbucket b;

		if (bpf_map_lookup_elem(e->maps.xbucket, &at[t], &b))
			return -errno;
		for (int j = 0; j < XTAP_XB_PAIRS; j++) {
			uint32_t id = (uint32_t)b.e[j] & 0x1fffffu; /* docs/classifier.md: entry in bits 0-20, */

			if (!b.e[j] || (uint32_t)(b.e[j] >> 42) != h >> 10) /* the hash's top 22 bits in 42-63 */
				continue;
			if (bpf_map_lookup_elem(e->maps.xentry, &id, out))
				return -errno;
			if (!memcmp(&out->key, k, sizeof(*k)))
				return 0;
		}
		if (!b.spill)
			break;
	}
	return -ENOENT;
}

int tenv_array_dump(int fd, uint8_t **buf, size_t *len)
{
	struct bpf_map_info info = { 0 };
	uint32_t l = sizeof(info);

	*buf = NULL;
	if (bpf_obj_get_info_by_fd(fd, &info, &l))
		return -errno;
	*len = (size_t)info.value_size * info.max_entries;
	if (!(*buf = malloc(*len ? *len : 1)))
		return -ENOMEM;
	for (uint32_t k = 0; k < info.max_entries; k++)
		if (bpf_map_lookup_elem(fd, &k, *buf + (size_t)k * info.value_size)) {
			free(*buf);
			*buf = NULL;
			return -errno;
		}
	return 0;
}

long tenv_bpfmap_rss_kb(void)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	long kb = 0, v;
	int in_map = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;

		/* a mapping's first line: "lo-hi perms offset dev inode path" */
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, ' '))
			in_map = strstr(line, "anon_inode:bpf-map") != NULL;
		else if (in_map && sscanf(line, "Rss: %ld kB", &v) == 1)
			kb += v;
	}
	fclose(f);
	return kb;
}

long tenv_prefix_words(const struct tenv *e)
{
	size_t len = (size_t)XTAP_PT_ROOT_NODES * sizeof(struct xtap_pnode);
	const uint32_t *w;
	long n = 0;

	w = mmap(NULL, len, PROT_READ, MAP_SHARED, e->maps.pnodes, 0);
	if (w == MAP_FAILED)
		return -1;
	for (size_t i = 0; i < len / sizeof(*w); i++)
		n += w[i] != 0;
	munmap((void *)w, len);
	return n;
}
