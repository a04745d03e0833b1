#!/usr/bin/python3
"""Converts torchvision's VGG16 ImageNet weights (vgg16-397923af.pth, a state_dict) into the
HDF5 file fast neural style (task = fast_style) reads: params/features.<i>.weight/.bias of the
13 convolutions of vgg16().features, checked against torchvision's configuration "D"; the same
layout, attributes and checks as scripts/vgg19_to_h5.py, whose code this runs.

Usage: /usr/bin/python3 scripts/vgg16_to_h5.py vgg16-397923af.pth OUT.h5   (needs torch, h5py)
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vgg19_to_h5  # noqa: E402

if __name__ == "__main__":
    vgg19_to_h5.main("vgg16")
