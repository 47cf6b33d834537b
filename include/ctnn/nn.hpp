#pragma once
// Layers, composition and losses.
#include "nn/activation.hpp"
#include "nn/anomaly.hpp"
#include "nn/block.hpp"
#include "nn/conv.hpp"
#include "nn/dropout.hpp"
#include "nn/flatten.hpp"
#include "nn/linear.hpp"
#include "nn/loss.hpp"
#include "nn/pooling.hpp"
#include "nn/sequential.hpp"
