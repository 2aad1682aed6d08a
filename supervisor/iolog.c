#include "iolog.h"
#include "lxcconf.h"
#include "lxcrun.h"
#include "paths.h"
#include "util.h"
#include "validate.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

static int open_log(const char *path)
{
	const int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
	int fd = open(path, flags, 0640);
	if (fd >= 0 || errno != ENOENT)
		return fd;
	/* the log dir is made on first use */
	char *dir = path_dirname(path);
	mkdir_p(dir, 0755);
	free(dir);
	return open(path, flags, 0640);
}

/* stdout-stderr-file on a Persistent volume: open it through the volume's
 * host directory without following any symlink the container may have
 * planted there. */
static int open_in_volume(const struct instance *in, char **err)
{
	const struct container_config *cc = in->cc;
	const struct sandbox_config *s = in->sandbox;
	const char *file = cc->stdout_stderr_file;
	const struct volume *best = NULL;
	for (size_t i = 0; i < cc->n_volumes; i++) {
		const struct volume *v = &cc->volumes[i];
		size_t n = strlen(v->mountpoint);
		if (!strncmp(file, v->mountpoint, n) && file[n] == '/' &&
		    (!best || n > strlen(best->mountpoint)))
			best = v;
	}
	if (!best || best->kind != VOL_PERSISTENT) {
		*err = xasprintf("stdout-stderr-file %s is not on a !Persistent volume; lithos-lxc opens it from the host and supports only !Persistent volumes for it",
				 file);
		return -1;
	}
	const struct kv *kv = match_virtual(&s->writable_paths, best->path);
	size_t klen = kv ? strlen(kv->key) : 0;
	while (klen > 1 && kv->key[klen - 1] == '/')
		klen--;
	if (klen == 1)
		klen = 0; /* the virtual path "/" */
	if (!kv) {
		*err = xasprintf("volume %s is not a writable path of the sandbox", best->mountpoint);
		return -1;
	}
	int root = open(kv->value, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		*err = xasprintf("cannot open %s: %s", kv->value, strerror(errno));
		return -1;
	}
	char *rel = xasprintf("%s/%s", best->path + klen, file + strlen(best->mountpoint));
	const char *r = rel;
	while (*r == '/')
		r++;
	/* as if opened inside the container by its root (lithos's knot
	 * opens it there before dropping to the process's user): a new file
	 * is owned by the container's uid/gid 0, mode 0640; an existing one
	 * is appended to as it is.  No symlink is followed anywhere on the
	 * path, and nothing outside the volume is reached. */
	/* O_NONBLOCK: a fifo the container put there must not block the
	 * start (dropped again below for the regular file it must be) */
	struct open_how how = {
		.flags = O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
		.mode = 0640,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, root, r, &how, sizeof(how));
	bool failed = false;
	if (fd >= 0) {
		const struct idmap *um = cc->uid_map.set ? &cc->uid_map : &s->uid_map;
		const struct idmap *gm = cc->gid_map.set ? &cc->gid_map : &s->gid_map;
		uid_t uid = map_to_host(um, 0);
		gid_t gid = map_to_host(gm, 0);
		if ((uid || gid) && fchown(fd, uid, gid) < 0) {
			*err = xasprintf("cannot chown stdout-stderr-file %s (%s/%s) to %u:%u: %s", file,
					 kv->value, r, (unsigned)uid, (unsigned)gid, strerror(errno));
			unlinkat(root, r, 0);
			close(fd);
			fd = -1;
			failed = true;
		}
	} else if (errno == EEXIST) {
		how.flags &= ~(uint64_t)(O_CREAT | O_EXCL);
		how.mode = 0;
		fd = (int)syscall(SYS_openat2, root, r, &how, sizeof(how));
	}
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)) {
		*err = xasprintf("cannot open stdout-stderr-file %s (%s/%s): not a regular file (a fifo, device or socket in volume %s); refusing to write there",
				 file, kv->value, r, best->mountpoint);
		close(fd);
		fd = -1;
		failed = true;
	}
	if (fd < 0 && !failed) {
		if (errno == ENXIO) /* a fifo without a reader, a socket */
			*err = xasprintf("cannot open stdout-stderr-file %s (%s/%s): not a regular file (a fifo, device or socket in volume %s); refusing to write there",
					 file, kv->value, r, best->mountpoint);
		else if (errno == ELOOP || errno == EXDEV)
			*err = xasprintf("cannot open stdout-stderr-file %s (%s/%s): a symlink on its path in volume %s; refusing to follow it",
					 file, kv->value, r, best->mountpoint);
		else
			*err = xasprintf("cannot open stdout-stderr-file %s (%s/%s): %s", file, kv->value,
					 r, strerror(errno));
	}
	close(root);
	free(rel);
	return fd;
}

int open_instance_output(const struct master_config *m, const struct instance *in, char **err)
{
	if (in->cc->stdout_stderr_file)
		return open_in_volume(in, err);
	char *path = sandbox_stdio_log(m, in->sandbox);
	int fd = open_log(path);
	if (fd < 0)
		*err = xasprintf("cannot open stdio log %s: %s", path, strerror(errno));
	free(path);
	return fd;
}

void stdio_log_line(const struct master_config *m, const struct sandbox_config *s,
		    const char *fmt, ...)
{
	char *path = sandbox_stdio_log(m, s);
	int fd = open_log(path);
	free(path);
	if (fd < 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	/* UTC by hand and one write: strftime() reads the time zone
	 * (/etc/localtime) and dprintf() a FILE's worth of syscalls, at every
	 * command start and exit */
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	char *line = xasprintf("[%04d-%02d-%02dT%02d:%02d:%02dZ][lithos] %s\n", tm.tm_year + 1900,
			       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, msg);
	free(msg);
	size_t len = strlen(line);
	if (write(fd, line, len) != (ssize_t)len) {
		/* the log is full or gone: the line is lost, the caller goes on */
	}
	free(line);
	close(fd);
}
