/* replay.c - runs a fuzz target's LLVMFuzzerTestOneInput over files, without
 * libFuzzer: `make test` replays the seed corpus and every regression input
 * (tests/fuzz/regress/<target>/) with gcc, under ASan/UBSan with SANITIZE=1.
 * Every path named must give at least one input: a missing or empty corpus
 * directory exits with status 2 instead of passing over nothing. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 16, n = 0, got;
    uint8_t *buf = malloc(cap);
    while ((got = fread(buf + n, 1, cap - n, f)) > 0)
        if ((n += got) == cap)
            buf = realloc(buf, cap *= 2);
    int bad = ferror(f);
    fclose(f);
    if (!bad)
        LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return bad ? -1 : 0;
}

/* Replays PATH (a file, or each file of a directory); returns how many
 * inputs, or -1 when one cannot be read. */
static int replay_path(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        if (replay_file(path) == 0)
            return 1;
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    int files = 0;
    struct dirent *e;
    char file[4096];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(file, sizeof file, "%s/%s", path, e->d_name);
        if (replay_file(file) < 0) {
            fprintf(stderr, "replay: cannot read %s\n", file);
            files = -1;
            break;
        }
        files++;
    }
    closedir(d);
    return files;
}

/* Exit status 2, without running the rest, when a path cannot be read or
 * holds no inputs: a replay over nothing would pass without testing. */
int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    int files = 0;
    for (int i = 1; i < argc; i++) {
        int n = replay_path(argv[i]);
        if (n == 0)
            fprintf(stderr, "replay: %s holds no inputs\n", argv[i]);
        if (n <= 0)
            return 2;
        files += n;
    }
    printf("replayed %d inputs\n", files);
    return 0;
}
