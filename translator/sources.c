#include "sources.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const struct srcset *cur_from;
static struct srcset *cur_record;

void srcset_free(struct srcset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].data);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

const struct srcfile *srcset_find(const struct srcset *s, const char *path)
{
	for (size_t i = 0; s && i < s->n; i++)
		if (!strcmp(s->v[i].path, path))
			return &s->v[i];
	return NULL;
}

void srcset_add(struct srcset *s, const char *path, const char *data, size_t len)
{
	struct srcfile f = { 0 };
	f.path = xstrdup(path);
	f.absent = data == NULL;
	if (data) {
		f.data = xmalloc(len + 1);
		memcpy(f.data, data, len);
		f.data[len] = 0;
		f.len = len;
	}
	for (size_t i = 0; i < s->n; i++) {
		if (!strcmp(s->v[i].path, path)) {
			free(s->v[i].path);
			free(s->v[i].data);
			s->v[i] = f;
			return;
		}
	}
	VEC_PUSH(s->v, s->n, f);
}

/* "lithos-sources 1\n", then per file "F <pathlen> <len>\n<path><data>" or
 * "A <pathlen>\n<path>" */
char *srcset_serialize(const struct srcset *s, size_t *len)
{
	struct buf b = { 0 };
	buf_printf(&b, "lithos-sources 1\n");
	for (size_t i = 0; i < s->n; i++) {
		const struct srcfile *f = &s->v[i];
		if (f->absent)
			buf_printf(&b, "A %zu\n", strlen(f->path));
		else
			buf_printf(&b, "F %zu %zu\n", strlen(f->path), f->len);
		buf_add(&b, f->path, strlen(f->path));
		if (!f->absent)
			buf_add(&b, f->data, f->len);
	}
	*len = b.len;
	return b.p ? b.p : xstrdup("");
}

int srcset_parse(struct srcset *s, const char *buf, size_t len)
{
	memset(s, 0, sizeof(*s));
	static const char head[] = "lithos-sources 1\n";
	if (len < sizeof(head) - 1 || memcmp(buf, head, sizeof(head) - 1))
		return -1;
	size_t off = sizeof(head) - 1;
	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		if (!nl || nl - (buf + off) > 64)
			goto bad;
		char line[80];
		memcpy(line, buf + off, (size_t)(nl - (buf + off)));
		line[nl - (buf + off)] = 0;
		off = (size_t)(nl - buf) + 1;
		size_t plen = 0, dlen = 0;
		bool absent;
		if (sscanf(line, "A %zu", &plen) == 1 && line[0] == 'A')
			absent = true;
		else if (sscanf(line, "F %zu %zu", &plen, &dlen) == 2 && line[0] == 'F')
			absent = false;
		else
			goto bad;
		if (plen == 0 || plen > len - off || dlen > len - off - plen)
			goto bad;
		char *path = xstrndup(buf + off, plen);
		off += plen;
		srcset_add(s, path, absent ? NULL : buf + off, absent ? 0 : dlen);
		free(path);
		off += absent ? 0 : dlen;
	}
	return 0;
bad:
	srcset_free(s);
	return -1;
}

int srcset_memfd(const struct srcset *s, const char *name)
{
	size_t len;
	char *data = srcset_serialize(s, &len);
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		free(data);
		return -1;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w <= 0) {
			free(data);
			close(fd);
			return -1;
		}
		off += (size_t)w;
	}
	free(data);
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	return fd;
}

int srcset_read_fd(struct srcset *s, int fd)
{
	memset(s, 0, sizeof(*s));
	struct buf b = { 0 };
	char tmp[65536];
	off_t off = 0;
	for (;;) {
		ssize_t r = pread(fd, tmp, sizeof(tmp), off);
		if (r < 0) {
			buf_free(&b);
			return -1;
		}
		if (r == 0)
			break;
		buf_add(&b, tmp, (size_t)r);
		off += r;
	}
	int rc = srcset_parse(s, b.p ? b.p : "", b.len);
	buf_free(&b);
	return rc;
}

void sources_use(const struct srcset *from, struct srcset *record)
{
	cur_from = from;
	cur_record = record;
}

const struct srcfile *sources_lookup(const char *path)
{
	if (!cur_from)
		return NULL;
	const struct srcfile *f = srcset_find(cur_from, path);
	if (f)
		return f;
	/* not part of the kept configs: as if it did not exist */
	static const struct srcfile missing = { .absent = true };
	return &missing;
}

void sources_note(const char *path, const char *data, size_t len)
{
	if (cur_record)
		srcset_add(cur_record, path, data, len);
}
