/* The floor under a small-file copy: exactly the six calls per file rcp makes (open the
 * source, fstat it, create the copy, copy_file_range, close both), on one thread, over a
 * tree of directories of files (one level, as the compare bench's small_files makes).
 * Not part of `cargo bench`; the README's benchmark section quotes its time.
 *
 *   cc -O2 -o /tmp/floor benches/floor.c
 *   /tmp/floor SRC DST      (DST must not exist; prints user and system seconds)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

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

int main(int argc, char **argv) {
    if (argc != 3 || mkdir(argv[2], 0755) < 0) { fprintf(stderr, "usage: floor SRC NEW-DST\n"); return 2; }
    int src_root = open(argv[1], O_RDONLY | O_DIRECTORY), dst_root = open(argv[2], O_RDONLY | O_DIRECTORY);
    DIR *top = fdopendir(dup(src_root));
    for (struct dirent *d; top && (d = readdir(top));) {
        if (d->d_name[0] == '.') continue;
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
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "user %.3f s, system %.3f s\n", ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
            ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
    return 0;
}
