// buildinfo.c: versions of genet and of every library built in; the machine as genet sees it.
#include "cmd/buildinfo.h"

#include <hdf5.h>
#include <mpi.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <png.h>
#include <string.h>
#include <unistd.h>
#ifdef GENET_HAVE_CUDA
#include "kernels/cuda_ctx.h"
#endif

void buildinfo_print_version(FILE *f) {
  fprintf(f, "genet %s (commit %s)\n", GENET_VERSION, GENET_GIT_COMMIT);
  const dnnl_version_t *dv = dnnl_version();
  fprintf(f, "  oneDNN  %d.%d.%d (CPU engine, %s runtime)\n", dv->major, dv->minor, dv->patch,
          dv->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other");
  unsigned maj, min, rel;
  H5get_libversion(&maj, &min, &rel);
  fprintf(f, "  HDF5    %u.%u.%u\n", maj, min, rel);
  char mpiv[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(mpiv, &len);
  char *nl = strchr(mpiv, '\n');
  if (nl) *nl = 0;
  int mv, msv;
  MPI_Get_version(&mv, &msv);
  fprintf(f, "  MPI     %d.%d: %s\n", mv, msv, mpiv);
  fprintf(f, "  OpenMP  %d\n", _OPENMP);
  fprintf(f, "  libpng  %s\n", png_get_libpng_ver(NULL));
#ifdef GENET_HAVE_CUDA
  char buf[512];
  cuda_versions(buf, sizeof buf);
  fprintf(f, "  CUDA    built in: %s\n", buf);
#else
  fprintf(f, "  CUDA    not built (no nvcc at configure time, or -DGENET_CUDA=OFF): no cuBLAS, cuDNN, NCCL\n");
#endif
}

void buildinfo_print_info(FILE *f) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  fprintf(f, "CPU: %ld cores online, OpenMP uses %d threads (OMP_NUM_THREADS)\n", cores,
          omp_get_max_threads());
#ifdef GENET_HAVE_CUDA
  char why[128] = "";
  int n = cuda_device_count(why, sizeof why);
  if (n == 0) {
    fprintf(f, "GPU: no CUDA device (%s)\n", why);
  } else {
    char buf[2048];
    cuda_describe_devices(buf, sizeof buf);
    fprintf(f, "GPU: %d CUDA device%s\n%s", n, n == 1 ? "" : "s", buf);
    cuda_versions(buf, sizeof buf);
    fprintf(f, "  %s\n", buf);
  }
#else
  fprintf(f, "GPU: no CUDA device (genet built without CUDA)\n");
#endif
}
