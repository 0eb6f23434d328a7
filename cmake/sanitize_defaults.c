/* sanitize_defaults.c: linked into every executable of a ZOO_SANITIZE build only. The
 * sanitizer runtimes call these hooks at start-up, so the defaults hold however a
 * binary is started (ctest, mpirun, a SLURM job) without exporting ASAN_/LSAN_OPTIONS.
 * The names are the runtimes', not ours. */
const char *__lsan_default_options(void);
const char *__lsan_default_suppressions(void);

/* Open MPI's libraries and components never free some of what MPI_Init allocates. Their
 * frames are built without frame pointers, so only the slow unwinder reaches the
 * library frame that the suppressions below match. zoo allocates outside its training
 * steps only, so the cost is small. */
const char *__lsan_default_options(void)
{
    return "fast_unwind_on_malloc=0:print_suppressions=0";
}

/* Leaks whose stack passes through Open MPI (and the libraries it loads) are its own.
 * HDF5 1.10 drops its write buffer and the data blocks of its free lists when it tears
 * down a file whose final flush failed (a full disk), which the disk-full tests provoke
 * on purpose: H5F__dest's and H5FL_blk_malloc's leaks. zoo never holds those blocks. */
const char *__lsan_default_suppressions(void)
{
    return "leak:libmpi.so\n"
           "leak:libopen-pal.so\n"
           "leak:libopen-rte.so\n"
           "leak:libpmix.so\n"
           "leak:libhwloc.so\n"
           "leak:libevent\n"
           "leak:H5F__dest\n"
           "leak:H5FL_blk_malloc\n";
}
