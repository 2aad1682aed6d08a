/* The config log: writing records for started instances, reading the
 * history back (see configlog.h for the format). */
#include "configlog.h"
#include "util.h"
#include "yamltree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------- time ---------------- */

void configlog_format_time(time_t t, char out[32])
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "1970-01-01T00:00:00Z");
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* YYYY-MM-DDTHH:MM:SS[.fraction](Z|+00:00) */
int configlog_parse_time(const char *s, time_t *out)
{
	int y, mo, d, h, mi, se;
	if (strlen(s) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
	    s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &se))
		return -1;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (strcmp(p, "Z") && strcmp(p, "+00:00"))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
		return -1;
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
			 .tm_hour = h, .tm_min = mi, .tm_sec = se };
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -1;
	*out = t;
	return 0;
}

/* ---------------- writing ---------------- */

static void json_str(struct buf *b, const char *s)
{
	buf_puts(b, "\"");
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		switch (*p) {
		case '"':
			buf_puts(b, "\\\"");
			break;
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_add(b, (const char *)p, 1);
		}
	}
	buf_puts(b, "\"");
}

static void json_strlist(struct buf *b, const struct strlist *l)
{
	buf_puts(b, "[");
	for (size_t i = 0; i < l->n; i++) {
		if (i)
			buf_puts(b, ",");
		json_str(b, l->v[i]);
	}
	buf_puts(b, "]");
}

/* Everything of the record after its time. */
static void record_body(struct buf *b, const struct process_entry *e, const char *instance)
{
	buf_puts(b, "\"instance\":");
	json_str(b, instance);
	buf_puts(b, ",\"process\":");
	json_str(b, e->name);
	buf_puts(b, ",\"kind\":");
	json_str(b, proc_kind_name(e->kind));
	buf_puts(b, ",\"image\":");
	json_str(b, e->image);
	buf_puts(b, ",\"config\":");
	json_str(b, e->config);
	buf_printf(b, ",\"instances\":%u", e->instances);
	buf_puts(b, ",\"variables\":{");
	for (size_t i = 0; i < e->variables.n; i++) {
		if (i)
			buf_puts(b, ",");
		json_str(b, e->variables.v[i].key);
		buf_puts(b, ":");
		json_str(b, e->variables.v[i].value);
	}
	buf_puts(b, "},\"ip-addresses\":");
	json_strlist(b, &e->ip_addresses);
	buf_puts(b, ",\"extra-secrets-namespaces\":");
	json_strlist(b, &e->extra_secrets_namespaces);
	buf_puts(b, "}\n");
}

static void rotate(const char *path)
{
	char *last = xasprintf("%s.%d", path, CONFIGLOG_KEEP);
	unlink(last);
	free(last);
	for (int i = CONFIGLOG_KEEP - 1; i >= 1; i--) {
		char *from = xasprintf("%s.%d", path, i);
		char *to = xasprintf("%s.%d", path, i + 1);
		rename(from, to);
		free(from);
		free(to);
	}
	char *first = xasprintf("%s.1", path);
	rename(path, first);
	free(first);
}

/* The last record written per instance, to skip repeats. */
struct last_record {
	char *key;
	uint64_t hash;
	time_t time;
};
static struct last_record *last_records;
static size_t n_last_records;

static uint64_t fnv1a(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

static struct last_record *last_record_find(const char *key)
{
	for (size_t i = 0; i < n_last_records; i++)
		if (!strcmp(last_records[i].key, key))
			return &last_records[i];
	return NULL;
}

int configlog_record_at(const struct master_config *m, const struct sandbox_config *s,
			const struct process_entry *e, const char *instance_name, time_t now,
			char **err)
{
	if (!m->config_log_dir)
		return 0;
	if (!s->name || !s->name[0] || strchr(s->name, '/') || s->name[0] == '.') {
		*err = xasprintf("config log: sandbox name \"%s\" cannot name a log file",
				 s->name ? s->name : "");
		return -1;
	}
	struct buf body = { 0 };
	record_body(&body, e, instance_name);
	uint64_t hash = fnv1a(body.p, body.len);
	char *key = xasprintf("%s\x1f%s", s->name, instance_name ? instance_name : "");
	struct last_record *last = last_record_find(key);
	if (last && last->hash == hash && now >= last->time &&
	    now - last->time < CONFIGLOG_REPEAT_SECONDS) {
		free(key);
		buf_free(&body);
		return 0;
	}

	char ts[32];
	configlog_format_time(now, ts);
	struct buf line = { 0 };
	buf_printf(&line, "{\"time\":\"%s\",", ts);
	buf_add(&line, body.p, body.len);
	buf_free(&body);

	char *path = xasprintf("%s/%s.log", m->config_log_dir, s->name);
	int rc = -1;
	struct stat st;
	if (mkdir_p(m->config_log_dir, 0755) < 0) {
		*err = xasprintf("config log: cannot create %s: %s", m->config_log_dir,
				 strerror(errno));
		goto out;
	}
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t)st.st_size + line.len > CONFIGLOG_MAX_SIZE)
		rotate(path);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0) {
		*err = xasprintf("config log: cannot open %s: %s", path, strerror(errno));
		goto out;
	}
	ssize_t w = write(fd, line.p, line.len);
	int saved = errno;
	if (close(fd) < 0 && w >= 0) {
		saved = errno;
		w = -1;
	}
	if (w < 0 || (size_t)w != line.len) {
		*err = xasprintf("config log: cannot write %s: %s", path,
				 w < 0 ? strerror(saved) : "short write");
		goto out;
	}
	if (last) {
		last->hash = hash;
		last->time = now;
	} else {
		struct last_record r = { .key = move_ptr(key), .hash = hash, .time = now };
		VEC_PUSH(last_records, n_last_records, r);
	}
	rc = 0;
out:
	free(key);
	free(path);
	buf_free(&line);
	return rc;
}

int configlog_record(const struct master_config *m, const struct sandbox_config *s,
		     const struct process_entry *e, const char *instance_name, char **err)
{
	return configlog_record_at(m, s, e, instance_name, time(NULL), err);
}

/* ---------------- reading ---------------- */

#define LINE_MAX_LEN (1u << 20)

static const struct ynode *map_get(const struct ynode *map, const char *key)
{
	if (!map || map->kind != YN_MAP)
		return NULL;
	for (size_t i = 0; i < map->n_pairs; i++)
		if (map->pairs[i].key->kind == YN_SCALAR && !strcmp(map->pairs[i].key->value, key))
			return map->pairs[i].value;
	return NULL;
}

static const char *map_str(const struct ynode *map, const char *key)
{
	const struct ynode *v = map_get(map, key);
	return v && v->kind == YN_SCALAR && !v->plain ? v->value : NULL;
}

/* "sandbox/proc.3" -> "proc" */
static char *process_of_instance(const char *instance)
{
	const char *s = strrchr(instance, '/');
	s = s ? s + 1 : instance;
	size_t n = strlen(s);
	size_t k = n;
	while (k > 0 && s[k - 1] >= '0' && s[k - 1] <= '9')
		k--;
	if (k < n && k > 1 && s[k - 1] == '.')
		n = k - 1;
	return xstrndup(s, n);
}

static void push_entry(struct configlog_history *h, time_t t, const char *instance,
		       const char *process, const char *image)
{
	struct configlog_entry e = {
		.time = t,
		.instance = instance ? xstrdup(instance) : NULL,
		.process = process ? xstrdup(process) : process_of_instance(instance),
		.image = xstrdup(image),
		.seq = h->n,
	};
	VEC_PUSH(h->v, h->n, e);
}

/* One line; NULL or why it is broken. */
static const char *parse_line(struct configlog_history *h, const char *line, size_t len)
{
	struct diags d = { 0 };
	struct ydoc doc;
	const char *why = NULL;
	if (line[0] == '{') {
		/* ours: {"time":..., "instance":..., "image":...} */
		if (ydoc_load_buffer(&doc, "line", line, len, &d) < 0) {
			why = "not JSON";
			ydoc_free(&doc);
			goto out_diags;
		}
		const char *ts = map_str(doc.root, "time");
		const char *image = map_str(doc.root, "image");
		const char *instance = map_str(doc.root, "instance");
		const char *process = map_str(doc.root, "process");
		time_t t;
		if (!ts || configlog_parse_time(ts, &t) < 0)
			why = "no valid \"time\"";
		else if (!image)
			why = "no \"image\"";
		else if (!instance && !process)
			why = "no \"instance\"";
		else
			push_entry(h, t, instance, process, image);
		ydoc_free(&doc);
		goto out_diags;
	}
	/* lithos's: TIME {"name": {"image": ...}, ...} */
	const char *sp = memchr(line, ' ', len);
	if (!sp) {
		why = "neither a JSON record nor TIME JSON";
		return why;
	}
	char *ts = xstrndup(line, (size_t)(sp - line));
	time_t t;
	int bad = configlog_parse_time(ts, &t);
	free(ts);
	if (bad < 0)
		return "no valid time";
	if (ydoc_load_buffer(&doc, "line", sp + 1, len - (size_t)(sp + 1 - line), &d) < 0) {
		why = "not JSON after the time";
		ydoc_free(&doc);
		goto out_diags;
	}
	if (!doc.root || doc.root->kind != YN_MAP) {
		why = "not a mapping of processes after the time";
	} else {
		for (size_t i = 0; i < doc.root->n_pairs && !why; i++) {
			const char *image = map_str(doc.root->pairs[i].value, "image");
			if (doc.root->pairs[i].key->kind != YN_SCALAR || !image)
				why = "a process without \"image\"";
		}
		for (size_t i = 0; i < doc.root->n_pairs && !why; i++)
			push_entry(h, t, NULL, doc.root->pairs[i].key->value,
				   map_str(doc.root->pairs[i].value, "image"));
	}
	ydoc_free(&doc);
out_diags:
	diags_free(&d);
	return why;
}

static int read_one(struct configlog_history *h, const char *path, char **err)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		*err = xasprintf("cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		*err = xasprintf("%s is not a regular file", path);
		close(fd);
		return -1;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		*err = xasprintf("cannot read %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	h->files++;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	size_t lineno = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		size_t len = (size_t)n;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
			       line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = 0;
		size_t lead = strspn(line, " \t");
		if (lead == len)
			continue;
		const char *why = len > LINE_MAX_LEN ? "too long"
						     : parse_line(h, line + lead, len - lead);
		if (why) {
			if (!h->broken)
				h->first_broken = xasprintf("%s:%zu: %s", path, lineno, why);
			h->broken++;
		}
	}
	int rc = 0;
	if (ferror(f)) {
		*err = xasprintf("cannot read %s: %s", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	return rc;
}

static int long_desc(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

int configlog_read(const char *dir, const char *sandbox, struct configlog_history *h,
		   char **err)
{
	memset(h, 0, sizeof(*h));
	/* rotations SANDBOX.log.N, oldest (highest N) first */
	long *nums = NULL;
	size_t n_nums = 0;
	DIR *dh = opendir(dir);
	if (!dh) {
		if (errno == ENOENT)
			return 0;
		*err = xasprintf("cannot read directory %s: %s", dir, strerror(errno));
		return -1;
	}
	char *prefix = xasprintf("%s.log.", sandbox);
	size_t plen = strlen(prefix);
	struct dirent *de;
	while ((de = readdir(dh))) {
		if (strncmp(de->d_name, prefix, plen))
			continue;
		const char *num = de->d_name + plen;
		if (!*num || strspn(num, "0123456789") != strlen(num) || strlen(num) > 9)
			continue;
		long v = strtol(num, NULL, 10);
		VEC_PUSH(nums, n_nums, v);
	}
	closedir(dh);
	free(prefix);
	if (n_nums)
		qsort(nums, n_nums, sizeof(*nums), long_desc);
	int rc = 0;
	for (size_t i = 0; i < n_nums && rc == 0; i++) {
		char *p = xasprintf("%s/%s.log.%ld", dir, sandbox, nums[i]);
		rc = read_one(h, p, err);
		free(p);
	}
	free(nums);
	if (rc == 0) {
		char *p = xasprintf("%s/%s.log", dir, sandbox);
		rc = read_one(h, p, err);
		free(p);
	}
	return rc;
}

void configlog_history_free(struct configlog_history *h)
{
	for (size_t i = 0; i < h->n; i++) {
		free(h->v[i].instance);
		free(h->v[i].process);
		free(h->v[i].image);
	}
	free(h->v);
	free(h->first_broken);
	memset(h, 0, sizeof(*h));
}
