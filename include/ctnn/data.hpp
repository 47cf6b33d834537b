#pragma once
// ctnn's data pipeline (torch.utils.data and torchvision's datasets and transforms):
//   data/dataset.hpp       the Dataset concept, InMemoryDataset, Subset, select_classes, random_split,
//                          train_test_split
//   data/transforms.hpp    ToTensor, Normalize, RandomHorizontalFlip, Resize, Compose
//   data/dataloader.hpp    DataLoader: shuffled, batched, prefetched on a background thread
//   data/files.hpp         where data sets are searched for; reading plain and gzip files (zlib)
//   data/idx.hpp           the IDX format (MNIST, Fashion-MNIST)
//   data/fashion_mnist.hpp FashionMNIST
//   data/cifar10.hpp       CIFAR10 (binary version)
//   data/image_folder.hpp  ImageFolder (PNG and JPEG files in one folder per class)
//   data/image_decode.hpp  decode_image/read_image: PNG (libpng) and JPEG (libjpeg-turbo) from untrusted
//                          files, with limits (DecodeLimits); data/decode/ holds the two decoders
//   data/synthetic.hpp     make_circles, make_blobs, make_linear_regression
// Link with -lz (zlib), -lpng and -ljpeg (ImageFolder's decoders) and -pthread (DataLoader's prefetch);
// ctnn::ctnn from CMake does.
#include "data/cifar10.hpp"
#include "data/dataloader.hpp"
#include "data/dataset.hpp"
#include "data/fashion_mnist.hpp"
#include "data/files.hpp"
#include "data/idx.hpp"
#include "data/image_decode.hpp"
#include "data/image_folder.hpp"
#include "data/synthetic.hpp"
#include "data/transforms.hpp"
