/* The floor under a small-file copy: exactly the six calls per file rcp makes (open the
 * source, fstat it, create the copy, copy_file_range, close both), over a tree of
 * directories of files (one level, as the compare bench's small_files makes).
 * Not part of `cargo bench`; the README's benchmark section quotes its time.
 *
 *   cc -O2 -pthread -o /tmp/floor benches/floor.c
 *   /tmp/floor SRC DST      (DST must not exist; prints user and system seconds)
 *
 * What a threaded process costs (the README's issue 31, session 4):
 *   FLOOR_IDLE=N     N more threads that only wait: the copy's calls on fds then take a
 *                    reference on each file (the fd table is shared), as in any process
 *                    with more than one thread
 *   FLOOR_WORKERS=N  N threads copy, the top directories dealt out in turn
 *   FLOOR_PRIVATE=1  each worker gets a private fd table first (unshare(CLONE_FILES), as
 *                    cpz does) and opens its directories itself
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *src_path, *dst_path;
static int workers = 1, private_table;

static void copy(int src_dir, int dst_dir, const char *name) {
    int src = openat(src_dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (src < 0 || fstat(src, &st) < 0) { perror(name); return; }
    int dst = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                     st.st_mode & 0777);
    if (dst < 0) { perror(name); close(src); return; }
    for (off_t left = st.st_size; left > 0;) {
        ssize_t n = copy_file_range(src, NULL, dst, NULL, left, 0);
        if (n <= 0) { perror(name); break; }
        left -= n;
    }
    close(src);
    close(dst);
}

/* Copies the top directories whose place in SRC's listing is `first`, then every
 * `workers`-th after it. */
static void *copy_share(void *arg) {
    long first = (long)arg;
    if (private_table && unshare(CLONE_FILES) < 0) perror("unshare");
    int src_root = open(src_path, O_RDONLY | O_DIRECTORY), dst_root = open(dst_path, O_RDONLY | O_DIRECTORY);
    DIR *top = fdopendir(dup(src_root));
    long at = 0;
    for (struct dirent *d; top && (d = readdir(top));) {
        if (d->d_name[0] == '.' || at++ % workers != first) continue;
        mkdirat(dst_root, d->d_name, 0755);
        int src_dir = openat(src_root, d->d_name, O_RDONLY | O_DIRECTORY);
        int dst_dir = openat(dst_root, d->d_name, O_RDONLY | O_DIRECTORY);
        DIR *sub = fdopendir(dup(src_dir));
        for (struct dirent *f; sub && (f = readdir(sub));)
            if (f->d_name[0] != '.') copy(src_dir, dst_dir, f->d_name);
        if (sub) closedir(sub);
        close(src_dir);
        close(dst_dir);
    }
    if (top) closedir(top);
    close(src_root);
    close(dst_root);
    return NULL;
}

static void *wait_forever(void *unused) {
    (void)unused;
    while (pause() < 0) {
    }
    return NULL;
}

static int env_number(const char *name, int otherwise) {
    const char *value = getenv(name);
    return value ? atoi(value) : otherwise;
}

int main(int argc, char **argv) {
    if (argc != 3 || mkdir(argv[2], 0755) < 0) { fprintf(stderr, "usage: floor SRC NEW-DST\n"); return 2; }
    src_path = argv[1];
    dst_path = argv[2];
    workers = env_number("FLOOR_WORKERS", 1) > 0 ? env_number("FLOOR_WORKERS", 1) : 1;
    private_table = env_number("FLOOR_PRIVATE", 0);
    for (int i = env_number("FLOOR_IDLE", 0); i > 0; i--) {
        pthread_t idle;
        pthread_create(&idle, NULL, wait_forever, NULL);
    }
    if (workers == 1 && !private_table) {
        copy_share((void *)0);
    } else {
        pthread_t threads[64];
        int started = workers < 64 ? workers : 64;
        workers = started;
        for (long i = 0; i < started; i++) pthread_create(&threads[i], NULL, copy_share, (void *)i);
        for (int i = 0; i < started; i++) pthread_join(threads[i], NULL);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "user %.3f s, system %.3f s\n", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
            ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    return 0;
}
