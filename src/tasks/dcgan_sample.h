// dcgan_sample.h: the DCGAN's sampling, `genet sample CKPT [n=64] [seed=S] [out=grid.png]
// [interpolate=true]`: a grid of G(z) from a task = dcgan checkpoint, whose job gives G's shape
// (nz, ngf) and whose params/netG and buffers/netG its weights and BatchNorm running statistics.
// G runs in evaluation mode, so every image depends on its own z only.
#pragma once

int dcgan_sample_main(int argc, char **argv);  // argv[0] = "sample"; returns the exit status
