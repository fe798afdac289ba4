"""Data set makers and loaders: Pac-Man frame videos (ALE), image folders,
video files, Fashion-MNIST and CIFAR-10."""
